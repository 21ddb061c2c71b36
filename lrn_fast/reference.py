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


def _window_sum(v, axes, before, after, centre=True):
    """Sum of v over [i - before, i + after] along every axis in axes (zero padded),
    summing the shifted copies directly; without i itself if not centre."""
    if not centre and len(axes) > 1:
        # every offset of the window but (0, ..., 0), one shifted copy each (the
        # offsets past an axis's length reach only zeros)
        pad = [(0, 0)] * v.ndim
        for ax in axes:
            pad[ax] = (min(before, v.shape[ax] - 1), min(after, v.shape[ax] - 1))
        p = np.pad(v, pad)
        acc = np.zeros_like(v)
        for offs in itertools.product(*[range(-pad[ax][0], pad[ax][1] + 1) for ax in axes]):
            if any(offs):
                src = [slice(None)] * v.ndim
                for ax, off in zip(axes, offs):
                    start = pad[ax][0] + off
                    src[ax] = slice(start, start + v.shape[ax])
                acc += p[tuple(src)]
        return acc
    out = v
    for ax in axes:
        n = v.shape[ax]
        acc = np.zeros_like(out)
        for off in range(max(-before, 1 - n), min(after, n - 1) + 1):
            if off == 0 and not centre:
                continue
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
    dx = g s^-beta - 2 alpha beta / D * x * sum_{j : i in W(j)} g_j y_j / s_j.

    i's own term is taken apart (as lrn_fast does): with Q the window's other
    squares and a = alpha / D,
    dx_i = g_i t_i (k / s_i + (Q_i + (1 - 2 beta) x_i^2) a / s_i)
           - 2 beta x_i sum_{j : i in W(j), j != i} g_j t_j x_j a / s_j.
    The same value where everything is finite; where a term is infinite the two
    forms give inf or NaN in different places (g_i = inf: inf here, inf - inf =
    NaN in the other).  An infinite Q_i (a neighbour's square) counts as the
    largest float, so that i's own term is g_i * 0, as t_i = 0 makes it."""
    x, axes, before, after, divisor = _setup(x, axis, region, size, window)
    g = np.asarray(grad_y, dtype=np.float64)
    if beta == 0:
        return g.copy()
    a = alpha / divisor
    sq = x * x
    q = _window_sum(sq, axes, before, after, centre=False)
    with np.errstate(all="ignore"):
        s = k + a * (q + sq)
        t = s ** -beta
        inv = 1.0 / s
        w = np.minimum(q, np.finfo(np.float64).max) + (1.0 - 2.0 * beta) * sq
        gt = g * t
        r = gt * (x * (a * inv))
        # the transposed window: j in [i - after, i + before]
        back = _window_sum(r, axes, after, before, centre=False)
        return gt * (k * inv + w * (a * inv)) - 2.0 * beta * x * back


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
