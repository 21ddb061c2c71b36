"""The slow, obviously correct twin of lrn_fast: float64 NumPy, direct sums.

Every window sum is computed directly from the values in the window (no
running sums), so this module is the oracle the tests compare against.  It is
importable by users: ``lrn_fast.reference.lrn(x, ...)`` has the same
semantics as ``lrn_fast.lrn`` and always computes (and returns) float64.
"""
import itertools

import numpy as np

__all__ = ["lrn", "lrn_backward", "default_window"]


def default_window(size):
    """Taps (before, after) of the PyTorch/Caffe window of a given size."""
    return size // 2, (size - 1) // 2


def _spatial_axes(ndim, axis):
    return [d for d in range(1, ndim) if d != axis]


def _window_sum(v, axes, before, after):
    """Sum of v over [i - before, i + after] along every axis in axes (zero padded),
    summing the shifted copies directly."""
    out = v
    for ax in axes:
        n = v.shape[ax]
        acc = np.zeros_like(out)
        for off in range(max(-before, 1 - n), min(after, n - 1) + 1):
            lo, hi = max(0, -off), min(n, n - off)   # positions i with i + off in range
            if lo >= hi:
                continue
            dst = [slice(None)] * v.ndim
            src = [slice(None)] * v.ndim
            dst[ax] = slice(lo, hi)
            src[ax] = slice(lo + off, hi + off)
            acc[tuple(dst)] += out[tuple(src)]
        out = acc
    return out


def _setup(x, axis, region, size, window):
    x = np.asarray(x, dtype=np.float64)
    axis = axis % x.ndim
    before, after = default_window(size) if window is None else window
    if region == "across":
        axes, divisor = [axis], size
    elif region == "within":
        axes = _spatial_axes(x.ndim, axis)
        divisor = size ** len(axes)
    else:
        raise ValueError(region)
    return x, axes, before, after, divisor


def lrn(x, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1, region="across", window=None):
    """y = x * (k + alpha/D * sum_{window} x^2) ** -beta, in float64."""
    x, axes, before, after, divisor = _setup(x, axis, region, size, window)
    if beta == 0:
        return x.copy()
    s = k + (alpha / divisor) * _window_sum(x * x, axes, before, after)
    with np.errstate(all="ignore"):
        return x * s ** -beta


def lrn_backward(grad_y, x, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1,
                 region="across", window=None):
    """dL/dx given dL/dy, the exact gradient, in float64:
    dx = g s^-beta - 2 alpha beta / D * x * sum_{j : i in W(j)} g_j y_j / s_j."""
    x, axes, before, after, divisor = _setup(x, axis, region, size, window)
    g = np.asarray(grad_y, dtype=np.float64)
    if beta == 0:
        return g.copy()
    s = k + (alpha / divisor) * _window_sum(x * x, axes, before, after)
    with np.errstate(all="ignore"):
        t = s ** -beta
        r = g * (x * t) / s
        # the transposed window: j in [i - after, i + before]
        back = _window_sum(r, axes, after, before)
        return g * t - (2.0 * alpha * beta / divisor) * x * back


def lrn_loop(x, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1, region="across", window=None):
    """The same as lrn with an explicit loop over every output element (tiny inputs only);
    a second, independent check of the vectorised reference."""
    x, axes, before, after, divisor = _setup(x, axis, region, size, window)
    y = np.empty_like(x)
    for idx in itertools.product(*map(range, x.shape)):
        total = 0.0
        ranges = [range(idx[a] - before, idx[a] + after + 1) for a in axes]
        for offs in itertools.product(*ranges):
            j = list(idx)
            for a, v in zip(axes, offs):
                j[a] = v
            if all(0 <= j[a] < x.shape[a] for a in axes):
                total += x[tuple(j)] ** 2
        y[idx] = x[idx] if beta == 0 else x[idx] * (k + alpha / divisor * total) ** -beta
    return y
