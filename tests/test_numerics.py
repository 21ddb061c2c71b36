"""Non-finite values and edge numerics, each against the float64 reference:
NaN/inf stay inside the windows that hold them, beta = 0 is the identity,
bases <= 0 behave like the reference's pow, float16 does not overflow,
subnormals are exact and nothing turns flush-to-zero on in the process."""
import time

import numpy as np
import pytest

import lrn_fast
from lrn_fast import reference
from conftest import as64, assert_result, check_backward, check_forward, random, run_python

FUNCS = ["lrn", "lrn_backward"]


def run(fn, x, g, **kw):
    return lrn_fast.lrn(x, **kw) if fn == "lrn" else lrn_fast.lrn_backward(g, x, **kw)


def ref(fn, x, g, **kw):
    x = np.asarray(x, np.float64)
    if fn == "lrn":
        return reference.lrn(x, **kw)
    return reference.lrn_backward(np.asarray(g, np.float64), x, **kw)


def check(fn, x, g, **kw):
    got = run(fn, x, g, **kw)
    assert_result(got, ref(fn, x, g, **kw), floor=1e-6 if fn == "lrn" else 1e-2)
    return got


# ---- NaN and inf stay in their windows ------------------------------------------------
@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region, axis", [("across", 1), ("across", -1), ("within", 1)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("size", [3, 4, 6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [0.75, 0.6])
def test_nonfinite_stays_in_its_windows(fn, region, axis, bad, where, size, dtype, beta):
    # beta 0.6: a vector of the generic power that holds a NaN or inf takes the careful
    # version of the power; its other lanes must keep the bits of the fast one
    x = random((2, 13, 9, 11), dtype, seed=20)
    g = random((2, 13, 9, 11), dtype, seed=21)
    kw = dict(size=size, region=region, axis=axis, beta=beta)
    clean = run(fn, x, g, **kw)
    i = {"first": 0, "middle": 5, "last": -1}[where]
    xb = x.copy()
    xb[1, i, i, i] = bad
    got = check(fn, xb, g, **kw)
    # the outputs the bad value does not reach are bit for bit those of the clean input
    reached = ~np.isclose(ref(fn, xb, g, **kw), ref(fn, x, g, **kw), rtol=0, atol=0,
                          equal_nan=False)
    assert reached.any() and (~reached).any()
    np.testing.assert_array_equal(got[~reached], clean[~reached])


@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_grad_stays_in_its_windows(region, bad):
    x = random((2, 13, 9, 11), np.float32, seed=22)
    g = random((2, 13, 9, 11), np.float32, seed=23)
    gb = g.copy()
    gb[0, 6, 4, 5] = bad
    got = check("lrn_backward", x, gb, region=region)
    clean = lrn_fast.lrn_backward(g, x, region=region)
    reached = ~np.isclose(reference.lrn_backward(gb, x, region=region),
                          reference.lrn_backward(g, x, region=region), rtol=0, atol=0)
    np.testing.assert_array_equal(got[~reached], clean[~reached])


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
def test_huge_finite_float32_stays_in_its_windows(fn, region):
    """3e19**2 overflows float32: the windows holding it see s = inf (documented),
    but no other output may change."""
    x = random((2, 13, 9, 11), np.float32, seed=24)
    g = random((2, 13, 9, 11), np.float32, seed=25)
    xb = x.copy()
    xb[1, 6, 4, 5] = 3e19
    got = run(fn, xb, g, region=region)
    clean = run(fn, x, g, region=region)
    xinf = x.copy()
    xinf[1, 6, 4, 5] = np.inf
    reached = ~np.isclose(ref(fn, xinf, g, region=region), ref(fn, x, g, region=region),
                          rtol=0, atol=0)
    np.testing.assert_array_equal(got[~reached], clean[~reached])
    assert not np.isnan(got[~reached]).any()


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clean_call_after_nonfinite_call(fn, region, dtype):
    """Nothing of a call with NaN/inf inputs leaks into the next call (scratch memory
    reused from the heap must not matter)."""
    shapes = [(2, 7, 4, 5), (1, 96, 13, 13), (3, 16, 64), (1, 5, 33, 2)]
    for rep in range(10):
        for shape in shapes:
            bad = np.full(shape, np.nan if rep % 2 else np.inf, dtype)
            run(fn, bad, bad, region=region)
            x = random(shape, dtype, seed=rep)
            check(fn, x, x[::-1].copy(), region=region)
            check(fn, x, x[::-1].copy(), region=region, size=3 + rep)


# ---- beta = 0 ---------------------------------------------------------------------------
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("k, alpha", [(1.0, 1e-4), (-2.0, 1.0), (0.0, 0.0), (0.0, -3.0)])
def test_beta_zero_is_identity(region, dtype, k, alpha):
    x = random((2, 6, 5, 4), dtype, seed=26) * dtype(100)
    x[0, 0, 0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    x[0, 1, 0, 0] = np.finfo(dtype).max
    x[1, 2, 3, 0] = np.finfo(dtype).smallest_subnormal
    g = random((2, 6, 5, 4), dtype, seed=27)
    g[1, 1, 1, :3] = [np.nan, -np.inf, -0.0]
    for beta in (0.0, -0.0, 0):
        kw = dict(size=5, alpha=alpha, beta=beta, k=k, region=region)
        y = lrn_fast.lrn(x, **kw)
        assert y.dtype == dtype and y.tobytes() == x.tobytes()
        d = lrn_fast.lrn_backward(g, x, **kw)
        assert d.dtype == dtype and d.tobytes() == g.tobytes()
        out = np.empty_like(x)
        assert lrn_fast.lrn(x, out=out, **kw) is out and out.tobytes() == x.tobytes()
        xs = x.astype(x.dtype.newbyteorder(">"))
        assert lrn_fast.lrn(xs, **kw).tobytes() == x.tobytes()


# ---- bases <= 0 ---------------------------------------------------------------------------
# values whose squares and window sums are exact in float32, so that the base is the
# same number in every precision (zero bases are hit exactly, not nearly)
GRID = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0])


def grid_data(shape, seed):
    return np.random.default_rng(seed).choice(GRID, size=shape)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("beta", [0.75, 0.5, 1.0, 2.0, 3.0, 1.5, 0.3, 4.0, -1.0, -0.5, -2.0])
@pytest.mark.parametrize("k, alpha", [(-1.0, 1e-4), (1.0, -5.0), (-0.5, 2.5), (0.0, 1.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nonpositive_base(fn, region, beta, k, alpha, dtype):
    x = grid_data((2, 7, 4, 5), 28).astype(dtype)
    g = grid_data((2, 7, 4, 5), 29).astype(dtype)
    kw = dict(size=5, alpha=alpha, beta=beta, k=k, region=region)
    if region == "within":
        kw["alpha"] = alpha * 5          # the same base: the divisor is 25 there
    got = run(fn, x, g, **kw)
    want = ref(fn, x, g, **kw)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    fin = np.isfinite(want)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.abs(want[fin]).max() if fin.any() else 0.0
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("beta", [1.0, 2.0, 3.0, -1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_negative_base_integer_beta_is_finite(fn, beta, dtype):
    x = random((2, 7, 4, 5), dtype, seed=30)
    kw = dict(size=5, alpha=1e-4, beta=beta, k=-1.0)
    got = run(fn, x, x, **kw)
    want = ref(fn, x, x, **kw)
    assert np.isfinite(want).all() and np.isfinite(got).all()
    assert_result(got, want, floor=1e-2)
    half = run(fn, x, x, **dict(kw, beta=beta + 0.5))
    assert np.isnan(half).sum() >= x.size // 2      # non-integer beta: NaN (as the reference)


# ---- float32 parameters and intermediates at the ends of the float32 range -------------------
@pytest.mark.parametrize("fn", FUNCS)
def test_float32_alpha_over_divisor_below_normal_range(fn):
    """alpha / D (and 2 alpha beta / D) below float32's smallest normal number (1.2e-38):
    a subnormal float32 coefficient keeps only a few bits, so the result is off by up
    to ~1e-3 relative.  Here with k = 0, where the coefficient is all of the base, and with
    a huge within-channel divisor (size**4 = 2**124)."""
    x = random((2, 8, 4, 4), np.float32, seed=42)
    g = random((2, 8, 4, 4), np.float32, seed=43)
    check(fn, x, g, size=5, alpha=1e-40, beta=0.75, k=0.0)
    x6 = random((1, 2, 2, 2, 2, 2), np.float32, seed=44)
    g6 = np.zeros_like(x6)          # the backward is then all coefficient term
    check(fn, x6, g6 if fn == "lrn_backward" else None, size=2 ** 31 + 1, region="within")


def test_float32_backward_tiny_base_does_not_overflow():
    """k = 0 and alpha = 1e-30: the base s ~ 1e-30 and the gradient ~ 1e22 are float32
    numbers, but g * y / s ~ 1e52 is not: the backward must not return inf/NaN where
    the reference's result is finite and within float32's range."""
    x = random((2, 8, 4, 4), np.float32, seed=45)
    want = reference.lrn_backward(x, x, 5, 1e-30, 0.75, 0.0)
    assert np.abs(want).max() < 1e30
    assert_result(lrn_fast.lrn_backward(x, x, 5, 1e-30, 0.75, 0.0), want, floor=1e-2)


@pytest.mark.parametrize("region", ["across", "within"])
def test_float32_zero_k_tiny_inputs_underflow_as_documented(region):
    """k = 0 and inputs so small that alpha/n * (sum of squares) is below float32's
    range: float32 computes in float32 (documented), so the base underflows to 0 and
    y = x * inf = inf where the float64 reference is finite; dtype=np.float64 gives the
    reference's result; every window with a normal base stays right."""
    x = random((2, 7, 5, 6), np.float32, seed=46)
    x[0, 2:5] *= np.float32(1e-30)          # whole windows of tiny values
    kw = dict(size=3, alpha=1e-4, beta=0.75, k=0.0, region=region)
    want = reference.lrn(x, **kw)
    assert np.isfinite(want).all()
    got = lrn_fast.lrn(x, **kw)
    assert np.isinf(got[0, 3]).any()
    assert_result(lrn_fast.lrn(x, dtype=np.float64, **kw), want)
    assert_result(got[1], want[1])


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("beta", [1.0, 0.75, 0.5])
def test_float32_base_near_the_top_of_the_range(fn, region, beta):
    """Window bases s in [2^126, 2^128): 1/s is below float32's smallest normal number
    there (a reciprocal estimate such as rcp_ps gives 0 for it: y and dx were 0 on the
    AVX2 path).  Here from a huge alpha / n (4e36 across, 1e36 within 5 x 5) and
    |x| in [1.5, 3]; |x| ~ 1e19 with alpha / n = 1 does it too."""
    rng = np.random.default_rng(47)
    x = (rng.uniform(1.5, 3.0, (2, 7, 5, 6)) * rng.choice([-1.0, 1.0], (2, 7, 5, 6))).astype(np.float32)
    g = random(x.shape, np.float32, seed=48)
    n = 5 if region == "across" else 25
    a = 4e36 if region == "across" else 1e36
    kw = dict(size=5, alpha=a * n, beta=beta, k=1.0, region=region)
    s = a * reference._window_sum(as64(x) ** 2, *reference._setup(x, 1, region, 5, None)[1:4])
    assert (s >= 2.0 ** 126).mean() > 0.3 and s.max() < 3.4e38
    if fn == "lrn":
        check_forward(x, **kw)
        big = np.full((1, 3, 4, 40), 1e19, np.float32)
        check_forward(big, size=1, alpha=1.0, beta=beta, k=1.0, region=region)
    else:
        check_backward(g, x, **kw)


@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("beta", [1.0, 0.75, 0.5])
def test_float32_zero_k_subnormal_base_keeps_the_sign(region, beta):
    """k = 0 and bases below 2^-128: float32 s is subnormal and 1/s overflows (beta 1:
    y = +-inf, as documented for k = 0); y keeps the sign of x (the reciprocal's
    Newton step had turned its inf into -inf on the AVX-512 path)."""
    x = random((2, 7, 5, 6), np.float32, seed=49) * np.float32(1e-21)
    kw = dict(size=3, alpha=1.0, beta=beta, k=0.0, region=region)
    got = lrn_fast.lrn(x, **kw)
    np.testing.assert_array_equal(np.sign(got), np.sign(x))
    if beta == 1.0:
        assert np.isinf(got[x != 0]).mean() > 0.5
    assert_result(lrn_fast.lrn(x, dtype=np.float64, **kw), reference.lrn(x, **kw))


# ---- float16 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("scale", [300.0, 3000.0, 60000.0])
def test_float16_large_values_do_not_overflow(fn, region, scale):
    x = np.clip(random((2, 9, 6, 5), np.float64, seed=31) * scale, -65504, 65504).astype(np.float16)
    x[0, 4, 3, 2] = 65504
    g = random((2, 9, 6, 5), np.float16, seed=32)
    kw = dict(size=5, alpha=1e-4, beta=0.75, k=2.0, region=region)
    got = run(fn, x, g, **kw)
    assert got.dtype == np.float16
    want = ref(fn, x, g, **kw)
    assert np.isfinite(want).all() and np.isfinite(got).all()
    assert_result(got, want)
    got32 = run(fn, x.astype(np.float32), g.astype(np.float32), **kw)
    np.testing.assert_array_equal(got, got32.astype(np.float16))


# ---- subnormals and flush-to-zero --------------------------------------------------------------
def subnormal_data(shape, dtype, seed):
    tiny = np.finfo(dtype).smallest_subnormal
    x = random(shape, np.float64, seed=seed) * 1000 * float(tiny)
    return x.astype(dtype)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_subnormal_inputs(fn, region, dtype):
    x = subnormal_data((2, 9, 6, 5), dtype, 33)
    assert ((x != 0) & (np.abs(x) < np.finfo(dtype).tiny)).mean() > 0.5
    g = subnormal_data((2, 9, 6, 5), dtype, 34)
    kw = dict(region=region)
    got = run(fn, x, g, **kw)
    want = ref(fn, x, g, **kw)
    # exact: the squares vanish, s = k = 1, so y = x and dx = g
    np.testing.assert_array_equal(got, want.astype(dtype))
    assert (got != 0).any()
    # mixed with normal values: compare as usual
    xm = x + random(x.shape, dtype, seed=35) * (np.arange(x.size).reshape(x.shape) % 2)
    check(fn, xm, g, **kw)
    # subnormal parameters
    check(fn, random(x.shape, np.float64, seed=36), g.astype(np.float64), alpha=5e-320, k=1.0,
          region=region)


def test_subnormal_speed_ratio():
    """Reports how much slower subnormal inputs are (no assertion: timing is noise
    on shared machines; the ratio is printed)."""
    for dtype in (np.float32, np.float64):
        xs = subnormal_data((4, 64, 32, 32), dtype, 37)
        # normal inputs whose squares (and window sums) are subnormal
        sq = np.sqrt(float(np.finfo(dtype).smallest_subnormal)) * 100
        xq = (random((4, 64, 32, 32), np.float64, seed=37) * sq).astype(dtype)
        xn = random((4, 64, 32, 32), dtype, seed=38)
        for fn in FUNCS:
            best = {}
            for name, x in (("normal", xn), ("subnormal", xs), ("subnormal squares", xq)):
                run(fn, x, x, num_threads=1)
                ts = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    run(fn, x, x, num_threads=1)
                    ts.append(time.perf_counter() - t0)
                best[name] = min(ts)
            print(f"{fn} {np.dtype(dtype).name}: time / normal inputs' time: "
                  f"subnormal inputs {best['subnormal'] / best['normal']:.2f}, "
                  f"subnormal squares {best['subnormal squares'] / best['normal']:.2f}")


def _assert_no_ftz():
    assert np.float32(1e-40) * np.float32(1) == np.float32(1e-40) != 0
    assert (np.array([5e-324]) * 1.0)[0] == 5e-324
    assert np.float64(5e-324) + np.float64(0) != 0
    assert (np.array([1e-40], np.float32) * np.float32(1.0))[0] != 0
    assert np.nextafter(np.float32(0), np.float32(1)) * np.float32(2) > 0


def test_no_flush_to_zero_in_process():
    _assert_no_ftz()
    x = random((4, 64, 64, 64), np.float32, seed=39)
    lrn_fast.lrn(x, num_threads=2)
    lrn_fast.lrn_backward(x, x, num_threads=2, region="within")
    lrn_fast.lrn(x.astype(np.float16), num_threads=1)
    _assert_no_ftz()


def test_no_flush_to_zero_after_import():
    """In a fresh interpreter: subnormals survive importing lrn_fast and calling it."""
    code = (
        "import numpy as np\n"
        "def ok():\n"
        "    return (np.float32(1e-40) * np.float32(1) != 0 and\n"
        "            (np.array([5e-324]) * 1.0)[0] == 5e-324)\n"
        "assert ok()\n"
        "import lrn_fast\n"
        "assert ok(), 'after import'\n"
        "x = np.random.default_rng(0).standard_normal((4, 64, 64, 64)).astype(np.float32)\n"
        "lrn_fast.lrn(x, num_threads=2); lrn_fast.lrn_backward(x, x)\n"
        "assert ok(), 'after calls'\n"
        "print('ok')\n")
    assert run_python(code, timeout=120).strip() == "ok"
