"""lrn_fast.lrn against the float64 direct-sum reference: shapes, axes, sizes,
windows, regions, dtypes, memory layouts, out=, threads, SIMD paths, and inputs
built to break running sums (drift, NaN, inf)."""
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import lrn_fast
from lrn_fast import _api, _lrn, reference
from conftest import (DTYPES, RTOL, as64, assert_close, assert_result, backward_magnitude,
                      channels_last,
                      check_backward, check_forward, layouts, random, run_python)

SHAPES = {2: (3, 7), 3: (2, 7, 5), 4: (2, 6, 4, 5), 5: (2, 5, 3, 4, 3)}
SIZES = [1, 2, 3, 4, 5, 8, 13]          # 8 and 13 exceed every axis length here
PARAMS = dict(alpha=2.0, beta=0.75, k=1.0)


def _cases():
    for rank, shape in SHAPES.items():
        axes = {0, 1, rank // 2, -1} if rank == 2 else {1, rank // 2, -1}
        seen = set()
        for axis in sorted(axes):
            if axis % rank in seen:
                continue
            seen.add(axis % rank)
            for region in ("across", "within"):
                if region == "within" and (rank < 3 or axis % rank == 0):
                    continue
                yield pytest.param(shape, axis, region, id=f"{rank}d-axis{axis}-{region}")


CASES = list(_cases())


# ---- the grid -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape,axis,region", CASES)
def test_grid(shape, axis, region, size, dtype):
    x = random(shape, dtype, seed=size)
    y = check_forward(x, size=size, axis=axis, region=region, **PARAMS)
    assert y.dtype == dtype and y.shape == x.shape


@pytest.mark.parametrize("beta", [0.75, 0.5, 1.0, 2.0, 3.0, 1.3, 0.25, 4.5])
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_beta(beta, region, dtype):
    x = random((2, 9, 5, 4), dtype, seed=3, scale=2.0)
    check_forward(x, size=3, alpha=1.5, beta=beta, k=0.5, region=region)


@pytest.mark.parametrize("k", [1.0, 2.0, 0.01, 1e-3])
@pytest.mark.parametrize("alpha", [1e-4, 1.0, 10.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_alpha_k(alpha, k, dtype):
    x = random((3, 11, 6), dtype, seed=4)
    check_forward(x, size=5, alpha=alpha, beta=0.75, k=k)


@pytest.mark.parametrize("window", [(0, 0), (0, 3), (3, 0), (1, 2), (2, 1), (5, 5), (0, 12), (9, 1)])
@pytest.mark.parametrize("size", [1, 4, 5])
@pytest.mark.parametrize("region,axis", [("across", 1), ("across", -1), ("within", 1),
                                         ("within", -1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_window(window, size, region, axis, dtype):
    x = random((2, 7, 6, 5), dtype, seed=5)
    check_forward(x, size=size, window=window, region=region, axis=axis, **PARAMS)


def test_window_default_is_torch():
    """window=None is (size//2, (size-1)//2), the PyTorch/Caffe window."""
    x = random((2, 8, 3), np.float64, seed=6)
    for size in range(1, 10):
        np.testing.assert_array_equal(
            lrn_fast.lrn(x, size, 1.0),
            lrn_fast.lrn(x, size, 1.0, window=(size // 2, (size - 1) // 2)))


def test_reference_matches_loop():
    """The oracle itself: the vectorised reference against its explicit loop."""
    x = random((2, 5, 3, 4), np.float64, seed=7)
    for region in ("across", "within"):
        for size, window in [(3, None), (4, None), (2, (0, 2)), (5, (3, 0))]:
            kw = dict(size=size, alpha=1.7, beta=0.6, k=0.9, region=region, window=window)
            np.testing.assert_allclose(reference.lrn(x, **kw), reference.lrn_loop(x, **kw),
                                       rtol=1e-14)


# ---- layouts -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("region,axis", [("across", 1), ("across", -1), ("across", 2),
                                         ("within", 1), ("within", -1)])
def test_layouts(region, axis, dtype):
    x = random((2, 7, 5, 6), dtype, seed=8)
    for name, v in layouts(x):
        before = v.copy()
        y = check_forward(v, size=4, axis=axis, region=region, **PARAMS)
        assert y.dtype == dtype, name
        np.testing.assert_array_equal(v, before, err_msg=f"{name}: input modified")


@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("bshape", [(1, 7, 1, 6), (3, 1, 5, 6), (3, 7, 1, 1), (1, 1, 1, 1),
                                    (1, 7, 5, 1)])
def test_broadcast_views(bshape, region):
    base = random(bshape, np.float32, seed=9)
    x = np.broadcast_to(base, (3, 7, 5, 6))
    assert 0 in x.strides
    for axis in (1, -1):
        check_forward(x, size=3, axis=axis, region=region, **PARAMS)


@pytest.mark.parametrize("region", ["across", "within"])
def test_many_layout_steps(region):
    """Slices with steps along several axes at once, odd offsets, a 5-D transposed view."""
    big = random((5, 20, 9, 8, 7), np.float32, seed=10)
    for v in (big[1::2, ::3, ::-2, 1:7:2], big[::-1, 3:, :, ::3, ::-1].transpose(0, 1, 4, 2, 3),
              big.transpose(4, 1, 0, 3, 2)[:, ::2]):
        for axis in (1, 2, -1):
            check_forward(v, size=5, axis=axis, region=region, **PARAMS)


# ---- dtypes, order, inputs -----------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint16, bool])
def test_int_bool_give_float64(dtype):
    x = (random((2, 6, 5), np.float64, seed=11) * 3).astype(dtype)
    y = lrn_fast.lrn(x, 3, 0.5)
    assert y.dtype == np.float64
    assert_close(y, reference.lrn(x.astype(np.float64), 3, 0.5), 1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("xdtype", [np.float16, np.float32, np.float64, np.int16])
def test_dtype_keyword(xdtype, dtype):
    x = (random((2, 9, 4, 3), np.float64, seed=12) * 2).astype(xdtype)
    y = lrn_fast.lrn(x, 5, 1.0, dtype=dtype)
    assert y.dtype == dtype
    # the computation runs on x converted to `dtype` (float16 in float32)
    xin = x.astype(dtype)
    assert_result(y, reference.lrn(xin.astype(np.float64), 5, 1.0))
    g = random(x.shape, np.float64, seed=13).astype(xdtype)
    dx = lrn_fast.lrn_backward(g, x, 5, 1.0, dtype=dtype)
    assert dx.dtype == dtype
    check_backward(g.astype(dtype), xin, dx, size=5, alpha=1.0)


def test_mixed_input_dtypes_backward():
    x = random((2, 6, 5), np.float32, seed=14)
    g = random((2, 6, 5), np.float64, seed=15)
    assert lrn_fast.lrn_backward(g, x, 3, 1.0).dtype == np.float64
    assert lrn_fast.lrn_backward(g.astype(np.float16), x, 3, 1.0).dtype == np.float32
    assert lrn_fast.lrn_backward(g.astype(np.float16), x.astype(np.float16), 3, 1.0).dtype \
        == np.float16


def test_order_keeps_layout():
    nhwc = random((2, 5, 6, 8), np.float32, seed=16)
    x = nhwc.transpose(0, 3, 1, 2)                      # NCHW view of NHWC memory
    for region in ("across", "within"):
        y = lrn_fast.lrn(x, 3, 1.0, region=region)
        assert y.transpose(0, 2, 3, 1).flags.c_contiguous
        assert lrn_fast.lrn(x, 3, 1.0, region=region, order="C").flags.c_contiguous
        assert lrn_fast.lrn(x, 3, 1.0, region=region, order="F").flags.f_contiguous
        dx = lrn_fast.lrn_backward(x, x, 3, 1.0, region=region)
        assert dx.transpose(0, 2, 3, 1).flags.c_contiguous
        check_forward(x, y, size=3, alpha=1.0, region=region)
    # also for a float16 result and a dtype= conversion
    y16 = lrn_fast.lrn(x.astype(np.float16, order="K"), 3, 1.0)
    assert y16.dtype == np.float16 and y16.transpose(0, 2, 3, 1).flags.c_contiguous
    y64 = lrn_fast.lrn(x, 3, 1.0, dtype=np.float64)
    assert y64.transpose(0, 2, 3, 1).flags.c_contiguous


def test_float16_no_overflow_in_squares():
    """|x| > 256 overflows x**2 in float16; the kernel squares in float32."""
    x = (random((2, 8, 4, 4), np.float64, seed=17) * 1000).astype(np.float16)
    for region in ("across", "within"):
        y = lrn_fast.lrn(x, 5, 1e-4, 0.75, 1.0, region=region)
        assert np.isfinite(y).all()
        assert_result(y, reference.lrn(x.astype(np.float64), 5, 1e-4, 0.75, 1.0, region=region))


def test_beta_zero_returns_x():
    x = random((2, 6, 3), np.float32, seed=18)
    x[0, 2, 1] = np.inf
    y = lrn_fast.lrn(x, 3, 1.0, 0.0)
    assert y.dtype == np.float32 and y is not x
    np.testing.assert_array_equal(y, x)
    g = random((2, 6, 3), np.float32, seed=19)
    np.testing.assert_array_equal(lrn_fast.lrn_backward(g, x, 3, 1.0, 0.0), g)


@pytest.mark.parametrize("beta", [0.75, 1.0, 2.0, 3.0, 0.5])
def test_negative_base(beta):
    """k + alpha/D*S < 0: NaN for a non-integer beta, pow's sign rule for integers.
    |x| is 0.1 or 10, so the base is either near -2 or far above 0 (well conditioned)."""
    rng = np.random.default_rng(20)
    x = rng.choice([-10.0, -0.1, 0.1, 10.0], size=(2, 7, 4))
    for dtype in (np.float32, np.float64):
        xd = x.astype(dtype)
        kw = dict(size=3, alpha=1.0, beta=beta, k=-2.0)
        ref = reference.lrn(as64(xd), **kw)
        assert (np.isnan(ref).any()) == (beta % 1 != 0)
        check_forward(xd, **kw)
        check_backward(xd[::-1], xd, **kw)


EMPTY_SHAPES = [(0, 5, 3), (2, 0, 3), (2, 5, 0), (0, 4), (3, 0), (2, 3, 0, 4)]


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
def test_empty(shape):
    for dtype in (np.float32, np.int32, np.float16):
        x = np.zeros(shape, dtype)
        y = lrn_fast.lrn(x)
        assert y.shape == shape and y.dtype == (np.float64 if dtype == np.int32 else dtype)
        assert lrn_fast.lrn_backward(x, x).shape == shape
        if len(shape) >= 3:
            assert lrn_fast.lrn(x, region="within").shape == shape


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
def test_empty_out(shape):
    """An empty out= is accepted and returned (NumPy gives empty arrays zero strides)."""
    x = np.zeros(shape, np.float32)
    out = np.ones(shape, np.float64)
    assert lrn_fast.lrn(x, out=out) is out
    assert lrn_fast.lrn_backward(x, x, out=out) is out


def test_lists():
    x = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]]
    y = lrn_fast.lrn(x, 3, 1.0)
    assert y.dtype == np.float64
    assert_close(y, reference.lrn(np.array(x), 3, 1.0), 1e-12)
    dx = lrn_fast.lrn_backward(x, x, 3, 1.0)
    check_backward(x, x, dx, size=3, alpha=1.0)


# ---- out= ------------------------------------------------------------------------------
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_fresh(region, dtype):
    x = random((2, 7, 5, 6), dtype, seed=21)
    ref = reference.lrn(as64(x), 3, 1.0, region=region)
    big = np.zeros((4, 8, 10, 12), dtype)
    outs = [np.empty_like(x), np.empty(x.shape, dtype, order="F"), big[::2, 1:, ::2, ::-2],
            np.moveaxis(np.empty((2, 5, 6, 7), dtype), -1, 1)]
    for out in outs:
        r = lrn_fast.lrn(x, 3, 1.0, region=region, out=out)
        assert r is out
        assert_result(out, ref)
        r = lrn_fast.lrn(x, 3, 1.0, region=region, out=(out,))
        assert r is out
    # casting into another dtype, same_kind
    for odt in (np.float16, np.float32, np.float64):
        out = np.empty(x.shape, odt)
        assert lrn_fast.lrn(x, 3, 1.0, region=region, out=out) is out
        assert_result(out, ref) if odt == np.float16 else \
            assert_close(out, ref, max(RTOL[np.dtype(odt)], RTOL[np.dtype(dtype)]))


@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("view", ["contiguous", "strided", "channels-last", "reversed"])
def test_out_in_place(view, region, dtype):
    base = random((2, 9, 6, 7), dtype, seed=22)
    views = {"contiguous": lambda a: a, "strided": lambda a: a[:, ::2, 1:, ::-2],
             "channels-last": lambda a: np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1),
             "reversed": lambda a: a[::-1, ::-1, ::-1, ::-1]}
    x = views[view](base.copy())
    ref = reference.lrn(as64(x), 4, 1.0, region=region)
    assert lrn_fast.lrn(x, 4, 1.0, region=region, out=x) is x
    assert_result(x, ref)


@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("how", ["shift1", "shift3", "shift-2", "shift-half", "reversed",
                                 "reversed-last", "transposed"])
def test_out_overlapping(how, region, dtype):
    """out shares memory with x in another layout: the result must still be right."""
    shape = (6, 6, 5, 4)
    n = int(np.prod(shape))
    buf = np.zeros(3 * n, dtype)
    x = buf[n:2 * n].reshape(shape)
    x[...] = random(shape, dtype, seed=23)
    if how.startswith("shift"):
        d = -(n // 2) if how == "shift-half" else int(how[5:])
        out = buf[n + d:2 * n + d].reshape(shape)
    else:
        out = {"reversed": x[::-1, ::-1], "reversed-last": x[..., ::-1],
               "transposed": x.swapaxes(0, 1)}[how]
    assert np.shares_memory(out, x)
    ref = reference.lrn(as64(x), 5, 1.0, region=region)
    assert lrn_fast.lrn(x, 5, 1.0, region=region, out=out) is out
    assert_result(out, ref)


def test_out_overlapping_other_dtype():
    """out is a float32 view into x's float64 memory, at x's exact address."""
    x = random((2, 4, 6), np.float64, seed=24)
    ref = reference.lrn(x.copy(), 3, 1.0)
    out = x.view(np.float32)[..., ::2]
    assert out.shape == x.shape
    lrn_fast.lrn(x, 3, 1.0, out=out)
    assert_close(out, ref, 1e-5)


# ---- adversarial inputs: running-sum drift, NaN, inf ---------------------------------
def _big_then_small(n, seed):
    """Values near 1e4 for the first half, then values near 1e-4."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.5, 1.5, n) * np.where(rng.random(n) < 0.5, -1, 1)
    v[: n // 2] *= 1e4
    v[n // 2:] *= 1e-4
    return v


@pytest.mark.parametrize("k", [0.01, 1e-3])
@pytest.mark.parametrize("size", [5, 4, 31])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_drift_across(k, size, dtype):
    C = 4096
    x = np.stack([_big_then_small(C, s) for s in range(6)]).reshape(2, 3, C)
    x = np.moveaxis(x, -1, 1).astype(dtype)             # (2, C, 3), channels on axis 1
    # alternate blocks too: big values that enter and leave the window repeatedly
    x[1, :, 2] = np.where((np.arange(C) // 64) % 2 == 0, 1e4, 1e-4) * (1 + np.arange(C) % 7 / 10)
    kw = dict(size=size, alpha=1e-4, beta=0.75, k=k)
    ref = reference.lrn(as64(x), **kw)
    y = lrn_fast.lrn(x, **kw)
    rel = np.abs(as64(y) - ref) / np.abs(ref)
    assert rel.max() <= RTOL[np.dtype(dtype)], f"elementwise relative error {rel.max():.3g}"
    yl = lrn_fast.lrn(np.moveaxis(x, 1, -1), axis=-1, **kw)
    rel = np.abs(as64(yl) - np.moveaxis(ref, 1, -1)) / np.abs(np.moveaxis(ref, 1, -1))
    assert rel.max() <= RTOL[np.dtype(dtype)], f"(NHWC) relative error {rel.max():.3g}"
    g = random(x.shape, dtype, seed=25)
    dref = reference.lrn_backward(as64(g), as64(x), **kw)
    dx = lrn_fast.lrn_backward(g, x, **kw)
    tol = RTOL[np.dtype(dtype)] * np.abs(dref).max()
    assert np.abs(as64(dx) - dref).max() <= tol


@pytest.mark.parametrize("k", [0.01, 1e-3])
@pytest.mark.parametrize("size", [3, 4, 9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_drift_within(k, size, dtype):
    H = W = 48
    x = np.empty((2, 3, H, W))
    for c in range(3):
        x[0, c] = _big_then_small(H * W, c).reshape(H, W)                 # top half big
        x[1, c] = _big_then_small(H * W, 10 + c).reshape(W, H).T          # left half big
    x[1, 2] = np.where(((np.arange(H)[:, None] // 8 + np.arange(W) // 8) % 2) == 0, 1e4, 1e-4)
    x = x.astype(dtype)
    kw = dict(size=size, alpha=1e-4, beta=0.75, k=k, region="within")
    ref = reference.lrn(as64(x), **kw)
    y = lrn_fast.lrn(x, **kw)
    rel = np.abs(as64(y) - ref) / np.abs(ref)
    assert rel.max() <= RTOL[np.dtype(dtype)], f"elementwise relative error {rel.max():.3g}"
    g = random(x.shape, dtype, seed=26)
    dref = reference.lrn_backward(as64(g), as64(x), **kw)
    dx = lrn_fast.lrn_backward(g, x, **kw)
    assert np.abs(as64(dx) - dref).max() <= RTOL[np.dtype(dtype)] * np.abs(dref).max()


def test_drift_long_spatial_axis():
    """within on a 1-D spatial axis of 4096 positions."""
    x = np.stack([_big_then_small(4096, s) for s in range(4)]).reshape(1, 4, 4096)
    for dtype in (np.float32, np.float64):
        xd = x.astype(dtype)
        kw = dict(size=7, alpha=1e-4, beta=0.75, k=1e-3, region="within")
        ref = reference.lrn(as64(xd), **kw)
        rel = np.abs(as64(lrn_fast.lrn(xd, **kw)) - ref) / np.abs(ref)
        assert rel.max() <= RTOL[np.dtype(dtype)]


def _window_mask(shape, pos, axes, before, after):
    """Outputs whose window (taps before/after along each of axes) holds pos."""
    m = np.ones(shape, bool)
    for d in range(len(shape)):
        idx = np.arange(shape[d])
        if d in axes:
            ok = (idx - before <= pos[d]) & (pos[d] <= idx + after)
        else:
            ok = idx == pos[d]
        m &= ok.reshape([-1 if e == d else 1 for e in range(len(shape))])
    return m


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("region,axis", [("across", 1), ("across", -1), ("within", 1)])
@pytest.mark.parametrize("size,window", [(5, None), (4, None), (3, (0, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nonfinite_stays_in_window(bad, region, axis, size, window, dtype):
    shape = (2, 12, 9, 10)
    x = random(shape, dtype, seed=27)
    pos = (1, 5, 4, 6)
    x[pos] = bad
    kw = dict(size=size, alpha=1.0, beta=0.75, k=1.0, region=region, axis=axis, window=window)
    y = lrn_fast.lrn(x, **kw)
    ref = reference.lrn(as64(x), **kw)
    np.testing.assert_allclose(as64(y), ref, rtol=RTOL[np.dtype(dtype)], atol=1e-12,
                               equal_nan=True)
    ax = axis % 4
    axes = [ax] if region == "across" else [d for d in range(1, 4) if d != ax]
    before, after = window or (size // 2, (size - 1) // 2)
    inside = _window_mask(shape, pos, axes, before, after)
    assert np.isfinite(y[~inside]).all()
    assert not np.isfinite(ref[pos])
    # the backward: compare with the reference, NaN where it has NaN
    g = random(shape, dtype, seed=28)
    dx = lrn_fast.lrn_backward(g, x, **kw)
    dref = reference.lrn_backward(as64(g), as64(x), **kw)
    np.testing.assert_allclose(as64(dx), dref, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-5 if dtype == np.float32 else 1e-12, equal_nan=True)
    assert np.isfinite(dref).sum() > 0.9 * dref.size
    assert (np.isfinite(dx) == np.isfinite(dref)).all()


# ---- threads ---------------------------------------------------------------------------
BIG = (8, 64, 32, 32)


def test_threadpool_limits_and_num_threads():
    x = random(BIG, np.float32, seed=29)
    with threadpool_limits(1):
        y1 = lrn_fast.lrn(x)
        assert _lrn.last_team_size() == 1
        dx1 = lrn_fast.lrn_backward(x, x)
        assert _lrn.last_team_size() == 1
    y2 = lrn_fast.lrn(x, num_threads=2)
    assert _lrn.last_team_size() == 2
    dx2 = lrn_fast.lrn_backward(x, x, num_threads=2)
    assert _lrn.last_team_size() == 2
    assert np.array_equal(y1, y2)
    assert np.array_equal(dx1, dx2)
    lrn_fast.lrn(x, num_threads=1)
    assert _lrn.last_team_size() == 1
    check_forward(x, y2)


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "channels-last", "strided"])
def test_threads_bitwise_equal(layout, dtype, region, backward):
    base = random((4, 48, 20, 18), dtype, seed=30)
    x = {"C": base, "channels-last": np.moveaxis(np.ascontiguousarray(np.moveaxis(base, 1, -1)), -1, 1),
         "strided": base[:, ::-1, ::2, 1:]}[layout]
    g = random(x.shape, dtype, seed=31)
    kw = dict(size=5, alpha=1.0, region=region)
    res = []
    for nt in (1, 2, 3):
        if backward:
            res.append(lrn_fast.lrn_backward(g, x, num_threads=nt, **kw))
        else:
            res.append(lrn_fast.lrn(x, num_threads=nt, **kw))
        if layout != "strided":   # one kernel call (strided across may be several)
            assert _lrn.last_team_size() == nt or x.size * (1 + backward) < 32768
    assert np.array_equal(res[0], res[1]) and np.array_equal(res[0], res[2])
    if backward:
        check_backward(g, x, res[1], **kw)
    else:
        check_forward(x, res[1], **kw)


@pytest.mark.parametrize("shape", [(1, 2, 7, 1), (6, 2, 7, 1), (1, 3, 3), (2, 5, 1, 6),
                                   (3, 7, 4, 1, 2), (2, 9, 5), (1, 70, 3, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_bitwise_equal_small_shapes(shape, dtype):
    """Small and odd shapes (axes of length 1): the thread count changes how the
    work is split (channel chunks, pixel tiles), never the bits."""
    x = random(shape, dtype, seed=32)
    g = random(shape, dtype, seed=33)
    for region in ("across", "within"):
        for axis in (1, -1):
            for beta in (0.75, 1.3):
                kw = dict(size=3, alpha=1.0, beta=beta, region=region, axis=axis)
                y1 = lrn_fast.lrn(x, num_threads=1, **kw)
                dx1 = lrn_fast.lrn_backward(g, x, num_threads=1, **kw)
                for nt in (2, 3):
                    assert np.array_equal(y1, lrn_fast.lrn(x, num_threads=nt, **kw)), (kw, nt)
                    assert np.array_equal(dx1, lrn_fast.lrn_backward(g, x, num_threads=nt, **kw)), \
                        (kw, nt)


@pytest.mark.parametrize("beta", [0.75, 0.6])
@pytest.mark.parametrize("size", [2, 5, 8, 11])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("plane", [(32, 32), (16, 16), (32, 48)])
def test_across_kernel_choice_by_stride_same_bits(plane, dtype, size, beta):
    """Channel strides of 4 KiB (32x32 float32 planes), 1 KiB or 6 KiB put every
    channel row on few cache sets, so those go to the rows kernel instead of the
    strips; the same numbers in a padded buffer (another stride) take the strips.
    Both kernels add in the same order and take the same power (a fast beta, or
    the generic power of 0.6): the same bits, and both right."""
    h, w = plane
    x = random((3, 40, h, w), dtype, seed=34)
    g = random(x.shape, dtype, seed=35)
    pad = np.zeros((3, 40, h * w + 16), dtype)
    pad[:, :, :h * w] = x.reshape(3, 40, h * w)
    xp = pad[:, :, :h * w].reshape(x.shape)        # channel stride h*w + 16
    gpad = np.zeros_like(pad)
    gpad[:, :, :h * w] = g.reshape(3, 40, h * w)
    gp = gpad[:, :, :h * w].reshape(x.shape)
    kw = dict(size=size, alpha=1e-2, beta=beta, k=1.0)
    y = lrn_fast.lrn(x, num_threads=1, **kw)
    assert np.array_equal(y, lrn_fast.lrn(xp, num_threads=1, **kw))
    dx = lrn_fast.lrn_backward(g, x, num_threads=1, **kw)
    assert np.array_equal(dx, lrn_fast.lrn_backward(gp, xp, num_threads=1, **kw))
    check_forward(x, y, **kw)
    check_backward(g, x, dx, **kw)


@pytest.mark.parametrize("shape,dtype,beta", [
    ((8, 96, 65, 67), np.float32, 0.75), ((8, 96, 65, 67), np.float32, 0.6),
    ((1, 48, 70001), np.float32, 1.0), ((1100, 96, 40), np.float32, 0.75),
    ((2000, 96, 24), np.float32, 0.5), ((4, 96, 65, 67), np.float64, 0.75),
    ((3, 96, 65, 67), np.float32, 0.75)])
def test_streamed_output_same_bits(shape, dtype, beta):
    """Across channels, outputs of 12 MiB or more (2 MiB on Intel CPUs,
    _lrn.stream_above(); the last shape, 5 MB, streams only there) are written as whole aligned
    lines by non-temporal stores (x86 with AVX-512; AVX2 ignores the plan's flag),
    the partial lines at
    the ends of each tile by ordinary ones; in place, always ordinary stores.
    For outputs at every misalignment (offsets in the buffer, rows of odd
    lengths), rows as short as one or two vectors, tiles split between 1 to 3
    threads, forward and backward: the bits of the in-place call, nothing written
    outside out, and the values right when read straight after the call.  (A
    generic beta, compute bound, never streams: the same checks.)"""
    x = random(shape, dtype, seed=36)
    g = random(shape, dtype, seed=37)
    inner = int(np.prod(shape[2:]))
    code = _api._dtype_code(dtype)
    pow_mode = _lrn.power_mode(beta)[0]     # the mode lrn_fast's API passes
    for backward, nt in ((0, 1), (1, 2)):
        assert _lrn.plan(code, 0, backward, [shape[0], shape[1], inner], [2], [2], nt,
                         pow_mode=pow_mode)[4] == (pow_mode != 0
                                                   and x.nbytes >= _lrn.stream_above())
    assert _lrn.stream_above() in (2 << 20, 12 << 20)
    kw = dict(size=5, alpha=1e-2, beta=beta, k=1.0)
    y_ref = x.copy()
    lrn_fast.lrn(y_ref, out=y_ref, **kw)
    dx_ref = g.copy()
    lrn_fast.lrn_backward(dx_ref, x, out=dx_ref, **kw)
    check_forward(x[:1], y_ref[:1], **kw)
    check_backward(g[:1], x[:1], dx_ref[:1], **kw)
    vw = 64 // x.itemsize
    for off in (0, 3, vw - 1):
        buf = np.full(x.size + 2 * vw, 7.0, dtype)
        out = buf[off:off + x.size].reshape(shape)
        for nt in (1, 2, 3):
            buf[:] = 7.0
            lrn_fast.lrn(x, out=out, num_threads=nt, **kw)
            assert np.array_equal(out, y_ref), (off, nt)
            buf[:] = 7.0
            lrn_fast.lrn_backward(g, x, out=out, num_threads=nt, **kw)
            assert np.array_equal(out, dx_ref), (off, nt)
            assert np.all(buf[:off] == 7.0) and np.all(buf[off + x.size:] == 7.0), (off, nt)


@pytest.mark.parametrize("beta", [0.75, 0.5, 1.0, 0.6, 2.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", [
    ((2, 3, 9, 16), None), ((1, 4, 7, 17), (0, 3)), ((2, 3, 5, 55), (3, 0)),
    ((1, 2, 1, 40), None), ((1, 3, 2, 33), (2, 2)), ((1, 2, 20, 21), (7, 8)),
    ((1, 2, 20, 21), (8, 8)), ((2, 5, 3, 64), (1, 2))])
def test_within_streamed_planes(shape, window, dtype, beta):
    """Within over two spatial axes in NCHW with lines of 16 or more values streams
    each plane row by row (lines shorter than the window, one line, windows of 16
    taps and, at (8, 8), the 17 taps that go to the buffered planes): forward,
    backward, and in place."""
    x = random(shape, dtype, seed=36, scale=3.0)
    g = random(shape, dtype, seed=37)
    kw = dict(size=5, alpha=0.5, beta=beta, k=1.0, region="within", window=window)
    y = check_forward(x, **kw)
    dx = check_backward(g, x, **kw)
    xc, gc = x.copy(), g.copy()
    assert np.array_equal(lrn_fast.lrn(xc, out=xc, **kw), y)
    assert np.array_equal(lrn_fast.lrn_backward(gc, x, out=gc, **kw), dx)
    xc = x.copy()
    assert np.array_equal(lrn_fast.lrn_backward(g, xc, out=xc, **kw), dx)
    assert np.array_equal(lrn_fast.lrn_backward(g, x, num_threads=2, **kw), dx)


@pytest.mark.parametrize("beta", [0.75, 0.6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", [
    ((2, 37, 9, 11), None), ((1, 16, 5, 3), (0, 3)), ((2, 20, 3, 17), (2, 2)),
    ((3, 100, 4, 20), (3, 1)), ((1, 17, 1, 1), None)])
def test_within_streamed_channels_last(shape, window, dtype, beta):
    """NHWC with 16 or more channels streams lines of (width x a chunk of channels):
    chunks of any size, whole vectors or not, checked against the reference, in
    place and with threads; where NCHW streams too (lines of 16 or more) both layouts
    add every value in the same order, so they give the same bits."""
    x = channels_last(random(shape, dtype, seed=38, scale=3.0))
    g = channels_last(random(shape, dtype, seed=39))
    kw = dict(size=5, alpha=0.5, beta=beta, k=1.0, region="within", window=window)
    y = check_forward(x, **kw)
    dx = check_backward(g, x, **kw)
    assert np.array_equal(lrn_fast.lrn(x, num_threads=2, **kw), y)
    assert np.array_equal(lrn_fast.lrn_backward(g, x, num_threads=2, **kw), dx)
    xc, gc = x.copy(order="K"), g.copy(order="K")
    assert np.array_equal(lrn_fast.lrn(xc, out=xc, **kw), y)
    assert np.array_equal(lrn_fast.lrn_backward(gc, x, out=gc, **kw), dx)
    if shape[3] >= 16:
        xn, gn = np.ascontiguousarray(x), np.ascontiguousarray(g)
        assert np.array_equal(lrn_fast.lrn(xn, **kw), y)
        assert np.array_equal(lrn_fast.lrn_backward(gn, xn, **kw), dx)


# ---- SIMD dispatch paths -----------------------------------------------------------------
# Each run (default, and with LRN_FAST_DISABLE_CPU_FEATURES) is a fresh interpreter that
# saves its dispatch target, every case's parameters and its results to an .npz file.
_DISPATCH_SCRIPT = r"""
import json
import numpy as np
import lrn_fast
from lrn_fast import _lrn
rng = np.random.default_rng(0)
res = {"target": np.array(_lrn.target_name(_lrn.get_target()))}
i = 0
for shape in [(2, 37, 9, 11), (3, 19, 33), (1, 70, 5, 4, 3), (2, 6, 10, 37)]:
    base = rng.standard_normal(shape)
    for dtype in (np.float32, np.float64, np.float16):
        b = base.astype(dtype)
        views = [b, np.moveaxis(np.ascontiguousarray(np.moveaxis(b, 1, -1)), -1, 1),
                 b[:, ::-1, ..., ::2]]
        for x in views:
            for region in ("across", "within"):
                for size, beta, window in [(5, 0.75, None), (4, 0.5, None), (3, 1.0, (0, 2)),
                                           (7, 1.3, None), (2, 2.0, None)]:
                    kw = dict(size=size, alpha=1.5, beta=beta, k=1.0, region=region,
                              window=window)
                    res[f"kw{i}"] = np.array(json.dumps(kw))
                    res[f"x{i}"] = x
                    res[f"f{i}"] = lrn_fast.lrn(x, **kw)
                    res[f"b{i}"] = lrn_fast.lrn_backward(x[::-1], x, **kw)
                    i += 1
np.savez(OUT, **res)
"""
_DISPATCH = [("AVX512F", "AVX2", "AVX512_SKX"), ("AVX2", "baseline", "AVX2")]
_dispatch_cache = {}


def _dispatch_results(tmp_path_factory, disable):
    """Results of the dispatch script with `disable` ("" for none) turned off."""
    if disable not in _dispatch_cache:
        path = tmp_path_factory.mktemp("dispatch") / f"{disable or 'default'}.npz"
        env = {"LRN_FAST_DISABLE_CPU_FEATURES": disable} if disable else {}
        run_python(f"OUT = {str(path)!r}\n" + _DISPATCH_SCRIPT, env)
        with np.load(path) as f:
            _dispatch_cache[disable] = {k: f[k] for k in f.files}
    return _dispatch_cache[disable]


@pytest.mark.parametrize("disable,expect,needs", _DISPATCH)
def test_dispatch_path_correct(tmp_path_factory, disable, expect, needs):
    """The forced lower path is the one used and gives the right values."""
    if needs not in lrn_fast.available_targets():
        pytest.skip(f"this CPU does not run {needs}: disabling it changes nothing")
    forced = _dispatch_results(tmp_path_factory, disable)
    assert str(forced["target"]).startswith(expect)
    n = sum(key.startswith("kw") for key in forced)
    assert n == 360
    for i in range(n):
        kw = json.loads(str(forced[f"kw{i}"]))
        if kw["window"] is not None:
            kw["window"] = tuple(kw["window"])
        x = forced[f"x{i}"]
        check_forward(x, forced[f"f{i}"], **kw)
        check_backward(x[::-1], x, forced[f"b{i}"], **kw)


@pytest.mark.parametrize("disable,expect,needs", _DISPATCH)
def test_dispatch_paths_agree(tmp_path_factory, disable, expect, needs):
    """Every SIMD path agrees with the default path: bit for bit where both compute
    s^-beta the same way (the generic exp/log path, every beta not in {0.5, 0.75, 1}),
    and within the float32 accuracy contract (1e-6 of the largest value; one ulp for
    float16 results, which are float32 ones rounded) where the
    fast powers use each instruction set's reciprocal square root estimates
    (README, "CPU dispatch")."""
    import json
    if needs not in lrn_fast.available_targets():
        pytest.skip(f"this CPU does not run {needs}: disabling it changes nothing")
    default = _dispatch_results(tmp_path_factory, "")
    forced = _dispatch_results(tmp_path_factory, disable)
    assert str(default["target"]) != str(forced["target"])
    assert default.keys() == forced.keys()
    differ = []
    for key in default:
        if key[0] not in "fb":
            continue
        beta = json.loads(str(default["kw" + key[1:]]))["beta"]
        a, b = default[key], forced[key]
        if beta in (0.5, 0.75, 1.0):
            scale = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 1.0
            # float16 results are float32 ones rounded once: one float16 ulp apart at most
            tol = 1e-6 if a.dtype != np.float16 else float(np.finfo(np.float16).eps)
            ok = np.array_equal(np.isnan(a), np.isnan(b)) and np.allclose(
                a.astype(np.float64), b.astype(np.float64), rtol=tol, atol=tol * scale,
                equal_nan=True)
        else:
            ok = np.array_equal(a, b, equal_nan=True)
        if not ok:
            differ.append(key)
    assert not differ, (f"{len(differ)} results differ between {default['target']} and "
                        f"{forced['target']}, e.g. {[(k, str(forced['kw' + k[1:]])) for k in differ[:3]]}")


# ---- layouts the kernels would walk element by element: dense blocks ---------------
def _gathering_cases():
    base = random((5, 8, 6, 14), np.float32, seed=41)
    f = np.asfortranarray(base)
    c_out = lambda shape: np.empty(shape, np.float32)
    return {   # name: (x, grad_y's layout, out (None, "x", "g" or a maker), axis)
        "W step 2": (base[..., ::2], "C", None, 1),
        "batch of 1, W step 2": (base[:1, :, :, ::2], "C", None, 1),
        "reversed W": (base[..., ::-1], "C", None, 1),
        "broadcast": (np.broadcast_to(base[:1, :, :1], base.shape), "C", c_out, 1),
        "in place on W step 2": (base.copy()[..., ::2], "C", "x", 1),
        # 10 channels: with fewer than 32 bytes of channels, dense NHWC runs on packed rows
        "NHWC channel step 2": (np.ascontiguousarray(np.moveaxis(
            random((5, 20, 6, 14), np.float32, seed=44), 1, -1))[..., ::2], "x", None, -1),
        "channel axis 0, step 2": (base[:, :, ::2, ::2].transpose(1, 0, 2, 3), "x", None, 0),
        "grad W step 2, x C": (base[..., ::2].copy(), "W step 2", None, 1),
        "C-ordered view of F memory, step 2": (f[..., ::2], "x", None, 1),
        "out is grad, W step 2": (base[..., ::2], "W step 2", "g", 1),
    }


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("case", list(_gathering_cases()))
@pytest.mark.parametrize("block_bytes", [1000, 1 << 21])
def test_gathering_layouts_run_dense_blocks(case, region, backward, block_bytes, monkeypatch):
    """Arrays that share no unit stride the kernels can stream over, but one order
    of axes in memory, run on dense copies of blocks (several, the last shorter,
    with 1000 bytes): every kernel call sees a streaming layout, the values match
    the reference and are bitwise those of the same call on dense copies, the
    inputs stay as they were."""
    x, glayout, outspec, axis = _gathering_cases()[case]
    if region == "within" and axis == 0:
        pytest.skip("axis 0 is the batch axis within channels")
    if region == "within" and case.startswith("C-ordered view of F"):
        pytest.skip("batch innermost: dense F order does not stream within channels either")
    if region == "within" and case == "broadcast":
        pytest.skip("unit strides along the rows: streams within channels as it is")
    if not backward and (outspec == "g" or glayout == "W step 2"):
        pytest.skip("a grad_y layout: backward only")
    g = None
    if backward:
        g0 = random(x.shape, np.float32, seed=42)
        if glayout == "x":
            g = np.empty_like(x, order="K")
            g[...] = g0
        elif glayout == "W step 2":
            g = random(x.shape[:-1] + (2 * x.shape[-1],), np.float32, seed=43)[..., ::2]
        else:
            g = g0
    monkeypatch.setattr(_api, "_BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(_api, "_BLOCK_MIN", 0)
    seen = []
    run = _lrn.run

    def spy(dtype, reg, bwd, xa, xo, ga, go, ya, yo, shape, xs, gs, ys, lo, hi, *rest):
        seen.append(_lrn.gathers(dtype, reg, bwd, shape, xs, gs, ys, lo, hi))
        return run(dtype, reg, bwd, xa, xo, ga, go, ya, yo, shape, xs, gs, ys, lo, hi, *rest)

    monkeypatch.setattr(_lrn, "run", spy)
    kw = dict(size=3, alpha=2.0, region=region, axis=axis)
    x_before = x.copy()
    g_before = g.copy() if g is not None else None
    ref = (reference.lrn_backward(as64(g), as64(x), **kw) if backward
           else reference.lrn(as64(x), **kw))
    out = None
    if outspec == "x":
        out = x
    elif outspec == "g":
        out = g
    elif outspec is not None:
        out = outspec(x.shape)
    if out is not None and not out.flags.writeable:
        pytest.skip("a broadcast view cannot be out")
    dense = (lrn_fast.lrn_backward(g.copy(order="K"), x.copy(order="K"), **kw) if backward
             else lrn_fast.lrn(x.copy(order="K"), **kw))
    seen.clear()
    got = (lrn_fast.lrn_backward(g, x, out=out, **kw) if backward
           else lrn_fast.lrn(x, out=out, **kw))
    if out is not None:
        assert got is out
    np.testing.assert_array_equal(got, dense)   # the same bits as on dense copies
    mag = (backward_magnitude(g_before, x_before, **kw) if backward else None)
    assert_result(got, ref, mag=mag)
    assert seen and not any(seen), seen
    if block_bytes == 1000:
        assert len(seen) > 1
    if outspec != "x":
        np.testing.assert_array_equal(x, x_before)
    if g is not None and outspec != "g":
        np.testing.assert_array_equal(g, g_before)


def _across_mode(job, dtype, backward):
    """lrn_across_mode of a job from _api._jobs: 0 rows, 1 contiguous channels, 2 packed."""
    shape, sts, _, lo, hi = job
    return _lrn.across_mode(_api._dtype_code(dtype), int(backward), shape, sts[0],
                            sts[1] if backward else None, sts[-1], lo, hi)


# ---- channels-last with few channels: packed rows ---------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 8, 9, 16])
@pytest.mark.parametrize("backward", [False, True])
def test_few_channels_last(dtype, channels, backward):
    """Dense NHWC with fewer than 32 bytes of channels per pixel runs on packed rows
    (the contiguous-channel kernels' vectors would be mostly padding), with more on
    contiguous channels; both match the reference, packed rows bitwise the NCHW
    result."""
    item = np.dtype(dtype).itemsize
    nhwc = lambda seed: _in_order(random((3, channels, 9, 11), dtype, seed=seed), "h")
    x, g = nhwc(51), nhwc(52)
    job = _api._jobs([x, g, x] if backward else [x, x], 1, "across", 2, 2)[0]
    packed = _across_mode(job, dtype, backward) == 2
    assert packed == (channels > 1 and channels * item < 32)
    assert not _api._gathers(job, dtype, "across", backward)   # not element by element
    kw = dict(size=5, alpha=2.0, beta=0.75, k=1.5)
    if backward:
        got = lrn_fast.lrn_backward(g, x, **kw)
        ref = reference.lrn_backward(as64(g), as64(x), **kw)
        dense = lrn_fast.lrn_backward(np.ascontiguousarray(g), np.ascontiguousarray(x), **kw)
        assert_result(got, ref, mag=backward_magnitude(g, x, **kw))
    else:
        got = lrn_fast.lrn(x, **kw)
        ref = reference.lrn(as64(x), **kw)
        dense = lrn_fast.lrn(np.ascontiguousarray(x), **kw)
        assert_result(got, ref)
    assert got.strides == x.strides   # the result keeps the input's memory order
    if packed:   # packed rows run the NCHW rows kernels: the same bits
        np.testing.assert_array_equal(got, dense)


# ---- channels-last, compiled windows: a pixel's channels in registers ---------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 47, 64, 100])
@pytest.mark.parametrize("window", [(2, 2), (4, 4), (1, 1), (3, 3), (5, 5), (2, 1), (1, 2)])
@pytest.mark.parametrize("k", [1.5, 0.0])
def test_channels_last_register_windows(dtype, channels, window, k):
    """Dense NHWC with the compiled windows (sizes 3, 5, 7, 9, 11, and 4 with either
    side longer) keeps each pixel's squares (and the backward's r) in registers, each
    tap a shuffle of two vectors, where a side of the window is at most a vector:
    channel counts below, at and just past whole vectors of every target (4, 8 or 16
    float32 lanes, 2, 4 or 8 float64), forward and backward against the reference.
    With k = 0 the lanes past the last channel have an empty window (an infinite
    power): they must not reach any dx."""
    item = np.dtype(dtype).itemsize
    nhwc = lambda seed: _in_order(random((2, channels, 5, 7), dtype, seed=seed), "h")
    x, g = nhwc(61), nhwc(62)
    size = window[0] + window[1] + 1
    kw = dict(size=size, alpha=2.0, beta=0.75, k=k, window=window)
    for backward in (False, True):
        job = _api._jobs([x, g, x] if backward else [x, x], 1, "across", *window)[0]
        assert _across_mode(job, dtype, backward) == (2 if channels * item < 32 else 1)
    y = lrn_fast.lrn(x, **kw)
    assert_result(y, reference.lrn(as64(x), **kw))
    dx = lrn_fast.lrn_backward(g, x, **kw)
    assert np.isfinite(dx).all()
    assert_result(dx, reference.lrn_backward(as64(g), as64(x), **kw),
                  mag=backward_magnitude(g, x, **kw))
    assert y.strides == dx.strides == x.strides
    # in place (NHWC copies): a vector is stored after the loads of the ones ahead of it
    xx, gg, x2 = x.copy(order="K"), g.copy(order="K"), x.copy(order="K")
    np.testing.assert_array_equal(lrn_fast.lrn(xx, out=xx, **kw), y)
    np.testing.assert_array_equal(lrn_fast.lrn_backward(g, x2, out=x2, **kw), dx)
    np.testing.assert_array_equal(lrn_fast.lrn_backward(gg, x, out=gg, **kw), dx)


# ---- mixed memory orders: packed, each array as it lies -----------------------------
def _in_order(a, order):
    """a's values in NCHW ("c") or NHWC ("h") memory, as an NCHW-shaped array."""
    if order == "c":
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [3, 16, 21, 40])
@pytest.mark.parametrize("orders", ["hc", "ch", "hch", "chc", "hcc", "cch", "hhc"])
def test_mixed_memory_orders(dtype, channels, orders, monkeypatch):
    """x, grad_y and out in different memory orders (NCHW and NHWC; orders names x,
    [g,] out): the kernels read and write each as it lies (NHWC tiles transposed
    in registers, whole blocks of vectors and the rest element by element), never
    through Python's copies; values match the reference and the bits the NCHW
    call's."""
    backward = len(orders) == 3
    shape = (2, channels, 9, 11)   # 99 pixels: whole blocks of 8 and 16 and a rest
    x = _in_order(random(shape, dtype, seed=61), orders[0])
    g = _in_order(random(shape, dtype, seed=62), orders[1]) if backward else None
    out = _in_order(np.zeros(shape, dtype), orders[-1])
    x0, g0 = x.copy(order="K"), (g.copy(order="K") if backward else None)
    modes, gathered = [], []
    run = _lrn.run

    def spy(dt, reg, bwd, xa, xo, ga, go, ya, yo, shp, xs, gs, ys, lo, hi, *rest):
        modes.append(_lrn.across_mode(dt, bwd, shp, xs, gs, ys, lo, hi))
        gathered.append(_lrn.gathers(dt, reg, bwd, shp, xs, gs, ys, lo, hi))
        return run(dt, reg, bwd, xa, xo, ga, go, ya, yo, shp, xs, gs, ys, lo, hi, *rest)

    kw = dict(size=5, alpha=2.0, beta=0.75, k=1.5)
    if backward:
        dense = lrn_fast.lrn_backward(np.ascontiguousarray(g), np.ascontiguousarray(x), **kw)
        ref = reference.lrn_backward(as64(g), as64(x), **kw)
    else:
        dense = lrn_fast.lrn(np.ascontiguousarray(x), **kw)
        ref = reference.lrn(as64(x), **kw)
    monkeypatch.setattr(_lrn, "run", spy)
    got = (lrn_fast.lrn_backward(g, x, out=out, **kw) if backward
           else lrn_fast.lrn(x, out=out, **kw))
    assert got is out
    assert modes == [2] and gathered == [False]
    assert_result(got, ref, mag=backward_magnitude(g, x, **kw) if backward else None)
    np.testing.assert_array_equal(got, dense)   # the rows kernels, as for NCHW
    np.testing.assert_array_equal(x, x0)
    if backward:
        np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("orders", ["hc", "ch"])
@pytest.mark.parametrize("into", ["x", "g"])
def test_mixed_memory_orders_in_place(dtype, orders, into):
    """The backward in place (out=x or out=grad_y) with x and grad_y in different
    memory orders: the packed tile or the array itself is overwritten only after
    the tile has been read."""
    shape = (2, 40, 9, 11)
    x = _in_order(random(shape, dtype, seed=63), orders[0])
    g = _in_order(random(shape, dtype, seed=64), orders[1])
    kw = dict(size=5, alpha=2.0, beta=0.75, k=1.5)
    ref = reference.lrn_backward(as64(g), as64(x), **kw)
    mag = backward_magnitude(g, x, **kw)
    dense = lrn_fast.lrn_backward(np.ascontiguousarray(g), np.ascontiguousarray(x), **kw)
    out = x if into == "x" else g
    got = lrn_fast.lrn_backward(g, x, out=out, **kw)
    assert got is out
    assert_result(got, ref, mag=mag)
    np.testing.assert_array_equal(got, dense)
