"""LRN with the names, defaults, layouts and windows of other frameworks.

Each function computes what the named framework computes (see the table in
docs/frameworks.md), with that framework's parameter names and defaults, on
NumPy arrays, through lrn_fast.lrn; each has a ``*_backward(grad_y, x, ...)``
twin that returns the exact dL/dx through lrn_fast.lrn_backward (TensorFlow's
keeps LRNGrad's argument order: ``tensorflow_grad(grad_y, x, y, ...)``).

Windows differ for even sizes (n = 4 shown):

* torch      [c - n//2, c + (n-1)//2]  [c-2, c+1]   PyTorch, ncnn (current PyPI wheels)
* onnx       [c - (n-1)//2, c + n//2]  [c-1, c+2]   the ONNX specification
* sym-down   [c - (n-1)//2, c + (n-1)//2]  [c-1, c+1]   OpenVINO (oneDNN)

lrn's ``window=(before, after)`` picks the taps while the divisor stays
``size`` (``size**d`` within); a framework whose divisor is something else
(TensorFlow divides by 1) is expressed by scaling alpha.  Every function takes
``out=`` and ``num_threads=`` keywords, passed on to lrn_fast.lrn.
"""
import operator

import numpy as np

from ._api import _int_arg, lrn, lrn_backward

__all__ = ["caffe", "caffe_backward", "tensorflow", "tensorflow_grad", "onnx", "onnx_backward",
           "torch", "torch_backward", "openvino", "openvino_backward", "mxnet",
           "mxnet_backward", "ncnn", "ncnn_backward"]


def _ndim(name, x, allowed, layout):
    x = np.asanyarray(x)
    if x.ndim not in allowed:
        raise ValueError(f"{name} LRN takes {layout} input, got shape {x.shape}")
    return x


def _min_ndim(name, x, minimum, layout):
    x = np.asanyarray(x)
    if x.ndim < minimum:
        raise ValueError(f"{name} LRN takes {layout} input (at least {minimum} dimensions), "
                         f"got shape {x.shape}")
    return x


def _odd(name, value):
    n = _int_arg(name, value, 1)
    if n % 2 != 1:
        raise ValueError(f"LRN only supports odd values for {name}, got {n}")
    return n


# ---- Caffe ---------------------------------------------------------------------------
_CAFFE_REGIONS = {"ACROSS_CHANNELS": "across", 0: "across", "WITHIN_CHANNEL": "within", 1: "within"}


def _caffe(local_size, alpha, beta, k, norm_region):
    n = _odd("local_size", local_size)
    region = _CAFFE_REGIONS.get(norm_region)
    if region is None:
        raise ValueError("norm_region must be 'ACROSS_CHANNELS' or 'WITHIN_CHANNEL', "
                         f"got {norm_region!r}")
    # WITHIN_CHANNEL is Caffe's pooling/power layers: (1 + alpha * avg)^-beta, the average
    # over local_size**2 cells with the padding counted (lrn's "within" divisor): k unused.
    return dict(size=n, alpha=alpha, beta=beta, k=k if region == "across" else 1.0,
                region=region)


def caffe(x, local_size=5, alpha=1.0, beta=0.75, k=1.0, norm_region="ACROSS_CHANNELS", *,
          out=None, num_threads=None):
    """Caffe's LRN layer on NCHW input.

    ACROSS_CHANNELS: k + alpha/n * sum over n channels.  WITHIN_CHANNEL: 1 + alpha/n**2 *
    sum over an n x n square (the divisor is n**2 at the edges too and ``k`` is ignored,
    as in Caffe).  ``local_size`` must be odd.
    """
    x = _ndim("Caffe", x, (4,), "NCHW (4-D)")
    p = _caffe(local_size, alpha, beta, k, norm_region)
    return lrn(x, **p, out=out, num_threads=num_threads)


def caffe_backward(grad_y, x, local_size=5, alpha=1.0, beta=0.75, k=1.0,
                   norm_region="ACROSS_CHANNELS", *, out=None, num_threads=None):
    """dL/dx of caffe()."""
    x = _ndim("Caffe", x, (4,), "NCHW (4-D)")
    p = _caffe(local_size, alpha, beta, k, norm_region)
    return lrn_backward(grad_y, x, **p, out=out, num_threads=num_threads)


# ---- TensorFlow ----------------------------------------------------------------------
def _tf(depth_radius, alpha):
    r = _int_arg("depth_radius", depth_radius, 0)
    n = 2 * r + 1
    return dict(size=n, alpha=alpha * n, axis=-1)   # TensorFlow does not divide alpha


def tensorflow(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, *, out=None,
               num_threads=None):
    """tf.nn.local_response_normalization on NHWC input:
    bias + alpha * sum over channels [c - r, c + r] (alpha is not divided by 2r + 1)."""
    x = _ndim("TensorFlow", x, (4,), "NHWC (4-D)")
    return lrn(x, beta=beta, k=bias, **_tf(depth_radius, alpha), out=out,
               num_threads=num_threads)


def tensorflow_grad(grad_y, x, y=None, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, *,
                    out=None, num_threads=None):
    """tf.raw_ops.LRNGrad(input_grads, input_image, output_image, ...): dL/dx.

    ``y`` (output_image) is accepted for the argument order and not used: the gradient
    is computed from x alone (TensorFlow uses y, which gives the same result when
    y = tensorflow(x, ...))."""
    x = _ndim("TensorFlow", x, (4,), "NHWC (4-D)")
    return lrn_backward(grad_y, x, beta=beta, k=bias, **_tf(depth_radius, alpha), out=out,
                        num_threads=num_threads)


# ---- ONNX ----------------------------------------------------------------------------
def _onnx_window(size):
    n = _int_arg("size", size, 1)
    return (n - 1) // 2, n // 2


def onnx(x, size, alpha=1e-4, beta=0.75, bias=1.0, *, out=None, num_threads=None):
    """The ONNX LRN operator on (N, C, D1, ..., Dk) input: bias + alpha/size * sum over
    channels [c - (size-1)//2, c + size//2] (the specification's window for even sizes;
    ONNX Runtime's CPU kernel takes odd sizes and 4-D input only)."""
    x = _min_ndim("ONNX", x, 3, "(N, C, D1, ..., Dk)")
    return lrn(x, size, alpha, beta, bias, window=_onnx_window(size), out=out,
               num_threads=num_threads)


def onnx_backward(grad_y, x, size, alpha=1e-4, beta=0.75, bias=1.0, *, out=None,
                  num_threads=None):
    """dL/dx of onnx() (ONNX itself defines no gradient for LRN)."""
    x = _min_ndim("ONNX", x, 3, "(N, C, D1, ..., Dk)")
    return lrn_backward(grad_y, x, size, alpha, beta, bias, window=_onnx_window(size),
                        out=out, num_threads=num_threads)


# ---- PyTorch -------------------------------------------------------------------------
def torch(x, size, alpha=1e-4, beta=0.75, k=1.0, *, out=None, num_threads=None):
    """torch.nn.functional.local_response_norm on (N, C, ...) input (at least 3-D):
    k + alpha/size * sum over channels [c - size//2, c + (size-1)//2].
    (For torch tensors and autograd use lrn_fast.torch.)"""
    x = _min_ndim("PyTorch", x, 3, "(N, C, *)")
    return lrn(x, size, alpha, beta, k, out=out, num_threads=num_threads)


def torch_backward(grad_y, x, size, alpha=1e-4, beta=0.75, k=1.0, *, out=None,
                   num_threads=None):
    """dL/dx of torch()."""
    x = _min_ndim("PyTorch", x, 3, "(N, C, *)")
    return lrn_backward(grad_y, x, size, alpha, beta, k, out=out, num_threads=num_threads)


# ---- OpenVINO ------------------------------------------------------------------------
def _openvino(x, axes, size):
    try:
        axes = [operator.index(a) for a in np.atleast_1d(axes).tolist()]
    except TypeError:
        raise TypeError(f"axes must be a sequence of integers, got {axes!r}") from None
    ax = sorted({a % x.ndim if -x.ndim <= a < x.ndim else a for a in axes})
    if len(ax) != len(axes) or not all(0 <= a < x.ndim for a in ax):
        raise ValueError(f"axes={axes} are not distinct axes of a {x.ndim}-D input")
    n = _int_arg("size", size, 1)
    window = (n - 1) // 2, (n - 1) // 2                       # oneDNN's: 3 taps for n = 4
    if len(ax) == 1:
        return dict(axis=ax[0], window=window)                  # divisor size
    if x.ndim >= 3 and ax == list(range(2, x.ndim)):
        return dict(region="within", window=window)             # divisor size**len(axes)
    raise NotImplementedError(
        f"openvino(): axes={axes} on a {x.ndim}-D input is not supported; use one axis "
        f"([1]: across channels) or all the spatial axes {list(range(2, x.ndim))} (within "
        "channel), the two cases OpenVINO's CPU plugin runs")


def openvino(x, axes, alpha, beta, bias, size, *, out=None, num_threads=None):
    """OpenVINO's LRN (opset 1): bias + alpha / size**len(axes) * sum over
    [i - (size-1)//2, i + (size-1)//2] along every axis in ``axes`` (oneDNN's window:
    3 taps for size 4).  ``axes=[1]``: across channels; ``axes`` = all the spatial axes:
    within channel; any single axis works too."""
    x = np.asanyarray(x)
    return lrn(x, size, alpha, beta, bias, **_openvino(x, axes, size), out=out,
               num_threads=num_threads)


def openvino_backward(grad_y, x, axes, alpha, beta, bias, size, *, out=None, num_threads=None):
    """dL/dx of openvino() (OpenVINO itself has no LRN gradient)."""
    x = np.asanyarray(x)
    return lrn_backward(grad_y, x, size, alpha, beta, bias, **_openvino(x, axes, size),
                        out=out, num_threads=num_threads)


# ---- MXNet ---------------------------------------------------------------------------
def mxnet(x, nsize, alpha=1e-4, beta=0.75, knorm=2.0, *, out=None, num_threads=None):
    """mxnet.nd.LRN on NCHW input: knorm + alpha/nsize * sum over nsize channels
    (note knorm's default of 2); nsize must be odd."""
    x = _ndim("MXNet", x, (4,), "NCHW (4-D)")
    return lrn(x, _odd("nsize", nsize), alpha, beta, knorm, out=out, num_threads=num_threads)


def mxnet_backward(grad_y, x, nsize, alpha=1e-4, beta=0.75, knorm=2.0, *, out=None,
                   num_threads=None):
    """dL/dx of mxnet()."""
    x = _ndim("MXNet", x, (4,), "NCHW (4-D)")
    return lrn_backward(grad_y, x, _odd("nsize", nsize), alpha, beta, knorm, out=out,
                        num_threads=num_threads)


# ---- ncnn ----------------------------------------------------------------------------
def _ncnn(func, arrays, region_type, local_size, alpha, beta, bias, out, num_threads):
    if region_type not in (0, 1):
        raise ValueError("region_type must be 0 (across channels) or 1 (within channel), "
                         f"got {region_type!r}")
    arrays = [np.asanyarray(a) for a in arrays]
    x = _ndim("ncnn", arrays[-1], (3, 4), "CHW (3-D) or NCHW (4-D)")
    # ncnn (the current PyPI wheels) sums channels [c - n//2, c + (n-1)//2] across and an
    # n x n square with the same offsets within (divisor n**2, bias used): lrn's defaults.
    region = "across" if region_type == 0 else "within"
    if x.ndim == 4:
        return func(*arrays, local_size, alpha, beta, bias, region=region, out=out,
                    num_threads=num_threads)
    # one CHW image: a batch of one, viewed without copying
    arrays = [a[None] if a.ndim == 3 else a for a in arrays]
    o = out[None] if isinstance(out, np.ndarray) and out.ndim == 3 else out
    r = func(*arrays, local_size, alpha, beta, bias, region=region, out=o,
             num_threads=num_threads)
    return r[0] if out is None else out


def ncnn(x, region_type=0, local_size=5, alpha=1.0, beta=0.75, bias=1.0, *, out=None,
         num_threads=None):
    """ncnn's LRN layer on CHW (one image) or NCHW input: bias + alpha/n * sum over
    channels [c - n//2, c + (n-1)//2] (region_type 0), or bias + alpha/n**2 * sum over an
    n x n square with the same offsets along H and W (region_type 1)."""
    return _ncnn(lrn, [x], region_type, local_size, alpha, beta, bias, out, num_threads)


def ncnn_backward(grad_y, x, region_type=0, local_size=5, alpha=1.0, beta=0.75, bias=1.0, *,
                  out=None, num_threads=None):
    """dL/dx of ncnn() (ncnn itself has no backward)."""
    return _ncnn(lrn_backward, [grad_y, x], region_type, local_size, alpha, beta, bias, out,
                 num_threads)
