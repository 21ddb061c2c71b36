"""The public API: argument checks (clear exceptions that name the argument),
out= handling, accepted inputs, and the runtime report."""
import numpy as np
import pytest
from numpy.exceptions import AxisError

import lrn_fast
from lrn_fast import reference
from conftest import assert_close, backward_magnitude, random

X = random((2, 6, 4, 3), np.float32, seed=0)
FUNCS = {"lrn": lambda x=X, **kw: lrn_fast.lrn(x, **kw),
         "lrn_backward": lambda x=X, **kw: lrn_fast.lrn_backward(x, x, **kw)}
both = pytest.mark.parametrize("f", list(FUNCS.values()), ids=list(FUNCS))


@both
@pytest.mark.parametrize("size,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                      (True, TypeError), ("3", TypeError), (None, TypeError),
                                      (np.float64(3.0), TypeError)])
def test_bad_size(f, size, exc):
    with pytest.raises(exc, match="size"):
        f(size=size)


@both
def test_numpy_int_size(f):
    np.testing.assert_array_equal(f(size=np.int64(3)), f(size=3))


@both
@pytest.mark.parametrize("name", ["alpha", "beta", "k"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_params(f, name, value):
    with pytest.raises(ValueError, match=name):
        f(**{name: value})


@both
@pytest.mark.parametrize("name", ["alpha", "beta", "k"])
@pytest.mark.parametrize("value", ["1", None, 1j, [1.0]])
def test_non_real_params(f, name, value):
    with pytest.raises(TypeError, match=name):
        f(**{name: value})


@both
@pytest.mark.parametrize("region", ["foo", "Across", "", None, 1])
def test_bad_region(f, region):
    with pytest.raises(ValueError, match="region"):
        f(region=region)


@both
@pytest.mark.parametrize("axis", [4, -5, 100])
def test_axis_out_of_range(f, axis):
    with pytest.raises(AxisError):
        f(axis=axis)


@both
@pytest.mark.parametrize("axis", [1.0, "1", None])
def test_axis_not_int(f, axis):
    with pytest.raises(TypeError, match="axis"):
        f(axis=axis)


@both
@pytest.mark.parametrize("axis", [0, -4])
def test_within_axis0(f, axis):
    with pytest.raises(ValueError, match="axis"):
        f(region="within", axis=axis)


@both
@pytest.mark.parametrize("n,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                   (True, TypeError)])
def test_bad_num_threads(f, n, exc):
    with pytest.raises(exc, match="num_threads"):
        f(num_threads=n)


@both
@pytest.mark.parametrize("window,exc", [((-1, 2), ValueError), ((1, -2), ValueError),
                                        (3, TypeError), ((1, 2, 3), TypeError),
                                        ((1.5, 2), TypeError), ("ab", TypeError)])
def test_bad_window(f, window, exc):
    with pytest.raises(exc, match="window"):
        f(window=window)


@both
@pytest.mark.parametrize("kw", [dict(order="X"), dict(casting="bogus"), dict(dtype=np.int32),
                                dict(dtype=np.complex128), dict(dtype="nonsense")])
def test_bad_options(f, kw):
    (name,) = kw
    with pytest.raises((ValueError, TypeError), match=name):
        f(**kw)


# ---- out= ---------------------------------------------------------------------------
@both
def test_out_wrong_shape(f):
    with pytest.raises(ValueError, match="out"):
        f(out=np.empty((2, 6, 4, 4), np.float32))
    with pytest.raises(ValueError, match="out"):
        f(out=np.empty((2, 6, 12), np.float32))


@both
def test_out_read_only(f):
    out = np.empty(X.shape, np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        f(out=out)
    with pytest.raises(ValueError, match="out"):
        f(out=np.broadcast_to(np.float32(0), X.shape))


@both
@pytest.mark.parametrize("out", [[0.0] * 3, 1.0, "out", X.tolist()])
def test_out_not_array(f, out):
    with pytest.raises(TypeError, match="out"):
        f(out=out)


@both
@pytest.mark.parametrize("odtype,casting", [(np.int32, "same_kind"), (np.float16, "safe"),
                                            (np.float64, "no"), (bool, "same_kind"),
                                            (np.float16, "equiv")])
def test_out_dtype_casting(f, odtype, casting):
    with pytest.raises(TypeError, match="out"):
        f(out=np.empty(X.shape, odtype), casting=casting)


@both
def test_out_unsafe_casting_allowed(f):
    out = np.empty(X.shape, np.int64)
    assert f(out=out, casting="unsafe", alpha=1.0) is out


@both
def test_out_tuple(f):
    out = np.empty(X.shape, np.float32)
    assert f(out=(out,)) is out
    np.testing.assert_array_equal(out, f())
    with pytest.raises(ValueError, match="out"):
        f(out=(out, out))
    with pytest.raises((ValueError, TypeError), match="out"):
        f(out=())


def test_grad_shape_mismatch():
    with pytest.raises(ValueError, match="grad_y"):
        lrn_fast.lrn_backward(X[:, :5], X)
    with pytest.raises(ValueError, match="grad_y"):
        lrn_fast.lrn_backward(X[None], X)


# ---- inputs ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [X.astype(np.complex64), X.astype(object),
                                 np.full((2, 3, 4), "a"), np.zeros((2, 3), "S2"),
                                 np.zeros((2, 3), "datetime64[s]"),
                                 np.zeros((2, 3), np.longdouble)
                                 if np.dtype(np.longdouble).itemsize > 8 else np.zeros((2, 3), "m8"),
                                 [[1, 2], [3]]])
def test_bad_input_types(bad):
    with pytest.raises(TypeError, match="x"):
        lrn_fast.lrn(bad)
    with pytest.raises(TypeError):
        lrn_fast.lrn_backward(bad, X)
    good = np.zeros(np.shape(bad) if not isinstance(bad, list) else (2, 2))
    if not isinstance(bad, list):
        with pytest.raises(TypeError, match="grad_y"):
            lrn_fast.lrn_backward(bad, good)


@pytest.mark.parametrize("shape,region", [((), "across"), ((5,), "across"), ((4, 5), "within"),
                                          ((5,), "within")])
def test_rank_too_low(shape, region):
    x = np.ones(shape)
    with pytest.raises(ValueError, match="dimensions"):
        lrn_fast.lrn(x, region=region)
    with pytest.raises(ValueError, match="dimensions"):
        lrn_fast.lrn_backward(x, x, region=region)


@both
@pytest.mark.parametrize("kw", ["where", "subok", "keepdims", "signature"])
def test_unknown_keywords(f, kw):
    with pytest.raises(TypeError, match=kw):
        f(**{kw: True})


def test_positional_only_and_keyword_only():
    with pytest.raises(TypeError):
        lrn_fast.lrn(x=X)
    with pytest.raises(TypeError):
        lrn_fast.lrn(X, 5, 1e-4, 0.75, 1.0, 1)            # axis is keyword-only
    np.testing.assert_array_equal(lrn_fast.lrn(X, 3, 0.5, 0.6, 2.0),
                                  lrn_fast.lrn(X, size=3, alpha=0.5, beta=0.6, k=2.0))


def test_lists_and_scalars_of_python_types():
    x = [[[1, 2], [3, 4], [5, 6]]]
    y = lrn_fast.lrn(x, 3, 0.5)
    assert isinstance(y, np.ndarray) and y.dtype == np.float64 and y.shape == (1, 3, 2)
    assert_close(y, reference.lrn(np.array(x, float), 3, 0.5), 1e-12)
    y = lrn_fast.lrn([[True, False], [True, True]], 2, 1.0)
    assert y.dtype == np.float64
    dx = lrn_fast.lrn_backward(x, x, 3, 0.5, region="within")
    assert dx.dtype == np.float64 and dx.shape == (1, 3, 2)


def test_input_not_modified():
    x = random((2, 7, 5, 4), np.float64, seed=1)
    g = random((2, 7, 5, 4), np.float64, seed=2)
    xc, gc = x.copy(), g.copy()
    for region in ("across", "within"):
        lrn_fast.lrn(x, region=region)
        lrn_fast.lrn_backward(g, x, region=region)
        lrn_fast.lrn(x, region=region, out=np.empty_like(x))
        lrn_fast.lrn_backward(g, x, region=region, out=np.empty_like(x))
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(g, gc)


def test_returns_new_array_without_out():
    x = random((2, 6, 3), np.float32, seed=3)
    for beta in (0.75, 0.0):
        y = lrn_fast.lrn(x, beta=beta)
        assert not np.shares_memory(y, x)
        dx = lrn_fast.lrn_backward(x, x, beta=beta)
        assert not np.shares_memory(dx, x)


# ---- runtime report ---------------------------------------------------------------------
def test_runtime_info(capsys):
    info = lrn_fast.runtime_info()
    assert info["version"] == lrn_fast.__version__
    assert info["cpu_targets_supported"] == lrn_fast.available_targets()
    assert "baseline" in lrn_fast.available_targets()
    assert info["dispatch"].split()[0] in ("baseline", "AVX2", "AVX512_SKX")
    assert isinstance(info["max_threads"], int) and info["max_threads"] >= 1
    avx512 = info["dispatch"].split()[0] == "AVX512_SKX"
    assert info["stream_above_bytes"] == (lrn_fast._lrn.stream_above() if avx512 else None)
    lrn_fast.show_runtime()
    out = capsys.readouterr().out
    assert "lrn_fast" in out and "dispatch" in out
    assert ("non-temporal stores: outputs from " in out) == avx512


def test_layouts_remembered_per_shape_and_strides():
    """The kernels' job layout is worked out once per (shape, strides, axis, window,
    region) and reused (_api._layout_jobs): calls that differ in any one of them,
    interleaved and repeated on fresh data, each give the reference's answer."""
    views = {"C": lambda s: random((3, 8, 5, 6), np.float32, seed=s),
             "NHWC view": lambda s: random((3, 5, 6, 8), np.float32, seed=s).transpose(0, 3, 1, 2),
             "step": lambda s: random((3, 8, 5, 12), np.float32, seed=s)[..., ::2],
             "F": lambda s: np.asfortranarray(random((3, 8, 5, 6), np.float32, seed=s)),
             "unmergeable": lambda s: random((3, 24, 5, 6), np.float32, seed=s)[:, ::3]}
    calls = [(name, kw) for name in views
             for kw in ({}, dict(axis=-1), dict(size=3), dict(window=(0, 2)),
                        dict(region="within", size=3))]
    for rnd in range(2):
        for name, kw in calls:
            x = views[name](10 + rnd)                  # other data, the same layout
            g = views[name](20 + rnd)
            assert x.shape == (3, 8, 5, 6)
            want = reference.lrn(x, alpha=1.0, **kw)
            assert_close(lrn_fast.lrn(x, alpha=1.0, **kw), want, 1e-6)
            want_b = reference.lrn_backward(g, x, alpha=1.0, **kw)
            assert_close(lrn_fast.lrn_backward(g, x, alpha=1.0, **kw), want_b, 1e-6,
                         mag=backward_magnitude(g, x, alpha=1.0, **kw))


# ---- the common call, run without the Python layer (_lrn.common) -----------------------
def _contiguous_cases():
    """C-contiguous arrays of every kind _api._collapse merges differently: length-1
    axes, C = 1, the channels first, last or between, 2 to 5 dims, and a length-1
    axis with a stride numpy lets it have (relaxed strides)."""
    for shape in [(2, 6), (1, 6), (6, 1), (3, 1, 5), (1, 7, 1), (2, 5, 4, 3), (1, 96, 5, 5),
                  (2, 1, 3, 4), (1, 1, 1, 1), (2, 3, 4, 5, 2)]:
        for axis in range(-len(shape), len(shape)):
            yield random(shape, np.float32, seed=len(shape) + axis), axis
    a = random((3, 1, 4, 5), np.float32, seed=5)
    odd = np.lib.stride_tricks.as_strided(a, strides=(80, 4000, 20, 4))   # axis 1 of length 1
    assert odd.flags.c_contiguous
    yield odd, 1
    yield odd, 2


def test_common_call_job_is_the_layout_job():
    """The job `common` builds for C-contiguous arrays is the one _api._layout_jobs
    works out (the same kernels, tiles and bits as before it existed)."""
    from lrn_fast import _api, _lrn
    n = 0
    for x, axis in _contiguous_cases():
        for region in ("across", "within"):
            ax = axis % x.ndim
            if region == "within" and (x.ndim < 3 or ax == 0):
                continue
            for size in (1, 2, 5, 1000):
                for g in (None, x.copy()):
                    y = np.empty_like(x)
                    arrays = [x, y] if g is None else [x, g, y]
                    before, after = size // 2, (size - 1) // 2
                    (shape, sts, offs, lo, hi), loops = _api._layout_jobs(
                        x.shape, tuple(a.strides for a in arrays), x.itemsize, ax, region,
                        before, after)
                    assert not loops and offs == [0] * len(arrays)
                    want = (shape, sts[0], sts[1] if g is not None else [0] * len(shape),
                            sts[-1], lo, hi)
                    got = _lrn.common_job(x, g, y, ax, 0 if region == "across" else 1, size)
                    assert tuple(got) == want, (x.shape, x.strides, axis, region, size)
                    n += 1
    assert n > 300


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backward", [False, True])
def test_common_call_same_bits_as_python_path(dtype, backward):
    """Calls that `common` runs give the bits of the validated Python path
    (_api._lrn_impl) and the reference's values: both regions, every axis, fast
    and generic betas, out= (also in place) and thread counts."""
    from lrn_fast import _api, _lrn
    ran = 0
    for i, (x, axis) in enumerate(_contiguous_cases()):
        x = np.ascontiguousarray(x, dtype=dtype) * 3
        g = random(x.shape, dtype, seed=100 + i)
        for region, beta, k, thr in [("across", 0.75, 1.0, None), ("across", 0.6, 2, 2),
                                     ("within", 0.5, 1.0, 1), ("within", 1, 0.5, None)]:
            ax = axis % x.ndim
            if region == "within" and (x.ndim < 3 or ax == 0):
                continue
            kw = dict(size=3, alpha=0.5, beta=beta, k=k, axis=axis, region=region,
                      num_threads=thr)
            args = (g, x) if backward else (x,)
            f = lrn_fast.lrn_backward if backward else lrn_fast.lrn
            slow = _api._lrn_impl(x, g if backward else None, 3, 0.5, beta, k, axis, region,
                                  None, None, None, "same_kind", "K", thr)
            got = _lrn.common(x, g if backward else None, 3, 0.5, beta, k, axis, region,
                              None, None, None, "same_kind", "K", thr)
            assert got is not None
            np.testing.assert_array_equal(got, slow)
            np.testing.assert_array_equal(f(*args, **kw), slow)
            out = np.full_like(x, np.nan)
            assert f(*args, out=out, **kw) is out
            np.testing.assert_array_equal(out, slow)
            inplace = (g if backward else x).copy()
            a2 = (inplace, x) if backward else (inplace,)
            assert f(*a2, out=inplace, **kw) is inplace
            np.testing.assert_array_equal(inplace, slow)
            kw.pop("num_threads")
            ref = reference.lrn_backward(g, x, **kw) if backward else reference.lrn(x, **kw)
            assert_close(slow, ref, 1e-6 if dtype == np.float32 else 1e-13,
                         mag=backward_magnitude(g, x, **kw) if backward else None)
            ran += 1
    assert ran > 50


def _declined():
    """Calls `common` leaves to the Python layer: (description, x, g, keywords)."""
    x = random((2, 6, 4, 3), np.float32, seed=1)
    base = dict(size=5, alpha=1e-4, beta=0.75, k=1.0, axis=1, region="across", window=None,
                out=None, dtype=None, casting="same_kind", order="K", num_threads=None)
    ro = x.copy()
    ro.flags.writeable = False
    big = np.zeros(x.size + 1, np.float32)
    yield from [
        ("list", x.tolist(), None, {}), ("float16", x.astype(np.float16), None, {}),
        ("big-endian", x.astype(">f4"), None, {}), ("F order", np.asfortranarray(x), None, {}),
        ("strided", x[..., ::2], None, {}), ("matrix subclass", np.ma.masked_array(x), None, {}),
        ("empty", x[:0], None, {}), ("1-d", x.ravel(), None, {}),
        ("window", x, None, dict(window=(1, 1))), ("dtype", x, None, dict(dtype=np.float64)),
        ("order", x, None, dict(order="C")), ("casting", x, None, dict(casting="unsafe")),
        ("region", x, None, dict(region="bogus")),
        ("region array", x, None, dict(region=np.array(["across", "within"]))),
        ("order array", x, None, dict(order=np.array(["K", "C"]))), ("size bool", x, None, dict(size=True)),
        ("size numpy int", x, None, dict(size=np.int64(5))), ("size 0", x, None, dict(size=0)),
        ("axis out of range", x, None, dict(axis=4)), ("axis bool", x, None, dict(axis=True)),
        ("within axis 0", x, None, dict(region="within", axis=0)),
        ("within 2-d", x[0, 0], None, dict(region="within")),
        ("alpha nan", x, None, dict(alpha=np.nan)), ("alpha str", x, None, dict(alpha="1")),
        ("alpha numpy float", x, None, dict(alpha=np.float64(1e-4))),
        ("alpha huge int", x, None, dict(alpha=10 ** 400)),
        ("alpha subnormal", x, None, dict(alpha=1e-39)), ("beta 0", x, None, dict(beta=0.0)),
        ("num_threads 0", x, None, dict(num_threads=0)),
        ("num_threads bool", x, None, dict(num_threads=True)),
        ("out shape", x, None, dict(out=np.empty((2, 6, 4), np.float32))),
        ("out dtype", x, None, dict(out=np.empty_like(x, np.float64))),
        ("out read-only", x, None, dict(out=ro)),
        ("out tuple", x, None, dict(out=(np.empty_like(x),))),
        ("g float64", x, x.astype(np.float64), {}), ("g shape", x, x[:1], {}),
        ("g strided", x, random((2, 6, 4, 6), np.float32, seed=2)[..., ::2], {}),
    ]
    xo = big[:-1].reshape(x.shape)
    yield ("out overlaps x shifted", xo, None, dict(out=big[1:].reshape(x.shape)))
    yield ("out overlaps g", x, xo, dict(out=big[1:].reshape(x.shape)))
    yield base   # the keywords a call starts from


def test_common_call_declines_the_rest():
    """Anything but the common call (other types, layouts, options, out=, beta 0, an
    empty array, overlapping memory, values the Python layer turns into errors) is
    left to _api (None), which validates it as before."""
    from lrn_fast import _lrn
    cases = list(_declined())
    base = cases.pop()
    x = random((2, 6, 4, 3), np.float32, seed=1)
    args = [base[k] for k in ("size", "alpha", "beta", "k", "axis", "region", "window",
                              "out", "dtype", "casting", "order", "num_threads")]
    assert _lrn.common(x, None, *args) is not None
    assert _lrn.common(x, x, *args) is not None
    for what, xx, g, kw in cases:
        a = [kw.get(k, base[k]) for k in ("size", "alpha", "beta", "k", "axis", "region",
                                          "window", "out", "dtype", "casting", "order",
                                          "num_threads")]
        assert _lrn.common(xx, g, *a) is None, what


@pytest.mark.parametrize("beta,want", [(0.75, (1, 0)), (0.5, (2, 0)), (1.0, (3, 2)),
                                       (0.6, (0, 0)), (2.5, (0, 0)), (2.0, (0, 1)),
                                       (3.0, (0, 2)), (-2.0, (0, 1)), (-3.0, (0, 2)),
                                       (2.0 ** 60, (0, 1)), (1e300, (0, 1)), (-1e300, (0, 1))])
def test_power_mode(beta, want):
    """The kernels' power (LRN_POW_*: 1 for 0.75, 2 for 0.5, 3 for 1, else generic 0)
    and an integer beta's parity (1 even, 2 odd), as both call paths pass them."""
    from lrn_fast import _lrn
    assert _lrn.power_mode(beta) == want
