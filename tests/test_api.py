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
    lrn_fast.show_runtime()
    out = capsys.readouterr().out
    assert "lrn_fast" in out and "dispatch" in out


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
