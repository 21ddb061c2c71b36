"""lrn_fast.lrn_backward: against central finite differences of the float64
reference lrn (small shapes), and against reference.lrn_backward (larger
shapes, every layout, out=, windows, regions, dtypes)."""
import numpy as np
import pytest

import lrn_fast
from lrn_fast import reference
from conftest import DTYPES, as64, assert_result, check_backward, layouts, random

FD_CASES = [
    # shape, axis, region, size, window, alpha, beta, k
    ((2, 6, 3), 1, "across", 3, None, 2.0, 0.75, 1.0),
    ((2, 6, 3), 1, "across", 4, None, 2.0, 0.75, 1.0),
    ((2, 6, 3), -1, "across", 2, None, 1.5, 0.5, 0.5),
    ((3, 7), 1, "across", 6, None, 3.0, 1.0, 1.0),
    ((3, 7), 0, "across", 2, None, 3.0, 2.0, 2.0),
    ((2, 5, 4), 1, "across", 5, (0, 3), 2.0, 1.3, 0.7),
    ((2, 5, 4), 1, "across", 3, (4, 1), 2.0, 0.75, 1.0),
    ((1, 3, 4, 5), 1, "within", 2, None, 4.0, 0.75, 1.0),
    ((1, 3, 4, 5), 1, "within", 3, None, 4.0, 1.3, 0.5),
    ((1, 4, 5, 3), -1, "within", 4, None, 9.0, 0.75, 1.0),
    ((2, 3, 4, 5), 2, "within", 2, (1, 2), 4.0, 0.5, 1.0),
    ((1, 2, 3, 2, 3), 1, "within", 2, None, 8.0, 0.75, 1.0),
    ((2, 4, 7), 1, "within", 4, (0, 2), 3.0, 3.0, 1.0),
]


def _finite_differences(g, x, h=1e-5, **kw):
    """dL/dx with L = sum(g * lrn(x)), central differences of the reference."""
    dx = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        dx[i] = (np.sum(g * reference.lrn(xp, **kw)) - np.sum(g * reference.lrn(xm, **kw))) / (2 * h)
    return dx


@pytest.mark.parametrize("shape,axis,region,size,window,alpha,beta,k", FD_CASES)
def test_finite_differences(shape, axis, region, size, window, alpha, beta, k):
    x = random(shape, np.float64, seed=1)
    g = random(shape, np.float64, seed=2)
    kw = dict(size=size, alpha=alpha, beta=beta, k=k, axis=axis, region=region, window=window)
    fd = _finite_differences(g, x, **kw)
    got = lrn_fast.lrn_backward(g, x, **kw)
    # the second term of the gradient must matter in these cases
    assert np.abs(fd - g * (as64(reference.lrn(x, **kw)) / x)).max() > 1e-2 * np.abs(fd).max()
    scale = np.abs(fd).max()
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7 * scale)
    # the oracle agrees too
    np.testing.assert_allclose(reference.lrn_backward(g, x, **kw), fd, rtol=1e-6, atol=1e-7 * scale)


def _cases():
    shapes = {2: (3, 9), 3: (2, 9, 5), 4: (2, 7, 4, 5), 5: (2, 6, 3, 4, 3)}
    for rank, shape in shapes.items():
        for axis in sorted({1, rank // 2, rank - 1} | ({0} if rank == 2 else set())):
            for region in ("across", "within"):
                if region == "within" and (rank < 3 or axis == 0):
                    continue
                yield pytest.param(shape, axis, region, id=f"{rank}d-axis{axis}-{region}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8, 12])
@pytest.mark.parametrize("shape,axis,region", list(_cases()))
def test_grid(shape, axis, region, size, dtype):
    x = random(shape, dtype, seed=size)
    g = random(shape, dtype, seed=100 + size)
    dx = check_backward(g, x, size=size, alpha=2.0, beta=0.75, k=1.0, axis=axis, region=region)
    assert dx.dtype == dtype and dx.shape == shape


@pytest.mark.parametrize("beta", [0.75, 0.5, 1.0, 2.0, 3.0, 1.3, 0.25])
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_beta(beta, region, dtype):
    x = random((2, 9, 5, 4), dtype, seed=3, scale=2.0)
    g = random((2, 9, 5, 4), dtype, seed=4)
    check_backward(g, x, size=4, alpha=1.5, beta=beta, k=0.5, region=region)


@pytest.mark.parametrize("window", [(0, 0), (0, 3), (3, 0), (1, 2), (2, 1), (5, 5), (0, 12)])
@pytest.mark.parametrize("size", [1, 4, 5])
@pytest.mark.parametrize("region,axis", [("across", 1), ("across", -1), ("within", 1),
                                         ("within", -1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_window(window, size, region, axis, dtype):
    x = random((2, 7, 6, 5), dtype, seed=5)
    g = random((2, 7, 6, 5), dtype, seed=6)
    check_backward(g, x, size=size, window=window, region=region, axis=axis, alpha=2.0)


@pytest.mark.parametrize("beta", [0.75, 0.6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_window_of_9_to_16_taps(dtype, beta):
    """Across, NCHW: every (lo, hi) with 9 to 16 taps.  The kernel for these windows
    has a copy of its loop for each common split (lo and hi equal or one apart) and
    a general one for the rest: each must pick the right rows."""
    x = random((2, 21, 5, 3), dtype, seed=11)
    g = random((2, 21, 5, 3), dtype, seed=12)
    for n in range(9, 17):
        for lo in range(n):
            check_backward(g, x, size=n, window=(lo, n - 1 - lo), alpha=2.0, beta=beta)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("region,axis", [("across", 1), ("across", -1), ("across", 2),
                                         ("within", 1), ("within", -1)])
def test_layouts(region, axis, dtype):
    """x and grad_y each in every layout (independently)."""
    x = random((2, 7, 5, 6), dtype, seed=7)
    g = random((2, 7, 5, 6), dtype, seed=8)
    lx, lg = layouts(x), layouts(g)
    pairs = [(a, b) for a in lx for b in lg[:1]] + [(a, b) for a in lx[:1] for b in lg[1:]] \
        + list(zip(lx, lg[::-1]))
    for (nx, vx), (ng, vg) in pairs:
        bx, bg = vx.copy(), vg.copy()
        check_backward(vg, vx, size=4, alpha=2.0, axis=axis, region=region)
        np.testing.assert_array_equal(vx, bx, err_msg=f"x {nx} modified")
        np.testing.assert_array_equal(vg, bg, err_msg=f"grad_y {ng} modified")


@pytest.mark.parametrize("region", ["across", "within"])
def test_broadcast_views(region):
    x = random((3, 7, 5, 6), np.float32, seed=9)
    for gshape in [(1, 7, 1, 6), (3, 1, 5, 6), (1, 1, 1, 1)]:
        g = np.broadcast_to(random(gshape, np.float32, seed=10), x.shape)
        check_backward(g, x, size=3, alpha=2.0, region=region)
        check_backward(x, g, size=3, alpha=2.0, region=region)   # broadcast x


@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("target", ["grad_y", "x", "fresh-strided", "grad_y-channels-last",
                                    "x-reversed"])
def test_out(target, region, dtype):
    shape = (2, 9, 6, 7)
    g = random(shape, dtype, seed=11)
    x = random(shape, dtype, seed=12)
    if target == "grad_y-channels-last":
        g = np.moveaxis(np.ascontiguousarray(np.moveaxis(g, 1, -1)), -1, 1)
    if target == "x-reversed":
        x = x[::-1, :, ::-1]
    g0, x0 = g.copy(), x.copy()
    out = {"grad_y": g, "grad_y-channels-last": g, "x": x, "x-reversed": x,
           "fresh-strided": np.zeros((4, 9, 12, 14), dtype)[::2, :, 1::2, ::-2]}[target]
    assert lrn_fast.lrn_backward(g, x, 4, 2.0, region=region, out=out) is out
    check_backward(g0, x0, out, size=4, alpha=2.0, region=region)


@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("how", ["x+1", "x-3", "g+2", "between", "x-reversed", "g-transposed"])
def test_out_overlapping(how, region, dtype):
    """out shares memory with x and/or grad_y in another layout."""
    shape = (6, 6, 5, 4)
    n = int(np.prod(shape))
    buf = np.zeros(5 * n, dtype)
    x = buf[n:2 * n].reshape(shape)
    g = buf[3 * n:4 * n].reshape(shape)
    x[...] = random(shape, dtype, seed=13)
    g[...] = random(shape, dtype, seed=14)
    if how == "x-reversed":
        out = x[::-1]
    elif how == "g-transposed":
        out = g.swapaxes(0, 1)
    else:
        start = {"x+1": n + 1, "x-3": n - 3, "g+2": 3 * n + 2, "between": 2 * n - 7}[how]
        out = buf[start:start + n].reshape(shape)
    assert np.shares_memory(out, x) or np.shares_memory(out, g)
    g0, x0 = g.copy(), x.copy()
    assert lrn_fast.lrn_backward(g, x, 5, 2.0, region=region, out=out) is out
    check_backward(g0, x0, out, size=5, alpha=2.0, region=region)


def test_same_array_for_both_inputs():
    x = random((2, 8, 5), np.float64, seed=15)
    check_backward(x, x, size=3, alpha=2.0)
    y = x.copy()
    lrn_fast.lrn_backward(y, y, 3, 2.0, out=y)
    check_backward(x, x, y, size=3, alpha=2.0)


@pytest.mark.parametrize("beta", [0.6, 0.75, 2.5])
@pytest.mark.parametrize("axis", [1, -1])
@pytest.mark.parametrize("size", [5, 11])
def test_value_independent_of_its_neighbours(beta, axis, size):
    """Across channels, a pixel's dx depends on that pixel's channels only, to the bit:
    also when pixels beside it in the same SIMD vector take a kernel's rare path (the
    float generic beta forms s^-(beta + 1) by a fast power where s allows it, and
    s^-beta and 1/s elsewhere; the choice is made per element)."""
    shape = (2, 12, 5, 37) if axis == 1 else (2, 5, 37, 12)   # NCHW or NHWC
    c = axis % 4
    x = random(shape, np.float32, seed=31)
    g = random(shape, np.float32, seed=32)
    kw = dict(size=size, alpha=1.0, beta=beta, k=1.0, axis=axis)
    dx = lrn_fast.lrn_backward(g, x, **kw)
    xe, keep = x.copy(), np.ones(shape, bool)
    pix = [(0, 0, 0), (0, 2, 17), (1, 4, 36), (1, 1, 8)]
    for (n, h, w), v in zip(pix, [1e6, 3e6, 0.0, 3e3]):
        np.moveaxis(xe, c, -1)[n, h, w, :] = v          # every channel of the pixel
        np.moveaxis(keep, c, -1)[n, h, w, :] = False
    for threads in (1, 2):
        de = lrn_fast.lrn_backward(g, xe, num_threads=threads, **kw)
        np.testing.assert_array_equal(de[keep], dx[keep])
        check_backward(g, xe, de, **kw)


def test_float16_large_values():
    x = (random((2, 8, 4, 4), np.float64, seed=16) * 500).astype(np.float16)
    g = random((2, 8, 4, 4), np.float16, seed=17)
    for region in ("across", "within"):
        dx = lrn_fast.lrn_backward(g, x, 5, 1e-4, region=region)
        assert dx.dtype == np.float16 and np.isfinite(dx).all()
        assert_result(dx, reference.lrn_backward(as64(g), as64(x), 5, 1e-4, region=region))


@pytest.mark.parametrize("window", [(0, 10), (1, 9), (10, 0), (5, 5), (0, 20), (1, 19), (20, 0)])
@pytest.mark.parametrize("axis", [1, -1])
@pytest.mark.parametrize("target", ["x", "grad_y"])
def test_in_place_long_windows(window, axis, target):
    """The across backward of more than 8 taps (running sums before and after the
    centre), in place: NCHW rows, NHWC up to 16 taps, NHWC gathered beyond."""
    shape = (2, 40, 9, 7) if axis == 1 else (2, 9, 7, 40)
    x = random(shape, np.float32, seed=41)
    g = random(shape, np.float32, seed=42)
    kw = dict(size=sum(window) + 1, window=window, alpha=2.0, beta=0.75, k=1.0, axis=axis)
    xx, gg = x.copy(), g.copy()
    got = lrn_fast.lrn_backward(gg, xx, out=xx if target == "x" else gg, **kw)
    check_backward(g, x, got=got, **kw)
