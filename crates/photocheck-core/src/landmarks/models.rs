//! The two MediaPipe models (ONNX, converted once from the `mediapipe` 0.10.21 wheel; models/README.md),
//! embedded in the binary and run with tract.
//!
//! Each model is parsed and optimised once per process and shared by every thread (the plan is
//! immutable). Run states (the scratch buffers) are pooled, not kept per thread: a pool holds at most
//! as many as ran at once, and a thread-local state cannot be dropped at thread exit (tract's own
//! thread-locals are already gone by then).

use std::sync::{Arc, Mutex, OnceLock};

use tract_onnx::prelude::*;

static MESH_ONNX: &[u8] = include_bytes!("../../../../models/face_landmark.onnx");
static EYE_ONNX: &[u8] = include_bytes!("../../../../models/iris_landmark.onnx");

/// Input side of the face mesh, px.
pub const MESH_SIDE: usize = 192;
/// Input side of the eye model, px.
pub const EYE_SIDE: usize = 64;
/// Face mesh points.
pub const MESH_POINTS: usize = 468;
/// Eye model: eyelid and brow contour points, and iris points (centre first).
pub const EYE_CONTOUR_POINTS: usize = 71;
pub const IRIS_POINTS: usize = 5;

type Plan = TypedSimplePlan;
type State = TypedSimpleState;

#[derive(Debug, thiserror::Error)]
#[error("{model} model: {message}")]
pub struct ModelError {
    model: &'static str,
    message: String,
}

fn load(bytes: &[u8], side: usize) -> TractResult<Arc<Plan>> {
    onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))?
        .with_input_fact(0, f32::fact([1, side, side, 3]).into())?
        .into_optimized()?
        .into_runnable()
}

fn plan(which: Which) -> &'static Arc<Plan> {
    static MESH: OnceLock<Arc<Plan>> = OnceLock::new();
    static EYE: OnceLock<Arc<Plan>> = OnceLock::new();
    let (cell, bytes, side) = match which {
        Which::Mesh => (&MESH, MESH_ONNX, MESH_SIDE),
        Which::Eye => (&EYE, EYE_ONNX, EYE_SIDE),
    };
    cell.get_or_init(|| load(bytes, side).expect("the embedded models load (tested)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Mesh,
    Eye,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Mesh => "face mesh",
            Which::Eye => "eye",
        }
    }
    fn side(self) -> usize {
        match self {
            Which::Mesh => MESH_SIDE,
            Which::Eye => EYE_SIDE,
        }
    }
}

static POOLS: [Mutex<Vec<State>>; 2] = [Mutex::new(Vec::new()), Mutex::new(Vec::new())];

/// Runs one model on an NHWC input in [0, 1]; every output flattened, in the model's output order.
fn run(which: Which, input: &[f32]) -> Result<Vec<Vec<f32>>, ModelError> {
    let err = |e: TractError| ModelError {
        model: which.name(),
        message: format!("{e:#}"),
    };
    let side = which.side();
    let tensor = Tensor::from_shape(&[1, side, side, 3], input).map_err(err)?;
    let pool = &POOLS[which as usize];
    // A poisoned pool only means another thread panicked while holding the lock; the states in it
    // are whole (they are pushed and popped, never mutated under the lock).
    let pooled = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let mut state = match pooled {
        Some(state) => state,
        None => plan(which).spawn().map_err(err)?,
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
    ModelError {
        model: which.name(),
        message: "unexpected output shapes".into(),
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
