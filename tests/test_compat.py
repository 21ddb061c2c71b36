"""lrn_fast.compat against the real frameworks (where they install from PyPI) and against
each framework's formula (docs/frameworks.md) computed by lrn_fast.reference (float64,
direct sums).  Each framework's conformance tests skip when it is not installed; the
formula tests always run.  float32 results must agree within 1e-5."""
import os
import subprocess
import sys

import numpy as np
import pytest

import lrn_fast
from lrn_fast import compat
from lrn_fast import reference as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FWD = dict(rtol=1e-5, atol=1e-5)      # float32 against a framework or the reference
SEEDS = range(8)


def case(seed, ndim=4, odd=False, max_size=7):
    """A random input (float32) and LRN parameters; sizes include even ones unless odd."""
    rng = np.random.default_rng(seed)
    shape = [int(rng.integers(1, 4)), int(rng.integers(1, 13))]
    shape += [int(rng.integers(1, 9)) for _ in range(ndim - 2)]
    x = rng.standard_normal(shape).astype(np.float32) * np.float32(rng.uniform(0.5, 3))
    size = int(rng.integers(1, max_size + 1))
    if odd and size % 2 == 0:
        size += 1
    beta = float(rng.choice([0.75, 0.5, 1.0, rng.uniform(0.2, 1.3)]))
    return rng, x, size, float(rng.uniform(1e-3, 2.0)), beta, float(rng.uniform(0.5, 3.0))


def grad_of(rng, x):
    return rng.standard_normal(x.shape).astype(np.float32)


# Windows (before, after) of the conventions, for the reference
def torch_w(n):
    return n // 2, (n - 1) // 2


def onnx_w(n):
    return (n - 1) // 2, n // 2


def symdown_w(n):
    return (n - 1) // 2, (n - 1) // 2


# ---- PyTorch --------------------------------------------------------------------------
@pytest.mark.parametrize("ndim", [3, 4, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_torch_matches_pytorch(seed, ndim):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng, x, n, alpha, beta, k = case(seed, ndim)
    y = compat.torch(x, n, alpha, beta, k)
    np.testing.assert_allclose(y, F.local_response_norm(torch.from_numpy(x), n, alpha, beta, k),
                               **FWD)
    # backward: PyTorch's autograd in float64 is the oracle (even sizes: transposed window)
    g = grad_of(rng, x)
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_()
    F.local_response_norm(xt, n, alpha, beta, k).backward(torch.from_numpy(g.astype(np.float64)))
    np.testing.assert_allclose(compat.torch_backward(g, x, n, alpha, beta, k), xt.grad, **FWD)


@pytest.mark.parametrize("seed", SEEDS)
def test_torch_formula(seed):
    rng, x, n, alpha, beta, k = case(seed, 5)
    np.testing.assert_allclose(compat.torch(x, n, alpha, beta, k),
                               ref.lrn(x, n, alpha, beta, k, window=torch_w(n)), **FWD)
    g = grad_of(rng, x)
    np.testing.assert_allclose(compat.torch_backward(g, x, n, alpha, beta, k),
                               ref.lrn_backward(g, x, n, alpha, beta, k, window=torch_w(n)), **FWD)


# ---- TensorFlow -----------------------------------------------------------------------
def _tf_case(seed):
    rng, x, n, alpha, beta, k = case(seed, 4, odd=True, max_size=11)
    return rng, np.ascontiguousarray(np.moveaxis(x, 1, -1)), n // 2, alpha, beta, k


@pytest.mark.parametrize("seed", SEEDS)
def test_tensorflow_matches_tf(seed):
    tf = pytest.importorskip("tensorflow")
    rng, x, r, alpha, beta, bias = _tf_case(seed)
    y_tf = tf.nn.local_response_normalization(x, depth_radius=r, bias=bias, alpha=alpha,
                                              beta=beta).numpy()
    np.testing.assert_allclose(compat.tensorflow(x, r, bias, alpha, beta), y_tf, **FWD)
    g = grad_of(rng, x)
    dx_tf = tf.raw_ops.LRNGrad(input_grads=g, input_image=x, output_image=y_tf,
                               depth_radius=r, bias=bias, alpha=alpha, beta=beta).numpy()
    np.testing.assert_allclose(compat.tensorflow_grad(g, x, y_tf, r, bias, alpha, beta),
                               dx_tf, **FWD)


def test_tensorflow_defaults_and_gradient_tape():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 5, 4, 13)).astype(np.float32)
    g = grad_of(rng, x)
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.nn.local_response_normalization(xv)            # TF's defaults
    dx = tape.gradient(y, xv, output_gradients=tf.constant(g)).numpy()
    np.testing.assert_allclose(compat.tensorflow(x), y.numpy(), **FWD)
    np.testing.assert_allclose(compat.tensorflow_grad(g, x), dx, **FWD)


@pytest.mark.parametrize("seed", SEEDS)
def test_tensorflow_formula(seed):
    rng, x, r, alpha, beta, bias = _tf_case(seed)
    n = 2 * r + 1     # alpha is not divided: lrn's divisor n is undone by alpha * n
    np.testing.assert_allclose(compat.tensorflow(x, r, bias, alpha, beta),
                               ref.lrn(x, n, alpha * n, beta, bias, axis=-1), **FWD)
    g = grad_of(rng, x)
    np.testing.assert_allclose(compat.tensorflow_grad(g, x, None, r, bias, alpha, beta),
                               ref.lrn_backward(g, x, n, alpha * n, beta, bias, axis=-1), **FWD)


def test_tensorflow_nan_stays_in_its_windows():
    # TensorFlow's band-matrix product spreads one NaN over the whole pixel, so the
    # formula is the oracle here: only outputs whose window holds the NaN are NaN.
    x = np.random.default_rng(3).standard_normal((1, 2, 2, 12)).astype(np.float32)
    x[0, 1, 0, 6] = np.nan
    y = compat.tensorflow(x, 2, 1.0, 0.1, 0.75)
    np.testing.assert_allclose(y, ref.lrn(x, 5, 0.5, 0.75, 1.0, axis=-1), equal_nan=True, **FWD)
    assert np.isnan(y[0, 1, 0]).sum() == 5 and np.isfinite(y[0, 0]).all()


# ---- ONNX -----------------------------------------------------------------------------
def _ort_lrn(x, size, alpha, beta, bias):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper
    io = [helper.make_tensor_value_info(v, TensorProto.FLOAT, list(x.shape)) for v in "xy"]
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=alpha, beta=beta, bias=bias)
    model = helper.make_model(helper.make_graph([node], "lrn", io[:1], io[1:]),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_onnx_matches_onnxruntime(seed):
    # ONNX Runtime's CPU kernel takes 4-D input and odd sizes only
    rng, x, n, alpha, beta, bias = case(seed, 4, odd=True)
    np.testing.assert_allclose(compat.onnx(x, n, alpha, beta, bias),
                               _ort_lrn(x, n, alpha, beta, bias), **FWD)


@pytest.mark.parametrize("ndim", [3, 4, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_onnx_formula(seed, ndim):
    # even sizes and other ranks: the specification's window, [c - (n-1)//2, c + n//2]
    # (ONNX Runtime rejects them; onnx.reference's LRN sums over the wrong axis, onnx#7805)
    rng, x, n, alpha, beta, bias = case(seed, ndim)
    np.testing.assert_allclose(compat.onnx(x, n, alpha, beta, bias),
                               ref.lrn(x, n, alpha, beta, bias, window=onnx_w(n)), **FWD)
    g = grad_of(rng, x)
    np.testing.assert_allclose(compat.onnx_backward(g, x, n, alpha, beta, bias),
                               ref.lrn_backward(g, x, n, alpha, beta, bias, window=onnx_w(n)),
                               **FWD)


def test_onnx_after_large_values_matches_formula():
    # ONNX Runtime's running sum drifts here (inf and -1000 where the answer is ~77):
    # the formula is the oracle.
    x = np.full((1, 12, 1, 1), 1e-3, np.float32)
    x[0, :2, 0, 0] = [3e3, -3e3]
    y = compat.onnx(x, 3, 1e-4, 0.75, 1.0)
    np.testing.assert_allclose(y, ref.lrn(x, 3, 1e-4, 0.75, 1.0, window=onnx_w(3)), **FWD)


# ---- OpenVINO -------------------------------------------------------------------------
def _ov_lrn(x, axes, alpha, beta, bias, size):
    ov = pytest.importorskip("openvino")
    ops = pytest.importorskip("openvino.opset13")
    p = ops.parameter(x.shape, ov.Type.f32)
    node = ops.lrn(p, ops.constant(np.array(axes, np.int64)), alpha, beta, bias, size)
    return ov.Core().compile_model(ov.Model([node], [p]), "CPU")(x)[0]


@pytest.mark.parametrize("within", [False, True])
@pytest.mark.parametrize("ndim", [3, 4, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_openvino_matches_openvino(seed, ndim, within):
    rng, x, n, alpha, beta, _ = case(seed, ndim)
    # OpenVINO 2026.4's CPU plugin rounds a non-integer bias down to an integer (1.5 acts
    # as 1.0); test_openvino_formula covers non-integer biases against the formula.
    bias = float(rng.integers(1, 4))
    axes = list(range(2, ndim)) if within else [1]
    np.testing.assert_allclose(compat.openvino(x, axes, alpha, beta, bias, n),
                               _ov_lrn(x, axes, alpha, beta, bias, n), **FWD)


@pytest.mark.parametrize("ndim", [2, 3, 4, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_openvino_formula(seed, ndim):
    # oneDNN's window [c - (n-1)//2, c + (n-1)//2] (3 taps for n = 4), divisor
    # size**len(axes)
    rng, x, n, alpha, beta, bias = case(seed, ndim)
    g = grad_of(rng, x)
    regions = [([1], "across")] + ([(list(range(2, ndim)), "within")] if ndim > 2 else [])
    for axes, region in regions:
        w = dict(window=symdown_w(n), region=region)
        np.testing.assert_allclose(compat.openvino(x, axes, alpha, beta, bias, n),
                                   ref.lrn(x, n, alpha, beta, bias, **w), **FWD)
        np.testing.assert_allclose(compat.openvino_backward(g, x, axes, alpha, beta, bias, n),
                                   ref.lrn_backward(g, x, n, alpha, beta, bias, **w), **FWD)


def test_openvino_axes():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(compat.openvino(x, [-1, 2], 0.5, 0.75, 1.0, 4),
                               compat.openvino(x, [2, 3], 0.5, 0.75, 1.0, 4))
    np.testing.assert_allclose(compat.openvino(x, [3], 0.5, 0.75, 1.0, 3),
                               ref.lrn(x, 3, 0.5, 0.75, 1.0, axis=3), **FWD)
    for axes in ([1, 2], [0, 2, 3], [1, 2, 3]):
        with pytest.raises(NotImplementedError, match="axes"):
            compat.openvino(x, axes, 0.5, 0.75, 1.0, 3)
    with pytest.raises(ValueError, match="distinct"):
        compat.openvino(x, [1, -3], 0.5, 0.75, 1.0, 3)


# ---- Caffe (not on PyPI): the formula; odd across sizes are PyTorch's ------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_caffe_formula(seed):
    rng, x, n, alpha, beta, k = case(seed, 4, odd=True)
    g = grad_of(rng, x)
    np.testing.assert_allclose(compat.caffe(x, n, alpha, beta, k),
                               ref.lrn(x, n, alpha, beta, k), **FWD)
    np.testing.assert_allclose(compat.caffe_backward(g, x, n, alpha, beta, k),
                               ref.lrn_backward(g, x, n, alpha, beta, k), **FWD)
    # WITHIN_CHANNEL: (1 + alpha/n^2 * sum over the n x n square)^-beta; k is ignored
    p = dict(local_size=n, alpha=alpha, beta=beta, k=k, norm_region="WITHIN_CHANNEL")
    np.testing.assert_allclose(compat.caffe(x, **p),
                               ref.lrn(x, n, alpha, beta, 1.0, region="within"), **FWD)
    np.testing.assert_allclose(compat.caffe_backward(g, x, **p),
                               ref.lrn_backward(g, x, n, alpha, beta, 1.0, region="within"),
                               **FWD)


def test_caffe_within_divides_by_n_squared_at_the_edges():
    # a 1x1 image of ones, n = 3: Caffe's average pooling counts the padding: 1 + 2/9 * 1
    y = compat.caffe(np.ones((1, 1, 1, 1)), 3, 2.0, 1.0, 5.0, "WITHIN_CHANNEL")
    np.testing.assert_allclose(y, 1 / (1 + 2 / 9))


def test_caffe_rejects_even_sizes_and_other_layouts():
    x = np.ones((1, 4, 3, 3), np.float32)
    with pytest.raises(ValueError, match="odd values for local_size"):
        compat.caffe(x, 4)
    with pytest.raises(ValueError, match="NCHW"):
        compat.caffe(x[0])
    with pytest.raises(ValueError, match="norm_region"):
        compat.caffe(x, norm_region="across")


# ---- MXNet: the formula (mxnet 1.9.1, the last release, installs but fails to import
# with NumPy 2: "np.PZERO was removed"), so there is no conformance test ------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_mxnet_formula(seed):
    rng, x, n, alpha, beta, k = case(seed, 4, odd=True)
    g = grad_of(rng, x)
    np.testing.assert_allclose(compat.mxnet(x, n, alpha, beta, k),
                               ref.lrn(x, n, alpha, beta, k), **FWD)
    np.testing.assert_allclose(compat.mxnet_backward(g, x, n, alpha, beta, k),
                               ref.lrn_backward(g, x, n, alpha, beta, k), **FWD)
    np.testing.assert_allclose(compat.mxnet(x, n), ref.lrn(x, n, 1e-4, 0.75, 2.0), **FWD)
    with pytest.raises(ValueError, match="odd values for nsize"):
        compat.mxnet(x, 2)


# ---- ncnn -----------------------------------------------------------------------------
def _ncnn_lrn(x, region_type, n, alpha, beta, bias):
    """ncnn's LRN layer run directly on one CHW image (its Python bindings)."""
    ncnn = pytest.importorskip("ncnn")
    layer = ncnn.create_layer("LRN")
    pd = ncnn.ParamDict()
    for i, v in enumerate((region_type, n, alpha, beta, bias)):
        pd.set(i, v)
    layer.load_param(pd)
    opt = ncnn.Option()
    opt.num_threads = 1
    layer.create_pipeline(opt)
    data = np.array(x, np.float32)   # a copy, kept alive: the Mat wraps it and works in place
    m = ncnn.Mat(data)
    assert layer.forward_inplace(m, opt) == 0
    return np.array(m).reshape(x.shape)


@pytest.mark.parametrize("region_type", [0, 1])
@pytest.mark.parametrize("seed", SEEDS)
def test_ncnn_matches_ncnn(seed, region_type):
    rng, x, n, alpha, beta, bias = case(seed, 4)
    theirs = np.stack([_ncnn_lrn(img, region_type, n, alpha, beta, bias) for img in x])
    np.testing.assert_allclose(compat.ncnn(x, region_type, n, alpha, beta, bias), theirs, **FWD)
    np.testing.assert_allclose(compat.ncnn(x[0], region_type, n, alpha, beta, bias), theirs[0],
                               **FWD)


@pytest.mark.parametrize("seed", SEEDS)
def test_ncnn_formula(seed):
    # ncnn 1.0.20261020 (PyPI) sums [c - n//2, c + (n-1)//2] across (older ncnn sources
    # read [c - n//2, c + n//2]); within: the same offsets on H and W, divisor n^2, bias used
    rng, x, n, alpha, beta, bias = case(seed, 4)
    g = grad_of(rng, x)
    for rt, region in ((0, "across"), (1, "within")):
        w = dict(window=torch_w(n), region=region)
        np.testing.assert_allclose(compat.ncnn(x, rt, n, alpha, beta, bias),
                                   ref.lrn(x, n, alpha, beta, bias, **w), **FWD)
        np.testing.assert_allclose(compat.ncnn_backward(g, x, rt, n, alpha, beta, bias),
                                   ref.lrn_backward(g, x, n, alpha, beta, bias, **w), **FWD)
        np.testing.assert_allclose(compat.ncnn_backward(g[0], x[0], rt, n, alpha, beta, bias),
                                   ref.lrn_backward(g, x, n, alpha, beta, bias, **w)[0], **FWD)


# ---- common keywords ------------------------------------------------------------------
def test_out_and_num_threads_pass_through():
    x = np.random.default_rng(1).standard_normal((2, 6, 3, 3)).astype(np.float32)
    out = np.empty_like(x)
    assert compat.onnx(x, 4, out=out, num_threads=1) is out
    np.testing.assert_allclose(out, ref.lrn(x, 4, window=onnx_w(4)), **FWD)
    out3 = np.empty_like(x[0])
    assert compat.ncnn(x[0], 1, 3, out=out3) is out3
    np.testing.assert_allclose(out3, ref.lrn(x[:1], 3, 1.0, region="within")[0], **FWD)


def test_import_lrn_fast_imports_no_framework():
    code = ("import sys, numpy as np, lrn_fast, lrn_fast.compat, lrn_fast.reference; "
            "lrn_fast.compat.onnx(np.ones((1, 3, 2)), 2); "
            "bad = {'torch', 'dask', 'tensorflow', 'onnx', 'onnxruntime', 'openvino', 'ncnn'}; "
            "assert not bad & set(sys.modules), bad & set(sys.modules)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    # run where the lrn_fast under test lives: python -c puts the working directory
    # first on sys.path, and a source checkout has no compiled extension
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(lrn_fast.__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=pkg_root)


def test_layout_checks():
    x = np.ones((2, 3, 4), np.float32)
    for call in (lambda: compat.tensorflow(x), lambda: compat.mxnet(x, 3),
                 lambda: compat.torch(x[0], 3), lambda: compat.onnx(x[0], 3),
                 lambda: compat.ncnn(x[0])):
        with pytest.raises(ValueError, match="input"):
            call()
    with pytest.raises(ValueError, match="region_type"):
        compat.ncnn(x, 2)
    with pytest.raises(ValueError, match="depth_radius"):
        compat.tensorflow(np.ones((1, 1, 1, 3)), -1)
