//! photocheck's own runtime for the small convolutional networks (the face mesh, the eye model,
//! 3DDFA's head pose and the emotion classifier): batch 1, float32, channels first, one thread.
//!
//! Why it exists: in both pure-Rust runtimes the depthwise 3 x 3 convolutions, which are most of a
//! MobileNet's layers, ran at ~3 ns per input value (rten 0.27's depthwise row loop is scalar; the
//! `timing_by_shape` report gave them 3.1 of the mesh's 4.5 ms), and tract spends a third of the mesh
//! on PReLU (a comparison and a select over ndarray). Here a depthwise row is a multiply-add over a
//! contiguous row with the stride known at compile time, vectorised with AVX2 and FMA where the CPU has
//! them; every other convolution is an im2col and a matrix product (ndarray's, on `matrixmultiply`,
//! which picks its SIMD kernels at run time). `cargo bench -p benches --bench check -- runtimes` compares it with
//! tract and rten on the same inputs; the reference-output tests in models.rs run every model on it.
//!
//! It reads the ONNX graph (through tract-onnx's protobuf types) and supports exactly the operators
//! and attributes these models use; anything else is refused when the model loads, never guessed.

use std::collections::HashMap;

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use tract_onnx::pb;

/// A tensor: its shape and its values in row-major order.
#[derive(Debug, Clone)]
struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    fn new(shape: Vec<usize>, data: Vec<f32>) -> Tensor {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data }
    }

    /// N, C, H, W of a 4-D tensor.
    fn nchw(&self) -> Result<[usize; 4], String> {
        match self.shape[..] {
            [n, c, h, w] => Ok([n, c, h, w]),
            _ => Err(format!("expected a 4-D tensor, got shape {:?}", self.shape)),
        }
    }
}

#[derive(Debug)]
struct Conv {
    /// [out channels, in channels / group, kh, kw], flattened.
    weights: Vec<f32>,
    bias: Vec<f32>,
    out_channels: usize,
    in_per_group: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    /// Top, left, bottom, right.
    pads: [usize; 4],
    group: usize,
}

#[derive(Debug)]
enum Op {
    Conv(Conv),
    /// One slope per channel.
    PRelu(Vec<f32>),
    Relu,
    Add,
    MaxPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        pads: [usize; 4],
    },
    /// Constant zero padding, ONNX order: the starts of every axis, then the ends.
    Pad(Vec<usize>),
    /// ONNX semantics: 0 keeps the dimension, -1 is inferred.
    Reshape(Vec<i64>),
    Flatten(usize),
    Squeeze(Vec<usize>),
    Transpose(Vec<usize>),
    GlobalAveragePool,
    /// y = a * B^T + bias, B stored [n, k].
    Gemm {
        weights: Vec<f32>,
        bias: Vec<f32>,
        n: usize,
        k: usize,
    },
    /// Along the last axis.
    Softmax,
}

#[derive(Debug)]
struct Node {
    op: Op,
    /// Value slots read (only the ones that are not weights) and the slot written.
    inputs: Vec<usize>,
    output: usize,
}

/// A loaded network.
#[derive(Debug)]
pub struct Net {
    nodes: Vec<Node>,
    input: usize,
    outputs: Vec<usize>,
    slots: usize,
    /// How many nodes read each slot (the outputs count once more): a node that is a slot's last
    /// reader may take its tensor and work in place.
    readers: Vec<usize>,
}

impl Net {
    /// Reads an ONNX model (one input, graph nodes in topological order, as ONNX requires).
    pub fn from_onnx(bytes: &[u8]) -> Result<Net, String> {
        use tract_onnx::prelude::Framework;
        let model = tract_onnx::onnx()
            .proto_model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(|e| format!("not an ONNX model: {e}"))?;
        let graph = model.graph.ok_or("the model has no graph")?;
        let weights: HashMap<&str, &pb::TensorProto> = graph
            .initializer
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        let mut slots: HashMap<String, usize> = HashMap::new();
        let inputs: Vec<&pb::ValueInfoProto> = graph
            .input
            .iter()
            .filter(|i| !weights.contains_key(i.name.as_str()))
            .collect();
        let [input] = inputs[..] else {
            return Err(format!("expected one input, found {}", inputs.len()));
        };
        slots.insert(input.name.clone(), 0);
        let mut nodes = Vec::with_capacity(graph.node.len());
        for node in &graph.node {
            let weight = |i: usize| -> Result<&pb::TensorProto, String> {
                node.input
                    .get(i)
                    .and_then(|name| weights.get(name.as_str()).copied())
                    .ok_or_else(|| {
                        format!("{} {}: input {i} is not a weight", node.op_type, node.name)
                    })
            };
            let op = read_op(node, &weight)
                .map_err(|e| format!("{} {}: {e}", node.op_type, node.name))?;
            let data_inputs = match op {
                Op::Add => 2,
                _ => 1,
            };
            let mut ins = Vec::with_capacity(data_inputs);
            for name in node.input.iter().take(data_inputs) {
                let slot = slots.get(name).copied().ok_or_else(|| {
                    format!(
                        "{} {}: {name} is not computed before it",
                        node.op_type, node.name
                    )
                })?;
                ins.push(slot);
            }
            let [out_name] = &node.output[..] else {
                return Err(format!(
                    "{} {}: expected one output",
                    node.op_type, node.name
                ));
            };
            let output = slots.len();
            slots.insert(out_name.clone(), output);
            nodes.push(Node {
                op,
                inputs: ins,
                output,
            });
        }
        let outputs = graph
            .output
            .iter()
            .map(|o| {
                slots
                    .get(&o.name)
                    .copied()
                    .ok_or_else(|| format!("output {} is never computed", o.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut readers = vec![0; slots.len()];
        for &slot in nodes.iter().flat_map(|n| &n.inputs).chain(&outputs) {
            readers[slot] += 1;
        }
        Ok(Net {
            nodes,
            input: 0,
            outputs,
            slots: slots.len(),
            readers,
        })
    }

    /// Runs the network on one input of `shape`; the outputs flattened, in the model's order.
    pub fn run(&self, shape: &[usize], input: &[f32]) -> Result<Vec<Vec<f32>>, String> {
        if shape.iter().product::<usize>() != input.len() {
            return Err(format!(
                "input of {} values for shape {shape:?}",
                input.len()
            ));
        }
        let mut values: Vec<Option<Tensor>> = vec![None; self.slots];
        let mut left = self.readers.clone();
        values[self.input] = Some(Tensor::new(shape.to_vec(), input.to_vec()));
        for node in &self.nodes {
            // The first input is taken (and may be overwritten) when this node is its last reader.
            let first = node.inputs[0];
            left[first] -= 1;
            let owned = if left[first] == 0 {
                values[first].take()
            } else {
                None
            };
            let borrowed;
            let x: Tensor = match owned {
                Some(t) => t,
                None => {
                    borrowed = values[first]
                        .as_ref()
                        .ok_or("a value was read after it was freed")?;
                    borrowed.clone()
                }
            };
            let y = match &node.op {
                Op::Add => {
                    let other = node.inputs[1];
                    left[other] -= 1;
                    let b = values[other]
                        .as_ref()
                        .ok_or("a value was read after it was freed")?;
                    add(x, b)?
                }
                op => eval(op, x)?,
            };
            if let Some(&other) = node.inputs.get(1) {
                if left[other] == 0 {
                    values[other] = None;
                }
            }
            values[node.output] = Some(y);
        }
        self.outputs
            .iter()
            .map(|&slot| {
                values[slot]
                    .as_ref()
                    .map(|t| t.data.clone())
                    .ok_or_else(|| "an output was not computed".to_string())
            })
            .collect()
    }
}

fn attr<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn ints(node: &pb::NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

fn pair(node: &pb::NodeProto, name: &str, default: usize) -> Result<[usize; 2], String> {
    match ints(node, name).as_deref() {
        None => Ok([default; 2]),
        Some(&[a, b]) if a >= 1 && b >= 1 => Ok([a as usize, b as usize]),
        Some(v) => Err(format!("{name} {v:?} is not two positive values")),
    }
}

fn pads4(node: &pb::NodeProto) -> Result<[usize; 4], String> {
    match ints(node, "pads").as_deref() {
        None => Ok([0; 4]),
        // ONNX: the starts (top, left), then the ends (bottom, right).
        Some(&[t, l, b, r]) if t.min(l).min(b).min(r) >= 0 => {
            Ok([t as usize, l as usize, b as usize, r as usize])
        }
        Some(v) => Err(format!("pads {v:?}")),
    }
}

/// Refuses the attributes these kernels do not implement.
fn refuse(node: &pb::NodeProto, known: &[&str]) -> Result<(), String> {
    for a in &node.attribute {
        if !known.contains(&a.name.as_str()) {
            return Err(format!("attribute {} is not supported", a.name));
        }
    }
    if let Some(a) = attr(node, "auto_pad") {
        if !a.s.is_empty() && a.s != b"NOTSET" {
            return Err("auto_pad is not supported".into());
        }
    }
    if let Some(d) = ints(node, "dilations") {
        if d.iter().any(|&v| v != 1) {
            return Err(format!("dilations {d:?} are not supported"));
        }
    }
    Ok(())
}

fn floats(t: &pb::TensorProto) -> Result<Vec<f32>, String> {
    use pb::tensor_proto::DataType;
    tensor_values(
        t,
        DataType::Float,
        "float32",
        f32::from_le_bytes,
        &t.float_data,
    )
}

fn int64s(t: &pb::TensorProto) -> Result<Vec<i64>, String> {
    use pb::tensor_proto::DataType;
    tensor_values(
        t,
        DataType::Int64,
        "int64",
        i64::from_le_bytes,
        &t.int64_data,
    )
}

/// A tensor's values: from `raw_data` (little-endian, as ONNX stores it) when it has any, else from
/// the typed field.
fn tensor_values<T: Clone, const N: usize>(
    t: &pb::TensorProto,
    data_type: pb::tensor_proto::DataType,
    type_name: &str,
    from_le: fn([u8; N]) -> T,
    typed: &[T],
) -> Result<Vec<T>, String> {
    if t.data_type != data_type as i32 {
        return Err(format!("{} is not {type_name}", t.name));
    }
    if t.raw_data.is_empty() {
        return Ok(typed.to_vec());
    }
    let (chunks, rest) = t.raw_data.as_chunks::<N>();
    if !rest.is_empty() {
        return Err(format!("{}: {} bytes", t.name, t.raw_data.len()));
    }
    Ok(chunks.iter().map(|&b| from_le(b)).collect())
}

fn dims(t: &pb::TensorProto) -> Vec<usize> {
    t.dims.iter().map(|&d| d.max(0) as usize).collect()
}

fn read_op<'a>(
    node: &'a pb::NodeProto,
    weight: &dyn Fn(usize) -> Result<&'a pb::TensorProto, String>,
) -> Result<Op, String> {
    Ok(match node.op_type.as_str() {
        "Conv" => {
            refuse(
                node,
                &[
                    "kernel_shape",
                    "strides",
                    "pads",
                    "dilations",
                    "group",
                    "auto_pad",
                ],
            )?;
            let w = weight(1)?;
            let [out_channels, in_per_group, kh, kw] = dims(w)[..] else {
                return Err("weights are not 4-D".into());
            };
            let kernel = pair(node, "kernel_shape", 0)?;
            if kernel != [kh, kw] {
                return Err("kernel_shape disagrees with the weights".into());
            }
            let group = attr(node, "group").map_or(1, |a| a.i.max(1) as usize);
            if group != 1 && !(group == out_channels && in_per_group == 1) {
                return Err(format!(
                    "group {group}: only plain and depthwise convolutions"
                ));
            }
            let bias = match node.input.len() {
                2 => vec![0.0; out_channels],
                _ => floats(weight(2)?)?,
            };
            let weights = floats(w)?;
            if bias.len() != out_channels || weights.len() != out_channels * in_per_group * kh * kw
            {
                return Err("weights or bias of the wrong size".into());
            }
            Op::Conv(Conv {
                weights,
                bias,
                out_channels,
                in_per_group,
                kernel,
                stride: pair(node, "strides", 1)?,
                pads: pads4(node)?,
                group,
            })
        }
        "PRelu" => {
            refuse(node, &[])?;
            let slope = weight(1)?;
            let d = dims(slope);
            // One slope per channel: [C], [C, 1, 1] or [1, C, 1, 1].
            if d.iter().filter(|&&v| v != 1).count() > 1 {
                return Err(format!("slope of shape {d:?} is not one per channel"));
            }
            Op::PRelu(floats(slope)?)
        }
        "Relu" => {
            refuse(node, &[])?;
            Op::Relu
        }
        "Add" => {
            refuse(node, &[])?;
            Op::Add
        }
        "MaxPool" => {
            refuse(
                node,
                &[
                    "kernel_shape",
                    "strides",
                    "pads",
                    "auto_pad",
                    "ceil_mode",
                    "dilations",
                ],
            )?;
            if attr(node, "ceil_mode").is_some_and(|a| a.i != 0) {
                return Err("ceil_mode is not supported".into());
            }
            Op::MaxPool {
                kernel: pair(node, "kernel_shape", 0)?,
                stride: pair(node, "strides", 1)?,
                pads: pads4(node)?,
            }
        }
        "Pad" => {
            refuse(node, &["mode"])?;
            if attr(node, "mode").is_some_and(|a| a.s != b"constant") {
                return Err("only constant padding".into());
            }
            if let Ok(value) = weight(2) {
                if floats(value)?.iter().any(|&v| v != 0.0) {
                    return Err("only zero padding".into());
                }
            }
            let pads = int64s(weight(1)?)?;
            if pads.iter().any(|&p| p < 0) {
                return Err("negative pads (cropping) are not supported".into());
            }
            Op::Pad(pads.into_iter().map(|p| p as usize).collect())
        }
        "Reshape" => {
            refuse(node, &["allowzero"])?;
            Op::Reshape(int64s(weight(1)?)?)
        }
        "Flatten" => {
            refuse(node, &["axis"])?;
            Op::Flatten(attr(node, "axis").map_or(1, |a| a.i.max(0) as usize))
        }
        "Squeeze" => {
            refuse(node, &["axes"])?;
            let axes = match ints(node, "axes") {
                Some(a) => a,
                None => int64s(weight(1)?)?,
            };
            if axes.iter().any(|&a| a < 0) {
                return Err("negative axes are not supported".into());
            }
            Op::Squeeze(axes.into_iter().map(|a| a as usize).collect())
        }
        "Transpose" => {
            refuse(node, &["perm"])?;
            let perm: Vec<usize> = ints(node, "perm")
                .ok_or("no perm")?
                .into_iter()
                .map(|p| p.max(0) as usize)
                .collect();
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..perm.len()).collect::<Vec<_>>() {
                return Err(format!("perm {perm:?} is not a permutation"));
            }
            Op::Transpose(perm)
        }
        "GlobalAveragePool" => {
            refuse(node, &[])?;
            Op::GlobalAveragePool
        }
        "Gemm" => {
            refuse(node, &["transB", "alpha", "beta", "transA"])?;
            let one = |name: &str| {
                attr(node, name).is_none_or(|a| a.f == 1.0 || a.r#type == 2 && a.i == 1)
            };
            if attr(node, "transA").is_some_and(|a| a.i != 0)
                || attr(node, "transB").is_none_or(|a| a.i != 1)
                || !one("alpha")
                || !one("beta")
            {
                return Err("only A * B^T + C".into());
            }
            let w = weight(1)?;
            let [n, k] = dims(w)[..] else {
                return Err("B is not 2-D".into());
            };
            let bias = floats(weight(2)?)?;
            if bias.len() != n {
                return Err("C is not one value per output".into());
            }
            Op::Gemm {
                weights: floats(w)?,
                bias,
                n,
                k,
            }
        }
        "Softmax" => {
            refuse(node, &["axis"])?;
            // Applied along the last axis; the emotion model's axis 1 of [1, 7] is that one.
            if attr(node, "axis").is_some_and(|a| a.i != 1 && a.i != -1) {
                return Err("only the last axis".into());
            }
            Op::Softmax
        }
        other => return Err(format!("operator {other} is not supported")),
    })
}

fn eval(op: &Op, mut x: Tensor) -> Result<Tensor, String> {
    Ok(match op {
        Op::Conv(conv) => conv2d(conv, &x)?,
        Op::PRelu(slope) => {
            let [_, c, h, w] = x.nchw()?;
            if slope.len() != c {
                return Err(format!("{} slopes for {c} channels", slope.len()));
            }
            kernels::prelu(&mut x.data, slope, h * w);
            x
        }
        Op::Relu => {
            x.data.iter_mut().for_each(|v| *v = v.max(0.0));
            x
        }
        Op::Add => unreachable!("Add has two inputs: Net::run"),
        Op::MaxPool {
            kernel,
            stride,
            pads,
        } => max_pool(&x, *kernel, *stride, *pads)?,
        Op::Pad(pads) => pad(&x, pads)?,
        Op::Reshape(spec) => {
            let shape = reshape(&x.shape, spec)?;
            Tensor::new(shape, x.data)
        }
        Op::Flatten(axis) => {
            if *axis > x.shape.len() {
                return Err("flatten axis past the rank".into());
            }
            let outer = x.shape[..*axis].iter().product();
            let inner = x.shape[*axis..].iter().product();
            Tensor::new(vec![outer, inner], x.data)
        }
        Op::Squeeze(axes) => {
            if axes.iter().any(|&a| x.shape.get(a) != Some(&1)) {
                return Err(format!("cannot squeeze {axes:?} of {:?}", x.shape));
            }
            let shape = (0..x.shape.len())
                .filter(|a| !axes.contains(a))
                .map(|a| x.shape[a])
                .collect();
            Tensor::new(shape, x.data)
        }
        Op::Transpose(perm) => transpose(&x, perm)?,
        Op::GlobalAveragePool => {
            let [n, c, h, w] = x.nchw()?;
            let data = x
                .data
                .chunks_exact(h * w)
                .map(|plane| plane.iter().sum::<f32>() / (h * w) as f32)
                .collect();
            Tensor::new(vec![n, c, 1, 1], data)
        }
        Op::Gemm {
            weights,
            bias,
            n,
            k,
        } => {
            let [m, xk] = x.shape[..] else {
                return Err("Gemm input is not 2-D".into());
            };
            if xk != *k {
                return Err(format!("Gemm input has {xk} columns, B {k}"));
            }
            let mut out = Vec::with_capacity(m * n);
            for row in x.data.chunks_exact(*k) {
                for (j, b) in bias.iter().enumerate() {
                    let w = &weights[j * k..(j + 1) * k];
                    out.push(b + row.iter().zip(w).map(|(a, b)| a * b).sum::<f32>());
                }
            }
            Tensor::new(vec![m, *n], out)
        }
        Op::Softmax => {
            let last = *x.shape.last().ok_or("softmax of a scalar")?;
            for row in x.data.chunks_exact_mut(last.max(1)) {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                row.iter_mut().for_each(|v| *v = (*v - max).exp());
                let sum: f32 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= sum);
            }
            x
        }
    })
}

fn add(mut a: Tensor, b: &Tensor) -> Result<Tensor, String> {
    if a.shape != b.shape {
        return Err(format!("Add of {:?} and {:?}", a.shape, b.shape));
    }
    a.data.iter_mut().zip(&b.data).for_each(|(x, y)| *x += y);
    Ok(a)
}

/// The hot loops, written so that the compiler vectorises them (contiguous rows, the stride a
/// constant).
mod kernels {
    /// Input h x w, output h x w, kernel h x w, padding top and left.
    pub type Sizes = ([usize; 2], [usize; 2], [usize; 2], [usize; 2]);

    /// y = x > 0 ? x : slope * x, one slope per plane of `plane` values.
    pub fn prelu(data: &mut [f32], slope: &[f32], plane: usize) {
        for (chunk, &a) in data.chunks_exact_mut(plane).zip(slope.iter().cycle()) {
            for v in chunk {
                *v = if *v > 0.0 { *v } else { a * *v };
            }
        }
    }

    /// One depthwise channel: `out` (oh x ow, already holding the bias) += the kh x kw kernel `k`
    /// over `input` (h x w) with stride S and top/left padding `pt`, `pl` (the padding is zeros).
    pub fn depthwise_plane<const S: usize>(
        out: &mut [f32],
        input: &[f32],
        k: &[f32],
        ([h, w], [oh, ow], [kh, kw], [pt, pl]): Sizes,
    ) {
        for (y, out_row) in out.chunks_exact_mut(ow).enumerate().take(oh) {
            for ky in 0..kh {
                let Some(iy) = (y * S + ky).checked_sub(pt).filter(|&iy| iy < h) else {
                    continue;
                };
                let in_row = &input[iy * w..(iy + 1) * w];
                for kx in 0..kw {
                    let weight = k[ky * kw + kx];
                    // Output columns whose input column x * S + kx - pl lies in the row.
                    let lo = pl.saturating_sub(kx).div_ceil(S);
                    let hi = (w + pl).saturating_sub(kx).div_ceil(S).min(ow);
                    if lo >= hi {
                        continue;
                    }
                    let start = lo * S + kx - pl;
                    let src = &in_row[start..start + (hi - lo - 1) * S + 1];
                    let dst = &mut out_row[lo..hi];
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d += src[i * S] * weight;
                    }
                }
            }
        }
    }
}

/// A 3 x 3, stride 1 depthwise channel over a copy of its plane with the zero padding written in
/// (`padded`, rows of `wp` values): each output is the nine products summed in registers and
/// stored once (the general loop above reads and writes every output nine times).
fn depthwise_3x3(out: &mut [f32], padded: &[f32], k: &[f32], wp: usize, [oh, ow]: [usize; 2]) {
    let &[k0, k1, k2, k3, k4, k5, k6, k7, k8] = k else {
        unreachable!("a 3 x 3 kernel has nine weights");
    };
    for (y, out_row) in out.chunks_exact_mut(ow).enumerate().take(oh) {
        // Each tap's inputs as a slice exactly as long as the row: no bounds checks in the loop.
        let row = |dy: usize, dx: usize| &padded[(y + dy) * wp + dx..][..ow];
        let (a0, a1, a2) = (row(0, 0), row(0, 1), row(0, 2));
        let (b0, b1, b2) = (row(1, 0), row(1, 1), row(1, 2));
        let (c0, c1, c2) = (row(2, 0), row(2, 1), row(2, 2));
        for (x, o) in out_row.iter_mut().enumerate() {
            let top = k0 * a0[x] + k1 * a1[x] + k2 * a2[x];
            let middle = k3 * b0[x] + k4 * b1[x] + k5 * b2[x];
            let bottom = k6 * c0[x] + k7 * c1[x] + k8 * c2[x];
            *o += top + middle + bottom;
        }
    }
}

/// Output side of a convolution or pooling window over `size` with padding `before` + `after`.
fn out_side(
    size: usize,
    kernel: usize,
    stride: usize,
    before: usize,
    after: usize,
) -> Result<usize, String> {
    (size + before + after)
        .checked_sub(kernel)
        .map(|span| span / stride + 1)
        .ok_or_else(|| format!("window {kernel} larger than the padded side {size}"))
}

fn conv2d(conv: &Conv, x: &Tensor) -> Result<Tensor, String> {
    let [n, c, h, w] = x.nchw()?;
    let [kh, kw] = conv.kernel;
    let [sh, sw] = conv.stride;
    let [pt, pl, pb, pr] = conv.pads;
    if n != 1 {
        return Err("batch sizes other than 1 are not supported".into());
    }
    if c != conv.in_per_group * conv.group {
        return Err(format!(
            "{c} input channels for weights of {} x {} groups",
            conv.in_per_group, conv.group
        ));
    }
    let oh = out_side(h, kh, sh, pt, pb)?;
    let ow = out_side(w, kw, sw, pl, pr)?;
    let co = conv.out_channels;
    let mut out = vec![0f32; co * oh * ow];
    for (plane, &b) in out.chunks_exact_mut(oh * ow).zip(&conv.bias) {
        plane.fill(b);
    }
    if conv.group > 1 {
        // Depthwise: each channel convolved with its own kernel.
        if sh != sw || !(1..=3).contains(&sh) {
            return Err(format!("depthwise stride {sh} x {sw} is not supported"));
        }
        let k_len = kh * kw;
        if [kh, kw, sh] == [3, 3, 1] {
            let (hp, wp) = (h + pt + pb, w + pl + pr);
            let mut padded = vec![0f32; hp * wp];
            for ch in 0..c {
                let input = &x.data[ch * h * w..(ch + 1) * h * w];
                for (y, row) in input.chunks_exact(w).enumerate() {
                    padded[(y + pt) * wp + pl..][..w].copy_from_slice(row);
                }
                let k = &conv.weights[ch * k_len..(ch + 1) * k_len];
                let plane = &mut out[ch * oh * ow..(ch + 1) * oh * ow];
                depthwise_3x3(plane, &padded, k, wp, [oh, ow]);
            }
            return Ok(Tensor::new(vec![1, co, oh, ow], out));
        }
        for ch in 0..c {
            let input = &x.data[ch * h * w..(ch + 1) * h * w];
            let k = &conv.weights[ch * k_len..(ch + 1) * k_len];
            let plane = &mut out[ch * oh * ow..(ch + 1) * oh * ow];
            let sizes = ([h, w], [oh, ow], [kh, kw], [pt, pl]);
            match sh {
                1 => kernels::depthwise_plane::<1>(plane, input, k, sizes),
                2 => kernels::depthwise_plane::<2>(plane, input, k, sizes),
                _ => kernels::depthwise_plane::<3>(plane, input, k, sizes),
            }
        }
        return Ok(Tensor::new(vec![1, co, oh, ow], out));
    }
    // A plain convolution is a matrix product: weights [co, c * kh * kw] times the input's patches
    // [c * kh * kw, oh * ow] (a 1 x 1 convolution with stride 1 needs no patches: the input is that).
    let k_len = c * kh * kw;
    let pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && conv.pads == [0; 4];
    let patches;
    let b: &[f32] = if pointwise {
        &x.data
    } else {
        patches = im2col(&x.data, [c, h, w], [kh, kw], [sh, sw], [pt, pl], [oh, ow]);
        &patches
    };
    let cols = oh * ow;
    let shape_error = |e: ndarray::ShapeError| e.to_string();
    let weights = ArrayView2::from_shape((co, k_len), &conv.weights).map_err(shape_error)?;
    let patches = ArrayView2::from_shape((k_len, cols), b).map_err(shape_error)?;
    let mut product = ArrayViewMut2::from_shape((co, cols), &mut out).map_err(shape_error)?;
    general_mat_mul(1.0, &weights, &patches, 1.0, &mut product);
    Ok(Tensor::new(vec![1, co, oh, ow], out))
}

/// The patches of a convolution, one row per (channel, ky, kx), one column per output position;
/// zeros where the window hangs over the padding.
fn im2col(
    input: &[f32],
    [c, h, w]: [usize; 3],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [pt, pl]: [usize; 2],
    [oh, ow]: [usize; 2],
) -> Vec<f32> {
    let mut cols = vec![0f32; c * kh * kw * oh * ow];
    let mut rows = cols.chunks_exact_mut(oh * ow);
    for ch in 0..c {
        let plane = &input[ch * h * w..(ch + 1) * h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let row = rows.next().expect("c * kh * kw rows");
                // Output columns whose input column x * sw + kx - pl lies in the row.
                let lo = pl.saturating_sub(kx).div_ceil(sw);
                let hi = (w + pl).saturating_sub(kx).div_ceil(sw).min(ow);
                for y in 0..oh {
                    let Some(iy) = (y * sh + ky).checked_sub(pt).filter(|&iy| iy < h) else {
                        continue;
                    };
                    let src = &plane[iy * w..(iy + 1) * w];
                    let dst = &mut row[y * ow..(y + 1) * ow];
                    for x in lo..hi {
                        dst[x] = src[x * sw + kx - pl];
                    }
                }
            }
        }
    }
    cols
}

fn max_pool(
    x: &Tensor,
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [pt, pl, pb, pr]: [usize; 4],
) -> Result<Tensor, String> {
    let [n, c, h, w] = x.nchw()?;
    let oh = out_side(h, kh, sh, pt, pb)?;
    let ow = out_side(w, kw, sw, pl, pr)?;
    let mut out = Vec::with_capacity(n * c * oh * ow);
    if [kh, kw, sh, sw] == [2, 2, 2, 2] && [pt, pl] == [0, 0] {
        // The MediaPipe models' pooling: every 2 x 2 block, no padding.
        for plane in x.data.chunks_exact(h * w) {
            for y in 0..oh {
                let (r0, r1) = (
                    &plane[2 * y * w..][..2 * ow],
                    &plane[(2 * y + 1) * w..][..2 * ow],
                );
                for (a, b) in r0.chunks_exact(2).zip(r1.chunks_exact(2)) {
                    out.push(a[0].max(a[1]).max(b[0].max(b[1])));
                }
            }
        }
        return Ok(Tensor::new(vec![n, c, oh, ow], out));
    }
    for plane in x.data.chunks_exact(h * w) {
        for y in 0..oh {
            for x_out in 0..ow {
                let mut m = f32::NEG_INFINITY;
                for ky in 0..kh {
                    let Some(iy) = (y * sh + ky).checked_sub(pt).filter(|&iy| iy < h) else {
                        continue;
                    };
                    for kx in 0..kw {
                        if let Some(ix) = (x_out * sw + kx).checked_sub(pl).filter(|&ix| ix < w) {
                            m = m.max(plane[iy * w + ix]);
                        }
                    }
                }
                out.push(m);
            }
        }
    }
    Ok(Tensor::new(vec![n, c, oh, ow], out))
}

fn pad(x: &Tensor, pads: &[usize]) -> Result<Tensor, String> {
    let rank = x.shape.len();
    if pads.len() != 2 * rank || rank != 4 {
        return Err(format!("pads {pads:?} for shape {:?}", x.shape));
    }
    let [n, c, h, w] = x.nchw()?;
    let [n0, c0, h0, w0] = [pads[0], pads[1], pads[2], pads[3]];
    let shape: Vec<usize> = (0..4).map(|a| x.shape[a] + pads[a] + pads[a + 4]).collect();
    let [_, oc, oh, ow] = [shape[0], shape[1], shape[2], shape[3]];
    let mut out = vec![0f32; shape.iter().product()];
    for b in 0..n {
        for ch in 0..c {
            for y in 0..h {
                let src = &x.data[((b * c + ch) * h + y) * w..][..w];
                let at = (((b + n0) * oc + ch + c0) * oh + y + h0) * ow + w0;
                out[at..at + w].copy_from_slice(src);
            }
        }
    }
    Ok(Tensor::new(shape, out))
}

fn reshape(from: &[usize], spec: &[i64]) -> Result<Vec<usize>, String> {
    let total: usize = from.iter().product();
    let mut shape = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        shape.push(match d {
            0 => *from
                .get(i)
                .ok_or("reshape keeps a dimension the input lacks")?,
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            d if d > 0 => d as usize,
            _ => return Err(format!("reshape to {spec:?}")),
        });
    }
    let known: usize = shape.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {from:?} to {spec:?}"));
        }
        shape[i] = total / known;
    }
    if shape.iter().product::<usize>() != total {
        return Err(format!("cannot reshape {from:?} to {spec:?}"));
    }
    Ok(shape)
}

fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor, String> {
    if perm.len() != x.shape.len() {
        return Err(format!("perm {perm:?} for shape {:?}", x.shape));
    }
    let rank = perm.len();
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    if perm == [0, 3, 1, 2] {
        // NHWC to NCHW, the images' way in: one pass per channel.
        let [n, h, w, c] = x.nchw()?;
        let mut out = Vec::with_capacity(x.data.len());
        for image in x.data.chunks_exact(h * w * c).take(n) {
            for ch in 0..c {
                out.extend(image.iter().skip(ch).step_by(c));
            }
        }
        return Ok(Tensor::new(shape, out));
    }
    let mut in_strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        in_strides[a] = in_strides[a + 1] * x.shape[a + 1];
    }
    // The input stride of each output axis; walk the output in order with an odometer.
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut out = Vec::with_capacity(x.data.len());
    let mut index = vec![0usize; rank];
    let mut at = 0usize;
    for _ in 0..x.data.len() {
        out.push(x.data[at]);
        for a in (0..rank).rev() {
            index[a] += 1;
            at += strides[a];
            if index[a] < shape[a] {
                break;
            }
            at -= strides[a] * shape[a];
            index[a] = 0;
        }
    }
    Ok(Tensor::new(shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every convolution kernel against the textbook loop, on odd sizes, strides and paddings.
    #[test]
    fn convolutions_match_the_direct_sum() {
        let cases = [
            // (channels in, out, group, kernel, stride, pads)
            (3, 4, 1, [3, 3], [2, 2], [1, 1, 1, 1]),
            (5, 5, 5, [3, 3], [1, 1], [1, 1, 1, 1]),
            (6, 6, 6, [3, 3], [2, 2], [0, 0, 1, 1]),
            (4, 4, 4, [3, 3], [3, 3], [0, 0, 0, 0]),
            (4, 7, 1, [1, 1], [1, 1], [0, 0, 0, 0]),
            (2, 3, 1, [2, 2], [2, 2], [0, 0, 0, 0]),
        ];
        for (ci, co, group, kernel, stride, pads) in cases {
            let [h, w] = [11, 9];
            let input: Vec<f32> = (0..ci * h * w)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let per = ci / group;
            let weights: Vec<f32> = (0..co * per * kernel[0] * kernel[1])
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0)
                .collect();
            let bias: Vec<f32> = (0..co).map(|i| i as f32 * 0.25 - 0.5).collect();
            let conv = Conv {
                weights: weights.clone(),
                bias: bias.clone(),
                out_channels: co,
                in_per_group: per,
                kernel,
                stride,
                pads,
                group,
            };
            let got = conv2d(&conv, &Tensor::new(vec![1, ci, h, w], input.clone())).unwrap();
            let oh = (h + pads[0] + pads[2] - kernel[0]) / stride[0] + 1;
            let ow = (w + pads[1] + pads[3] - kernel[1]) / stride[1] + 1;
            assert_eq!(got.shape, vec![1, co, oh, ow]);
            for o in 0..co {
                let g = o / (co / group);
                for y in 0..oh {
                    for x in 0..ow {
                        let mut sum = bias[o] as f64;
                        for i in 0..per {
                            let ch = g * per + i;
                            for ky in 0..kernel[0] {
                                for kx in 0..kernel[1] {
                                    let iy = (y * stride[0] + ky) as i64 - pads[0] as i64;
                                    let ix = (x * stride[1] + kx) as i64 - pads[1] as i64;
                                    if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                        continue;
                                    }
                                    let v = input[(ch * h + iy as usize) * w + ix as usize] as f64;
                                    let k = weights
                                        [((o * per + i) * kernel[0] + ky) * kernel[1] + kx]
                                        as f64;
                                    sum += v * k;
                                }
                            }
                        }
                        let got = got.data[(o * oh + y) * ow + x] as f64;
                        assert!((got - sum).abs() < 1e-4, "case {ci}->{co} g{group} {kernel:?} s{stride:?} {pads:?} at {o},{y},{x}: {got} vs {sum}");
                    }
                }
            }
        }
    }

    #[test]
    fn shapes_move_as_onnx_says() {
        let x = Tensor::new(vec![1, 2, 3, 4], (0..24).map(|v| v as f32).collect());
        let t = transpose(&x, &[0, 2, 3, 1]).unwrap();
        assert_eq!(t.shape, vec![1, 3, 4, 2]);
        // t[0, y, x, c] = x[0, c, y, x], here at y 1, x 2, c 1.
        let (y, col, c) = (1, 2, 1);
        assert_eq!(t.data[(y * 4 + col) * 2 + c], x.data[(c * 3 + y) * 4 + col]);
        assert_eq!(reshape(&[1, 2, 3, 4], &[1, -1]).unwrap(), vec![1, 24]);
        assert_eq!(reshape(&[1, 2, 3, 4], &[0, 0, 12]).unwrap(), vec![1, 2, 12]);
        assert!(reshape(&[1, 2, 3, 4], &[5, -1]).is_err());
        let p = pad(&x, &[0, 1, 0, 0, 0, 2, 0, 0]).unwrap();
        assert_eq!(p.shape, vec![1, 5, 3, 4]);
        assert_eq!(&p.data[..12], &[0.0; 12]);
        assert_eq!(p.data[12..14], x.data[0..2]);
        let m = max_pool(&x, [3, 3], [2, 2], [1, 1, 1, 1]).unwrap();
        assert_eq!(m.shape, vec![1, 2, 2, 2]);
        assert_eq!(m.data[0], 5.0); // max of rows 0-1, columns 0-1 of channel 0
    }

    #[test]
    fn an_unsupported_model_is_refused_when_it_loads() {
        assert!(Net::from_onnx(b"not a model").is_err());
    }
}
