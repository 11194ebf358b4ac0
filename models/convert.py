#!/usr/bin/env python3
"""Converts MediaPipe's face mesh, iris and selfie-segmentation TFLite models to the ONNX files in this folder.

A one-off tool: photocheck itself never runs Python. Set-up, in a venv outside the repository (about 1.7 GB):

    python3.11 -m venv /tmp/venv-models
    /tmp/venv-models/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 onnxruntime==1.32.0
    /tmp/venv-models/bin/python models/convert.py [WHEEL] [--out DIR] [--bench]

WHEEL is mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl; without it the script fetches it with
`pip download`. Later mediapipe wheels no longer ship the .tflite files. Output names are canonicalised, so
with the versions above the .onnx bytes (and their SHA-256 in README.md) come out the same on every run.

Each converted model is checked against tf.lite.Interpreter on four inputs (fails above MAX_DIFF), and its
onnxruntime outputs for the reference input (see reference_input) go to DIR/reference/ for the Rust tests.
"""
import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
from onnx import helper, numpy_helper

WHEEL = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
MODELS = [  # name, path inside the wheel, ONNX opset
    ("face_landmark", "mediapipe/modules/face_landmark/face_landmark.tflite", 13),
    ("iris_landmark", "mediapipe/modules/iris_landmark/iris_landmark.tflite", 13),
    # 17 rather than 13: HardSwish needs opset 14.
    ("selfie_segmentation", "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite", 17),
]
MAX_DIFF = 1e-3
FACE_MODELS_SECTION = "<!-- convert_face_models.py: begin -->"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def reference_input(h, w):
    """input[0][row][col][ch] = ((col*3 + row*5 + ch*7) % 256) / 255. An integer divided once is correctly rounded
    to f32 both here and in Rust, so the tests regenerate the exact bits."""
    row, col, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return (((col * 3 + row * 5 + ch * 7) % 256) / 255.0).astype(np.float32)[None]


def face_like_input(h, w):
    """A smooth, roughly face-shaped picture: skin ellipse, dark eyes and mouth, on a grey gradient."""
    v, u = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = np.stack([0.5 + 0.2 * u, 0.5 + 0.1 * v, 0.55 * np.ones_like(u)], -1)
    face = ((u - 0.5) / 0.3) ** 2 + ((v - 0.5) / 0.4) ** 2 < 1
    img[face] = (0.85, 0.65, 0.55)
    for cx, cy, rx, ry in ((0.38, 0.42, 0.06, 0.03), (0.62, 0.42, 0.06, 0.03), (0.5, 0.7, 0.1, 0.03)):
        img[((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 < 1] = (0.2, 0.1, 0.1)
    return img.astype(np.float32)[None]


def fetch_wheel(dest):
    subprocess.run([sys.executable, "-m", "pip", "download", "mediapipe==0.10.21", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", dest], check=True)
    return os.path.join(dest, WHEEL)


def tflite_custom_options(path, code):
    """Raw custom options of the first op named `code` in a .tflite file (tf2onnx ships a flatbuffer reader)."""
    from tf2onnx.tflite.Model import Model
    m = Model.GetRootAsModel(open(path, "rb").read(), 0)
    g = m.Subgraphs(0)
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        if m.OperatorCodes(op.OpcodeIndex()).CustomCode() == code.encode():
            return op.CustomOptionsAsNumpy().tobytes()
    raise ValueError(f"{code} not in {path}")


def replace_transpose_conv_bias(model, tflite_path):
    """MediaPipe's custom op Convolution2DTransposeBias is TFLite's TRANSPOSE_CONV plus a bias; tf2onnx leaves it
    as an unknown node, NHWC in and out, weights OHWI. Rewrite it as Transpose, ConvTranspose, Transpose."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    for n in [n for n in g.node if n.op_type == "TFL_Convolution2DTransposeBias"]:
        # The options are TfLiteTransposeConvParams: padding (1 = SAME, 2 = VALID), stride_w, stride_h.
        _, sw, sh = struct.unpack("<3i", tflite_custom_options(tflite_path, "Convolution2DTransposeBias"))
        x, w, b = n.input
        kernel = numpy_helper.to_array(inits[w])
        _, kh, kw, _ = kernel.shape
        # With kernel == stride, SAME and VALID both mean no padding and output = input * stride.
        assert (kh, kw) == (sh, sw), "only kernel == stride is handled"
        inits[w].CopyFrom(numpy_helper.from_array(kernel.transpose(3, 0, 1, 2), w))  # ONNX wants (C_in, C_out, kH, kW)
        new = [helper.make_node("Transpose", [x], [n.name + "_nchw"], perm=[0, 3, 1, 2]),
               helper.make_node("ConvTranspose", [n.name + "_nchw", w, b], [n.name + "_conv"],
                                kernel_shape=[kh, kw], strides=[sh, sw], pads=[0, 0, 0, 0]),
               helper.make_node("Transpose", [n.name + "_conv"], list(n.output), perm=[0, 2, 3, 1])]
        k = list(g.node).index(n)
        g.node.remove(n)
        for j, m in enumerate(new):
            g.node.insert(k + j, m)
    return model


def drop_identity_reshapes(model):
    """tf2onnx's optimiser leaves some Reshapes to the shape their input already has, and how many varies from
    run to run (in selfie_segmentation); drop them all so that every run gives the same graph."""
    g = model.graph
    shapes = {v.name: dims(v) for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    consts = {t.name: numpy_helper.to_array(t).tolist() for t in g.initializer}
    for n in [n for n in g.node if n.op_type == "Reshape"]:
        if shapes.get(n.input[0]) != consts.get(n.input[1]) or n.output[0] in {o.name for o in g.output}:
            continue
        for m in g.node:
            m.input[:] = [n.input[0] if x == n.output[0] else x for x in m.input]
        g.node.remove(n)
    return model


def canonicalise(model):
    """tf2onnx's generated names (and which of two merged identical constants or nodes keeps its name) vary from
    run to run; name every node by op and position, and every initializer by its first use."""
    g = model.graph  # initializers no node uses are dropped on the way
    keep = {v.name for v in list(g.input) + list(g.output)}
    inits = {t.name: t for t in g.initializer}
    ren, order = {}, []
    for k, n in enumerate(g.node):
        n.name = f"{n.op_type}_{k}"
        for i, x in enumerate(n.input):
            if x in inits and x not in ren:
                ren[x] = f"{n.name}/in{i}"
                order.append(x)
            n.input[i] = ren.get(x, x)
        for j, x in enumerate(n.output):
            if x and x not in keep:
                ren[x] = n.name if len(n.output) == 1 else f"{n.name}:{j}"
                n.output[j] = ren[x]
    del g.value_info[:]
    tensors = [inits[x] for x in order]
    for t in tensors:
        t.name = ren[t.name]
    del g.initializer[:]
    g.initializer.extend(tensors)
    # tf2onnx always declares the ai.onnx.ml domain; no node uses it, so don't ask runtimes to know it.
    used = {n.domain for n in g.node}
    for o in [o for o in model.opset_import if o.domain and o.domain not in used]:
        model.opset_import.remove(o)
    return model


def convert(tflite_path, opset, out_path, member):
    raw = tflite_path + ".onnx"
    r = subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", tflite_path, "--output", raw,
                        "--opset", str(opset)], capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stdout + r.stderr)
    model = canonicalise(drop_identity_reshapes(replace_transpose_conv_bias(onnx.load(raw), tflite_path)))
    os.remove(raw)
    assert all(onnx.defs.has(n.op_type, n.domain) for n in model.graph.node), "a non-standard op is left"
    model.doc_string = f"Converted from {member} in {WHEEL} (mediapipe 0.10.21, Apache-2.0) by models/convert.py"
    model.graph.doc_string = ""  # tf2onnx writes the temporary .tflite path here
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, out_path)


def dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value_info.type.tensor_type.shape.dim]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", nargs="?")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--bench", action="store_true", help="time onnxruntime, 1 thread, median of 50 runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, tmp)


def run(args, tmp):
    wheel = args.wheel or fetch_wheel(tmp)
    if sha256(wheel) != WHEEL_SHA256:
        sys.exit(f"{wheel}: SHA-256 {sha256(wheel)}, expected {WHEEL_SHA256}")
    ref_dir = os.path.join(args.out, "reference")
    os.makedirs(ref_dir, exist_ok=True)
    # Apache-2.0 asks that the licence travel with the derived .onnx files.
    with zipfile.ZipFile(wheel) as z, open(os.path.join(args.out, "LICENSE-mediapipe.txt"), "wb") as f:
        f.write(z.read("mediapipe-0.10.21.dist-info/LICENSE"))
    notes = []
    for name, member, opset in MODELS:
        tfl = os.path.join(tmp, name + ".tflite")
        with zipfile.ZipFile(wheel) as z, open(tfl, "wb") as f:
            f.write(z.read(member))
        out = os.path.join(args.out, name + ".onnx")
        convert(tfl, opset, out, member)
        model = onnx.load(out)
        (inp,) = model.graph.input
        shape = dims(inp)
        # The Rust side feeds one NHWC float32 image of a fixed size.
        assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT and shape[0] == 1 and shape[3] == 3
        assert all(isinstance(d, int) and d > 0 for o in model.graph.output for d in dims(o))
        print(f"\n{name}.onnx  {os.path.getsize(out)} bytes  sha256 {sha256(out)}  tflite sha256 {sha256(tfl)}")
        print(f"  input  {inp.name} {shape} float32 NHWC in [0,1]")
        for o in model.graph.output:
            print(f"  output {o.name} {dims(o)}")

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(out, opts, providers=["CPUExecutionProvider"])
        interp = tf.lite.Interpreter(model_path=tfl)
        interp.allocate_tensors()
        rng = np.random.default_rng(0)
        h, w = shape[1:3]
        inputs = {"random0": rng.random((1, h, w, 3), np.float32), "random1": rng.random((1, h, w, 3), np.float32),
                  "face-like": face_like_input(h, w), "reference": reference_input(h, w)}
        ref_diff = {}
        for label, x in inputs.items():
            interp.set_tensor(interp.get_input_details()[0]["index"], x)
            interp.invoke()
            want = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
            got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {inp.name: x})))
            for k, v in got.items():
                diff = float(np.abs(v - want[k].reshape(v.shape)).max())
                print(f"  {label:9} {k:32} max |onnx - tflite| = {diff:.2e}   range [{v.min():.3f}, {v.max():.3f}]")
                if label == "reference":
                    ref_diff[k] = diff
                if diff > MAX_DIFF:
                    sys.exit(f"{name}: output {k} differs from TFLite by {diff}")

        outs = sess.run(None, {inp.name: inputs["reference"]})
        for i, (o, v) in enumerate(zip(sess.get_outputs(), outs)):
            v.astype("<f4").tofile(os.path.join(ref_dir, f"{name}.output{i}.f32"))
            notes.append(f"| `{name}.output{i}.f32` | `{name}.onnx` | `{o.name}` | {list(v.shape)} "
                         f"| {ref_diff[o.name]:.1e} |")

        if args.bench:
            x = {inp.name: inputs["reference"]}
            for _ in range(5):
                sess.run(None, x)
            times = []
            for _ in range(50):
                t = time.perf_counter()
                sess.run(None, x)
                times.append(time.perf_counter() - t)
            print(f"  onnxruntime {ort.__version__}, 1 thread: median {np.median(times) * 1e3:.2f} ms of 50 runs")

    # Keep the section that convert_face_models.py appends for its models.
    readme = os.path.join(ref_dir, "README.md")
    old = open(readme).read() if os.path.exists(readme) else ""
    kept = "\n" + old[old.index(FACE_MODELS_SECTION):] if FACE_MODELS_SECTION in old else ""
    with open(readme, "w") as f:
        f.write("# Reference outputs\n\nWritten by `models/convert.py`: each model's onnxruntime outputs for one "
                "input that the tests regenerate, never a photo. For a model whose input is 1 x H x W x 3 (NHWC, "
                "float32), the input is\n\n"
                "    input[0][row][col][ch] = ((col*3 + row*5 + ch*7) % 256) as f32 / 255.0\n\n"
                "for row in 0..H, col in 0..W and ch in 0..3 (integer arithmetic, then one f32 division). The files "
                "hold raw little-endian f32 in row-major order. The last column is how far onnxruntime was from "
                "the original TFLite model on this input, a scale for the tests' tolerance.\n\n"
                "| file | model | output | shape | max abs diff vs TFLite |\n| --- | --- | --- | --- | --- |\n"
                + "\n".join(notes) + "\n" + kept)


if __name__ == "__main__":
    main()
