"""Fuzz: hypothesis drives lrn and lrn_backward with random shapes, views
(steps, reversed axes, transposes, broadcasts), dtypes (byte orders, float16,
integers, bool), axes, regions, sizes, windows, parameters, thread counts and
`out` arrays.  Every call either gives the float64 reference's result within a
tolerance derived from the terms of the formula, or raises the expected error.

Bounded for CI (LRN_FAST_FUZZ_EXAMPLES examples, default 150); for a longer run:
    LRN_FAST_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lrn_fast
from lrn_fast import _api, reference

EXAMPLES = int(os.environ.get("LRN_FAST_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))

DTYPES = ["<f4", ">f4", "<f8", ">f8", "<f2", ">f2", "i1", "<i4", ">i4", "u1", "?"]
RTOL = {2: 2e-3, 4: 3e-5, 8: 1e-12}   # by the result's itemsize


# ---- the tolerance: magnitudes of the terms of the formula, in float64 -----------------
def _box(v, axes, before, after):
    """Window sums of v >= 0 (for the tolerance only; the oracle is lrn_fast.reference)."""
    for ax in axes:
        n = v.shape[ax]
        lo, hi = min(before, n - 1), min(after, n - 1)
        pad = [(0, 0)] * v.ndim
        pad[ax] = (lo + 1, hi)
        c = np.cumsum(np.pad(v, pad), axis=ax)
        v = np.take(c, np.arange(n) + lo + hi + 1, axis=ax) - np.take(c, np.arange(n), axis=ax)
    return v


def _scale(x, g, size, alpha, beta, k, axis, region, window):
    """Per element: |y| for the forward, |g t| + |2 alpha beta / D x sum(g x t / s)| for
    the backward: the size of what is rounded, so err <= rtol * scale."""
    x = np.asarray(x, np.float64)
    axis %= x.ndim
    axes = [axis] if region == "across" else [d for d in range(1, x.ndim) if d != axis]
    D = size if region == "across" else size ** len(axes)
    before, after = window if window is not None else (size // 2, (size - 1) // 2)
    s = k + alpha / D * _box(x * x, axes, before, after)
    t = s ** -beta
    if g is None:
        return np.abs(x) * t
    g = np.abs(np.asarray(g, np.float64))
    back = _box(g * np.abs(x) * t / s, axes, after, before)
    return g * t + 2 * alpha * abs(beta) / D * np.abs(x) * back


# ---- strategies --------------------------------------------------------------------------
@st.composite
def arrays(draw, shape, dtype, name):
    """An array of the given logical shape and dtype, as some view of some buffer."""
    ndim = len(shape)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1), label=f"{name}.seed"))
    bcast = [n > 1 and draw(st.booleans(), label=f"{name}.bcast{d}") and
             draw(st.integers(0, 3)) == 0 for d, n in enumerate(shape)]
    dshape = [1 if b else n for n, b in zip(shape, bcast)]
    steps = [draw(st.sampled_from([1, 1, 2, -1, -2, 3]), label=f"{name}.step{d}")
             for d in range(ndim)]
    perm = draw(st.permutations(range(ndim)), label=f"{name}.perm")
    scale = draw(st.sampled_from([1.0, 1.0, 10.0, 300.0, 1e-3]), label=f"{name}.scale")
    dt = np.dtype(dtype)
    # the buffer, in the permuted order, with room for the steps
    bshape = [dshape[p] * abs(steps[p]) for p in perm]
    vals = rng.standard_normal(bshape) * scale
    if dt.kind in "iu":
        vals = np.clip(np.round(vals * 3), np.iinfo(dt).min, np.iinfo(dt).max)
    elif dt.kind == "b":
        vals = vals > 0
    elif dt.itemsize == 2:
        vals = np.clip(vals, -60000, 60000)
    buf = vals.astype(dt)
    sl = tuple(slice(None, None, steps[p]) for p in perm)
    a = buf[sl]
    a = a[tuple(slice(0, dshape[p]) for p in perm)]
    a = a.transpose(np.argsort(perm))
    assert a.shape == tuple(dshape)
    if any(bcast):
        a = np.broadcast_to(a, shape)
    return a


@st.composite
def cases(draw):
    backward = draw(st.booleans(), label="backward")
    region = draw(st.sampled_from(["across", "within"]), label="region")
    ndim = draw(st.integers(3 if region == "within" else 2, 6), label="ndim")
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim), label="shape"))
    if draw(st.integers(0, 15), label="empty") == 0:
        shape = tuple(0 if d == draw(st.integers(0, ndim - 1)) else n for d, n in enumerate(shape))
    axis = draw(st.integers(1 if region == "within" else 0, ndim - 1), label="axis")
    if draw(st.booleans(), label="negative axis"):
        axis -= ndim
    xdt = draw(st.sampled_from(DTYPES), label="x dtype")
    gdt = draw(st.sampled_from(DTYPES + [xdt] * 4), label="g dtype")
    size = draw(st.one_of(st.integers(1, 12), st.sampled_from([2 ** 31 + 1, 10 ** 9])), label="size")
    window = draw(st.one_of(st.none(), st.tuples(st.integers(0, 8), st.integers(0, 8))),
                  label="window")
    params = dict(
        alpha=draw(st.sampled_from([1e-4, 1e-2, 0.5, 1.0, 2.0]), label="alpha"),
        beta=draw(st.one_of(st.sampled_from([0.75, 0.5, 1.0, 2.0, 0.0, 3.0]),
                            st.floats(0.05, 2.0)), label="beta"),
        k=draw(st.sampled_from([1.0, 2.0, 0.5, 1.5]), label="k"))
    num_threads = draw(st.sampled_from([None, None, 1, 2, 3]), label="num_threads")
    dtype = draw(st.sampled_from([None, None, None, "float16", "float32", "float64"]),
                 label="dtype")
    x = draw(arrays(shape, xdt, "x"))
    g = draw(arrays(shape, gdt, "g")) if backward else None
    use_out = draw(st.sampled_from([None, "same", "f64", "reversed"]), label="out")
    invalid = draw(st.integers(0, 9), label="invalid") == 0 and draw(
        st.sampled_from(["size", "window", "axis", "num_threads", "alpha", "region", "dtype",
                         "gshape"]), label="what")
    return dict(backward=backward, region=region, axis=axis, size=size, window=window,
                num_threads=num_threads, dtype=dtype, x=x, g=g, use_out=use_out, invalid=invalid, **params)


def _result_dtype(c):
    if c["dtype"] is not None:
        return np.dtype(c["dtype"])
    dts = [c["x"].dtype] + ([c["g"].dtype] if c["backward"] else [])
    rt = np.result_type(*[d.newbyteorder("=") for d in dts])
    return rt if rt.kind == "f" else np.dtype(np.float64)


def _call(c, **over):
    kw = dict(size=c["size"], alpha=c["alpha"], beta=c["beta"], k=c["k"], axis=c["axis"],
              region=c["region"], window=c["window"], num_threads=c["num_threads"], dtype=c["dtype"])
    kw.update(over)
    if c["backward"]:
        return lrn_fast.lrn_backward(kw.pop("g", c["g"]), kw.pop("x", c["x"]), **kw)
    kw.pop("g", None)
    return lrn_fast.lrn(kw.pop("x", c["x"]), **kw)


INVALID = {
    "size": (dict(size=0), ValueError, "size"),
    "window": (dict(window=(-1, 1)), ValueError, "window"),
    "axis": (None, (ValueError, IndexError), "axis"),
    "num_threads": (dict(num_threads=0), ValueError, "num_threads"),
    "alpha": (dict(alpha=float("nan")), ValueError, "alpha"),
    "region": (dict(region="spatial"), ValueError, "region"),
    "dtype": (None, TypeError, "dtype"),
    "gshape": (None, ValueError, "grad_y"),
}


@SETTINGS
@given(cases())
def test_fuzz(c):
    _check(c)


@SETTINGS
@given(cases())
def test_fuzz_dense_blocks(c):
    """The same cases with the dense-block path (views the kernels would gather,
    lrn_fast/_api.py) taken at every size, in blocks of 256 bytes."""
    saved = _api._BLOCK_MIN, _api._BLOCK_BYTES
    _api._BLOCK_MIN, _api._BLOCK_BYTES = 0, 256
    try:
        _check(c)
    finally:
        _api._BLOCK_MIN, _api._BLOCK_BYTES = saved


def _check(c):
    x, g = c["x"], c["g"]
    x0 = x.copy()
    g0 = g.copy() if g is not None else None
    if c["invalid"]:
        over, exc, match = INVALID[c["invalid"]]
        if c["invalid"] == "axis":
            over = dict(axis=x.ndim + 2)
        elif c["invalid"] == "dtype":
            over = dict(x=x.astype(np.complex128))
        elif c["invalid"] == "gshape":
            if not c["backward"]:
                return
            over = dict(g=np.ones(x.shape + (2,)))
        with pytest.raises(exc, match=match):
            _call(c, **over)
        return

    rt = _result_dtype(c)
    # float32 keeps alpha / D in its normal range here (a huge size**d divisor below it is
    # test_numerics.py::test_float32_alpha_over_divisor_below_normal_range)
    nsp = x.ndim - 2 if c["region"] == "within" else 1
    assume(rt.itemsize == 8 or c["alpha"] / float(c["size"]) ** nsp > 1e-30)
    out = None
    if c["use_out"] == "same":
        out = np.full(x.shape, 7, rt)
    elif c["use_out"] == "f64":
        out = np.full(x.shape, 7, np.float64)
    elif c["use_out"] == "reversed":
        out = np.full(x.shape, 7, rt)[(slice(None, None, -1),) * x.ndim]
    y = _call(c, out=out)
    if out is not None:
        assert y is out
    else:
        assert y.dtype == rt and y.dtype.isnative and y.shape == x.shape
    # the inputs are untouched
    np.testing.assert_array_equal(x, x0)
    if g is not None:
        np.testing.assert_array_equal(g, g0)
    if x.size == 0:
        return

    kw = dict(size=c["size"], alpha=c["alpha"], beta=c["beta"], k=c["k"], axis=c["axis"],
              region=c["region"], window=c["window"])
    # the reference sees the values the computation sees: x in the computation dtype
    # (float32 for a float16 result: float16 is computed in float32)
    ct = np.float32 if rt.itemsize <= 4 else np.float64
    xr = np.asarray(x, rt if c["dtype"] is None else ct).astype(np.float64)
    gr = np.asarray(g, rt if c["dtype"] is None else ct).astype(np.float64) if g is not None else None
    if gr is None:
        want = reference.lrn(xr, **kw)
    else:
        want = reference.lrn_backward(gr, xr, **kw)
    got = np.asarray(y, np.float64)
    assert np.isfinite(want).all()
    assert np.isfinite(got).all(), "non-finite result"
    if c["beta"] == 0 and c["dtype"] is None:
        np.testing.assert_array_equal(got, want)       # x (or grad_y) itself
        return
    scale = _scale(xr, gr, **kw)
    rtol = RTOL[min(rt.itemsize, y.dtype.itemsize)]
    tiny = np.finfo(y.dtype).smallest_subnormal * 4
    err = np.abs(got - want)
    bad = err > rtol * scale + tiny
    assert not bad.any(), (
        f"{bad.sum()} of {bad.size} off; worst at {np.unravel_index(np.argmax(err - rtol * scale), err.shape)}:"
        f" got {got[bad][0]!r}, want {want[bad][0]!r}, scale {scale[bad][0]!r}")
