"""Shared helpers for the lrn_fast tests: random data, layouts and the
comparison against the float64 reference (lrn_fast.reference).

The helpers are plain functions (imported by the test modules with
``from conftest import ...``) so that hypothesis tests can use them too.
"""
import os
import subprocess
import sys

import numpy as np

import lrn_fast
from lrn_fast import reference

# Relative tolerances against the float64 reference, by result dtype.
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
F16_RTOL = 1e-3
# For the elementwise check of the forward: values below FLOOR * max|ref| count
# as tiny.  The backward is checked elementwise against the size of its terms.
FWD_FLOOR = 1e-6

DTYPES = [np.float32, np.float64, np.float16]
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(lrn_fast.__file__)))


def random(shape, dtype=np.float64, seed=0, scale=1.0):
    """Standard normal data (times scale) of the given dtype."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(dtype)


def as64(a):
    return np.asarray(a, dtype=np.float64)


def assert_close(got, ref, rtol, floor=FWD_FLOOR, mag=None):
    """got matches the float64 ref: non-finite values exactly (NaN where NaN, the
    same infinities); finite ones within rtol * max|ref| and elementwise within
    rtol * |ref| where |ref| > floor * max|ref|.  With mag (see backward_magnitude)
    the elementwise bound is rtol * mag everywhere and the overall one
    rtol * max(max|ref|, max mag)."""
    got, ref = as64(got), as64(ref)
    assert got.shape == ref.shape
    bad = ~np.isfinite(ref)
    np.testing.assert_array_equal(got[bad], ref[bad])   # NaN == NaN here
    fin = ~bad
    if not fin.any():
        return
    g, r = got[fin], ref[fin]
    assert np.isfinite(g).all(), "non-finite result where the reference is finite"
    scale = np.abs(r).max() if mag is None else max(np.abs(r).max(), np.asarray(mag)[fin].max())
    err = np.abs(g - r)
    worst = err.max()
    assert worst <= rtol * scale, (
        f"max error {worst:.3g} > {rtol:.0e} * max|ref| ({scale:.3g}) "
        f"at {np.argmax(err)} (got {g[np.argmax(err)]!r}, ref {r[np.argmax(err)]!r})")
    if mag is None:
        big = np.abs(r) > floor * scale
        m = np.abs(r[big])
    else:
        big = np.ones(r.shape, bool)
        m = np.asarray(mag)[fin]
    rel = err[big] / np.maximum(m, 1e-300)
    if rel.size:
        i = np.argmax(rel)
        assert rel[i] <= rtol, (f"elementwise relative error {rel[i]:.3g} > {rtol:.0e} "
                                f"(got {g[big][i]!r}, ref {r[big][i]!r}, scale {m[i]!r})")


def backward_magnitude(g, x, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1,
                       region="across", window=None):
    """The size of the two terms of the gradient, |g| t + |2 alpha beta / D x| *
    sum |g_j x_j t_j / s_j|: the scale of the rounding errors of an exact
    backward in the working precision (dx itself may be much smaller when the
    terms cancel)."""
    x, axes, before, after, divisor = reference._setup(x, axis, region, size, window)
    g = np.abs(as64(g))
    s = np.abs(k + alpha / divisor * reference._window_sum(x * x, axes, before, after))
    with np.errstate(all="ignore"):
        t = s ** -beta
        back = reference._window_sum(np.abs(g * x * t / s), axes, after, before)
        return g * t + abs(2 * alpha * beta / divisor) * np.abs(x) * back


def assert_f16_close(got, ref):
    """A float16 result against the float64 reference rounded to float16."""
    assert got.dtype == np.float16
    ref16 = as64(ref).astype(np.float16).astype(np.float64)
    fin = np.isfinite(ref16)
    scale = np.abs(ref16[fin]).max() if fin.any() else 0.0
    np.testing.assert_allclose(as64(got), ref16, rtol=F16_RTOL, atol=F16_RTOL * scale,
                               equal_nan=True)


def assert_result(got, ref, floor=FWD_FLOOR, mag=None):
    """Compare a result with the reference at the tolerance of its dtype."""
    if got.dtype == np.float16:
        assert_f16_close(got, ref)
    else:
        assert_close(got, ref, RTOL[got.dtype], floor, mag)


def check_forward(x, got=None, **kw):
    """lrn_fast.lrn(x, **kw) (or `got`) against reference.lrn of the same values."""
    if got is None:
        got = lrn_fast.lrn(x, **kw)
    kw = {n: v for n, v in kw.items() if n not in ("out", "dtype", "num_threads",
                                                  "casting", "order")}
    assert_result(got, reference.lrn(as64(x), **kw))
    return got


def check_backward(g, x, got=None, **kw):
    if got is None:
        got = lrn_fast.lrn_backward(g, x, **kw)
    kw = {n: v for n, v in kw.items() if n not in ("out", "dtype", "num_threads",
                                                  "casting", "order")}
    assert_result(got, reference.lrn_backward(as64(g), as64(x), **kw),
                  mag=backward_magnitude(g, x, **kw))
    return got


# ---- layouts: views of the same values in different memory ------------------------
def channels_last(x):
    """x's values in NHWC memory, as a view with x's axes (channels stride 1)."""
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)


def layouts(x):
    """(name, view) pairs that all hold the values of x (rank >= 2) in other layouts:
    C order, Fortran order, reversed axes (negative strides), step slices of a
    bigger array, a transposed buffer, big-endian, unaligned."""
    out = [("C", np.ascontiguousarray(x)), ("F", np.asfortranarray(x))]
    rev = np.ascontiguousarray(x[(slice(None, None, -1),) * x.ndim])
    out.append(("negative", rev[(slice(None, None, -1),) * x.ndim]))
    big = np.zeros(tuple(2 * n + 1 for n in x.shape), x.dtype)
    sl = tuple(slice(1, None, 2) for _ in x.shape)
    big[sl] = x
    out.append(("step", big[sl]))
    perm = tuple(range(x.ndim))[::-1]
    t = np.ascontiguousarray(x.transpose(perm)).transpose(np.argsort(perm))
    out.append(("transposed", t))
    out.append(("channels-last", channels_last(x)))
    if x.dtype.itemsize > 1:
        out.append(("big-endian", x.astype(x.dtype.newbyteorder(">"))))
        buf = np.zeros(x.nbytes + 1, np.uint8)
        un = buf[1:].view(x.dtype).reshape(x.shape)
        un[...] = x
        out.append(("unaligned", un))
    for name, v in out:
        np.testing.assert_array_equal(v, x, err_msg=name)
    return out


def run_python(code, env_extra=None, timeout=300):
    """Run code in a fresh interpreter (lrn_fast importable); returns stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("LRN_FAST_DISABLE_CPU_FEATURES", None)
    env.update(env_extra or {})
    # cwd: where the lrn_fast under test lives, never a source tree without the
    # compiled extension (python -c puts the working directory first on sys.path)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=timeout, cwd=PKG_ROOT)
    assert r.returncode == 0, f"subprocess failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout
