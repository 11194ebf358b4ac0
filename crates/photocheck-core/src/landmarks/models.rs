//! The face models (ONNX, converted once from their registry packages; models/README.md), embedded
//! in the binary. This module owns the runtimes (tract, rten and photocheck's own `convnet`): each
//! model runs on the one that ran it fastest here (`Which::runtime`; `cargo bench -p benches --bench
//! check -- runtimes` measures every model on each, side by side), and the rest of the engine never
//! sees which. Today the convnet runtime runs the four convolutional networks and rten the blendshape
//! model; tract reads the ONNX files for convnet and stays a runtime the tests and the bench compare.
//!
//! Each model is parsed and optimised once per process and shared by every thread. tract's run
//! states (the scratch buffers) are pooled, not kept per thread: a pool holds at most as many as ran
//! at once, and a thread-local state cannot be dropped at thread exit (tract's own thread-locals are
//! already gone by then). rten keeps no state between runs.

use std::sync::{Arc, Mutex, OnceLock};

use tract_onnx::prelude::*;

static MESH_ONNX: &[u8] = include_bytes!("../../../../models/face_landmark.onnx");
static EYE_ONNX: &[u8] = include_bytes!("../../../../models/iris_landmark.onnx");
static BLENDSHAPES_ONNX: &[u8] = include_bytes!("../../../../models/face_blendshapes.onnx");
static HEAD_POSE_ONNX: &[u8] = include_bytes!("../../../../models/head_pose.onnx");
static EMOTION_ONNX: &[u8] = include_bytes!("../../../../models/emotion.onnx");

/// Input side of the face mesh, px.
pub const MESH_SIDE: usize = 192;
/// Input side of the eye model, px.
pub const EYE_SIDE: usize = 64;
/// Face mesh points.
pub const MESH_POINTS: usize = 468;
/// Eye model: eyelid and brow contour points, and iris points (centre first).
pub const EYE_CONTOUR_POINTS: usize = 71;
pub const IRIS_POINTS: usize = 5;
/// The blendshape model's input points (`BLENDSHAPE_POINTS`) and output scores.
pub const BLENDSHAPE_INPUTS: usize = 146;
pub const BLENDSHAPES: usize = 52;
/// Input side of 3DDFA_V2's head-pose network (BGR, channels first) and its 62 outputs.
pub const HEAD_POSE_SIDE: usize = 120;
const HEAD_POSE_PARAMS: usize = 62;
/// Input side of the emotion classifier (grey) and its classes, in output order.
pub const EMOTION_SIDE: usize = 64;
pub const EMOTIONS: [&str; 7] = [
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
];

type Plan = TypedSimplePlan;
type State = TypedSimpleState;

#[derive(Debug, thiserror::Error)]
#[error("{model} model: {message}")]
pub struct ModelError {
    model: &'static str,
    message: String,
}

/// The pure-Rust runtimes the engine can run a model on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Tract,
    Rten,
    /// photocheck's own kernels for the convolutional networks (`convnet.rs`).
    Convnet,
}

impl Runtime {
    pub const ALL: [Runtime; 3] = [Runtime::Tract, Runtime::Rten, Runtime::Convnet];

    /// Whether this runtime can run the model: the convnet runtime knows the operators of the
    /// convolutional networks, not the blendshape model's (an MLP-Mixer).
    pub fn runs(self, which: Which) -> bool {
        self != Runtime::Convnet || which != Which::Blendshapes
    }
}

/// The embedded models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Mesh,
    Eye,
    Blendshapes,
    HeadPose,
    Emotion,
}

impl Which {
    const COUNT: usize = 5;
    pub const ALL: [Which; Which::COUNT] = [
        Which::Mesh,
        Which::Eye,
        Which::Blendshapes,
        Which::HeadPose,
        Which::Emotion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Which::Mesh => "face mesh",
            Which::Eye => "eye",
            Which::Blendshapes => "blendshape",
            Which::HeadPose => "head pose",
            Which::Emotion => "emotion",
        }
    }

    /// The runtime each model runs on: the fastest in the `runtimes` bench (one thread, median ms,
    /// tract / rten / convnet, 2026-12-08): mesh 4.71 / 4.87 / 2.66, eye 4.64 / 3.18 / 1.86,
    /// blendshapes 1.00 / 0.86 / -, 3DDFA 2.18 / 2.84 / 1.61, emotion 2.11 / 2.57 / 2.05.
    pub fn runtime(self) -> Runtime {
        match self {
            Which::Blendshapes => Runtime::Rten,
            Which::Mesh | Which::Eye | Which::HeadPose | Which::Emotion => Runtime::Convnet,
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Which::Mesh => MESH_ONNX,
            Which::Eye => EYE_ONNX,
            Which::Blendshapes => BLENDSHAPES_ONNX,
            Which::HeadPose => HEAD_POSE_ONNX,
            Which::Emotion => EMOTION_ONNX,
        }
    }

    /// The input's shape (NHWC in [0, 1] for the images unless the model's function says otherwise).
    pub fn shape(self) -> Vec<usize> {
        match self {
            Which::Mesh => vec![1, MESH_SIDE, MESH_SIDE, 3],
            Which::Eye => vec![1, EYE_SIDE, EYE_SIDE, 3],
            Which::Blendshapes => vec![1, BLENDSHAPE_INPUTS, 2],
            Which::HeadPose => vec![1, 3, HEAD_POSE_SIDE, HEAD_POSE_SIDE],
            Which::Emotion => vec![1, EMOTION_SIDE, EMOTION_SIDE, 1],
        }
    }

    fn error(self, message: impl std::fmt::Display) -> ModelError {
        ModelError {
            model: self.name(),
            message: message.to_string(),
        }
    }
}

fn tract_plan(which: Which) -> &'static Arc<Plan> {
    static PLANS: [OnceLock<Arc<Plan>>; Which::COUNT] = [const { OnceLock::new() }; Which::COUNT];
    PLANS[which as usize].get_or_init(|| {
        let load = || -> TractResult<Arc<Plan>> {
            onnx()
                .model_for_read(&mut std::io::Cursor::new(which.bytes()))?
                .with_input_fact(0, f32::fact(which.shape()).into())?
                .into_optimized()?
                .into_runnable()
        };
        load().expect("the embedded models load in tract (tested)")
    })
}

fn rten_model(which: Which) -> &'static rten::Model {
    static MODELS: [OnceLock<rten::Model>; Which::COUNT] =
        [const { OnceLock::new() }; Which::COUNT];
    MODELS[which as usize].get_or_init(|| {
        rten::Model::load_static_slice(which.bytes())
            .expect("the embedded models load in rten (tested)")
    })
}

fn convnet(which: Which) -> Result<&'static super::convnet::Net, ModelError> {
    static NETS: [OnceLock<Result<super::convnet::Net, String>>; Which::COUNT] =
        [const { OnceLock::new() }; Which::COUNT];
    NETS[which as usize]
        .get_or_init(|| super::convnet::Net::from_onnx(which.bytes()))
        .as_ref()
        .map_err(|e| which.error(e))
}

fn run_convnet(which: Which, input: &[f32]) -> Result<Vec<Vec<f32>>, ModelError> {
    convnet(which)?
        .run(&which.shape(), input)
        .map_err(|e| which.error(e))
}

static POOLS: [Mutex<Vec<State>>; Which::COUNT] = [const { Mutex::new(Vec::new()) }; Which::COUNT];

fn run_tract(which: Which, input: &[f32]) -> Result<Vec<Vec<f32>>, ModelError> {
    let err = |e: TractError| which.error(format!("{e:#}"));
    let tensor = Tensor::from_shape(&which.shape(), input).map_err(err)?;
    let pool = &POOLS[which as usize];
    // A poisoned pool only means another thread panicked while holding the lock; the states in it
    // are whole (they are pushed and popped, never mutated under the lock).
    let pooled = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let mut state = match pooled {
        Some(state) => state,
        None => tract_plan(which).spawn().map_err(err)?,
    };
    let outputs = state.run(tvec!(tensor.into())).map_err(err)?;
    let flat = outputs
        .iter()
        .map(|o| {
            o.to_plain_array_view::<f32>()
                .map(|view| view.iter().copied().collect())
                .map_err(err)
        })
        .collect();
    pool.lock().unwrap_or_else(|p| p.into_inner()).push(state);
    flat
}

fn run_rten(which: Which, input: &[f32]) -> Result<Vec<Vec<f32>>, ModelError> {
    // rten runs on a rayon pool of its own. A worker of another rayon pool (tune's, batch's) that
    // waits for it runs its own pool's other jobs meanwhile (rayon's work stealing): more checks
    // nested on one stack, and a deadlock when one of them waits for the model this thread is still
    // loading (seen: tune hung on its first photos). A plain thread waits without stealing.
    if rayon::current_thread_index().is_some() {
        return std::thread::scope(|s| {
            s.spawn(|| run_rten_here(which, input, None))
                .join()
                .unwrap_or_else(|_| Err(which.error("the model run panicked")))
        });
    }
    thread_local! {
        // A one-thread rten pool per calling thread: concurrent checks (the worker's, batch's)
        // each get their own instead of splitting every model run across one shared pool
        // (batch, 400 archive photos, 2 cores: 51 -> see README, Speed).
        static POOL: Arc<rten::ThreadPool> = Arc::new(rten::ThreadPool::with_num_threads(1));
    }
    run_rten_here(which, input, Some(POOL.with(Arc::clone)))
}

/// `pool`: the rten pool to run on; rten's global one (a thread per core) when `None`.
fn run_rten_here(
    which: Which,
    input: &[f32],
    pool: Option<Arc<rten::ThreadPool>>,
) -> Result<Vec<Vec<f32>>, ModelError> {
    let shape = which.shape();
    if input.len() != shape.iter().product::<usize>() {
        return Err(which.error(format!(
            "input of {} values for shape {shape:?}",
            input.len()
        )));
    }
    let model = rten_model(which);
    let &input_id = model
        .input_ids()
        .first()
        .ok_or_else(|| which.error("no input"))?;
    let tensor = rten_tensor::Tensor::from_data(&shape, input.to_vec());
    let mut options = rten::RunOptions::default();
    options.thread_pool = pool;
    let outputs = model
        .run(
            vec![(input_id, tensor.into())],
            model.output_ids(),
            Some(options),
        )
        .map_err(|e| which.error(e))?;
    outputs
        .into_iter()
        .map(|v| {
            v.into_tensor::<f32>()
                .map(|t| t.into_data())
                .ok_or_else(|| which.error("an output is not f32"))
        })
        .collect()
}

/// Runs one model on its input on the given runtime; every output flattened, in the model's output
/// order. Public for the benchmark that compares the runtimes; the engine calls `run`.
pub fn run_on(which: Which, runtime: Runtime, input: &[f32]) -> Result<Vec<Vec<f32>>, ModelError> {
    match runtime {
        Runtime::Tract => run_tract(which, input),
        Runtime::Rten => run_rten(which, input),
        Runtime::Convnet => run_convnet(which, input),
    }
}

fn run(which: Which, input: &[f32]) -> Result<Vec<Vec<f32>>, ModelError> {
    run_on(which, which.runtime(), input)
}

/// MediaPipe's blendshape model: 146 points (x, y in photo px, in the order of
/// `BLENDSHAPE_POINTS`) in, 52 scores in [0, 1] out (`BLENDSHAPE_NAMES` order).
pub fn blendshapes(points: &[[f32; 2]]) -> Result<Vec<f32>, ModelError> {
    let flat: Vec<f32> = points.iter().flatten().copied().collect();
    let outputs = run(Which::Blendshapes, &flat)?;
    outputs
        .into_iter()
        .find(|o| o.len() == BLENDSHAPES)
        .ok_or_else(|| shape_error(Which::Blendshapes))
}

/// 3DDFA_V2's network on a 120 x 120 crop (channels first, B, G, R, each `(p - 127.5) / 128`): the
/// 62 morphable-model parameters, the first 12 a 3 x 4 camera matrix (row-major).
pub fn head_pose(input: &[f32]) -> Result<Vec<f32>, ModelError> {
    run(Which::HeadPose, input)?
        .into_iter()
        .find(|o| o.len() == HEAD_POSE_PARAMS)
        .ok_or_else(|| shape_error(Which::HeadPose))
}

/// The emotion classifier on a 64 x 64 grey crop (`(g - 0.5) * 2`, g in [0, 1]): the probabilities
/// of the seven `EMOTIONS`.
pub fn emotion(input: &[f32]) -> Result<Vec<f32>, ModelError> {
    run(Which::Emotion, input)?
        .into_iter()
        .find(|o| o.len() == EMOTIONS.len())
        .ok_or_else(|| shape_error(Which::Emotion))
}

/// The face mesh on a 192 x 192 crop: 468 points (x, y, z in crop px; z relative depth at about the
/// scale of x) and the face-presence score (0-1).
pub struct MeshOutput {
    pub points: Vec<[f32; 3]>,
    pub presence: f32,
}

pub fn mesh(input: &[f32]) -> Result<MeshOutput, ModelError> {
    let outputs = run(Which::Mesh, input)?;
    let points = outputs
        .iter()
        .find(|o| o.len() == MESH_POINTS * 3)
        .ok_or_else(|| shape_error(Which::Mesh))?;
    let logit = outputs
        .iter()
        .find(|o| o.len() == 1)
        .ok_or_else(|| shape_error(Which::Mesh))?[0];
    Ok(MeshOutput {
        points: points.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
        presence: sigmoid(logit),
    })
}

/// The eye model on a 64 x 64 crop of a left eye (a right eye is mirrored first): 71 contour points
/// (eyelids first, then the brow region) and 5 iris points (centre, then the rim), x and y in crop px.
pub struct EyeOutput {
    pub contour: Vec<[f32; 2]>,
    pub iris: Vec<[f32; 2]>,
}

pub fn eye(input: &[f32]) -> Result<EyeOutput, ModelError> {
    let outputs = run(Which::Eye, input)?;
    let find = |n: usize| {
        outputs
            .iter()
            .find(|o| o.len() == n * 3)
            .map(|o| o.chunks_exact(3).map(|p| [p[0], p[1]]).collect())
            .ok_or_else(|| shape_error(Which::Eye))
    };
    Ok(EyeOutput {
        contour: find(EYE_CONTOUR_POINTS)?,
        iris: find(IRIS_POINTS)?,
    })
}

fn shape_error(which: Which) -> ModelError {
    which.error("unexpected output shapes")
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input models/reference/README.md defines (integer pattern, one f32 division).
    fn reference_input(side: usize) -> Vec<f32> {
        let mut input = Vec::with_capacity(side * side * 3);
        for row in 0..side {
            for col in 0..side {
                for ch in 0..3 {
                    input.push(((col * 3 + row * 5 + ch * 7) % 256) as f32 / 255.0);
                }
            }
        }
        input
    }

    fn reference_output(name: &str) -> Vec<f32> {
        let path = format!(
            "{}/../../models/reference/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// Largest absolute difference (landmarks in crop pixels, scores as logits).
    fn max_diff(got: &[f32], want: &[f32]) -> f32 {
        assert_eq!(got.len(), want.len());
        got.iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn both_runtimes_match_the_reference_outputs_of_the_mediapipe_models() {
        // onnxruntime's outputs, written by convert.py; onnxruntime was within 1.2e-4 of TFLite.
        let cases = [
            (Which::Mesh, "face_landmark", 1e-3_f32),
            (Which::Eye, "iris_landmark", 1e-3_f32),
        ];
        for runtime in Runtime::ALL {
            for (which, name, tolerance) in cases {
                let outputs = run_on(which, runtime, &reference_input(which.shape()[1])).unwrap();
                assert_eq!(outputs.len(), 2, "{name} on {runtime:?}");
                for (i, got) in outputs.iter().enumerate() {
                    let want = reference_output(&format!("{name}.output{i}.f32"));
                    let diff = max_diff(got, &want);
                    assert!(
                        diff < tolerance,
                        "{name} output {i} on {runtime:?}: max diff {diff}"
                    );
                }
            }
        }
    }

    #[test]
    fn both_runtimes_match_the_reference_outputs_of_the_face_models() {
        // Inputs as models/reference/README.md defines them; outputs are onnxruntime's.
        let emotion: Vec<f32> = (0..64 * 64)
            .map(|i| ((i % 64 * 3 + i / 64 * 5) % 256) as f32 / 255.0)
            .collect();
        let mut pose = vec![0f32; 3 * 120 * 120];
        for (i, v) in pose.iter_mut().enumerate() {
            let (ch, row, col) = (i / (120 * 120), i / 120 % 120, i % 120);
            *v = (((col * 3 + row * 5 + ch * 7) % 256) as f32 - 127.5) / 128.0;
        }
        let points: Vec<f32> = (0..146 * 2)
            .map(|i| ((i / 2 * 7 + i % 2 * 13) % 256) as f32)
            .collect();
        let cases = [
            (Which::Emotion, "emotion", emotion, 1e-4_f32),
            // Its 62 parameters run from 1e-4 (the camera matrix's rotation) to 1e5 (shape
            // coefficients): each judged relative to its own size.
            (Which::HeadPose, "head_pose", pose, 1e-3_f32),
            (Which::Blendshapes, "face_blendshapes", points, 1e-4_f32),
        ];
        for runtime in Runtime::ALL {
            for (which, name, input, tolerance) in &cases {
                if !runtime.runs(*which) {
                    continue;
                }
                let outputs = run_on(*which, runtime, input).unwrap();
                let want = reference_output(&format!("{name}.output0.f32"));
                assert_eq!(outputs[0].len(), want.len(), "{name} on {runtime:?}");
                let diff = outputs[0]
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs() / b.abs().max(1e-3))
                    .fold(0.0, f32::max);
                assert!(diff < *tolerance, "{name} on {runtime:?}: max diff {diff}");
            }
        }
    }

    #[test]
    fn a_wrongly_sized_input_is_an_error_not_a_panic() {
        for runtime in Runtime::ALL {
            for which in Which::ALL {
                assert!(
                    run_on(which, runtime, &[0.5; 10]).is_err(),
                    "{which:?} {runtime:?}"
                );
            }
        }
        assert!(mesh(&[0.0; 3]).is_err());
    }
}
