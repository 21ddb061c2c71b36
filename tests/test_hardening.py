"""Hardening: bad arguments give clear errors naming the argument; odd arrays
(empty, high rank, foreign byte order, read-only, memory-mapped, overlapping
`out`, broadcast and reversed views) give the reference's result; the inputs are
never modified."""
import os
import sys

import numpy as np
import pytest

import lrn_fast
from lrn_fast import reference
from conftest import assert_result, check_backward, check_forward, random, run_python

FUNCS = ["lrn", "lrn_backward"]


def call(fn, x, *args, g=None, **kw):
    """lrn(x, ...) or lrn_backward(g, x, ...) (g defaults to a fixed function of x)."""
    if fn == "lrn":
        return lrn_fast.lrn(x, *args, **kw)
    if g is None:
        g = np.cos(np.asarray(x, dtype=np.float64) * 3).astype(np.asarray(x).dtype)
    return lrn_fast.lrn_backward(g, x, *args, **kw)


def check(fn, x, g=None, **kw):
    """Run fn and compare with the reference."""
    if fn == "lrn":
        return check_forward(x, **kw)
    if g is None:
        g = np.cos(np.asarray(x, dtype=np.float64) * 3).astype(np.asarray(x).dtype)
    return check_backward(g, x, **kw)


X = random((2, 7, 4, 5), np.float32, seed=1)


# ---- parameters -------------------------------------------------------------------
@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("size, exc", [(0, ValueError), (-1, ValueError), (-(2 ** 40), ValueError),
                                       (2.0, TypeError), (5.5, TypeError), (True, TypeError),
                                       (np.bool_(True), TypeError), ("5", TypeError),
                                       (None, TypeError), (np.float64(3), TypeError)])
def test_bad_size(fn, size, exc):
    with pytest.raises(exc, match="size"):
        call(fn, X, size)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("size", [8, 9, 100, 10 ** 9, 2 ** 31 + 3, 2 ** 62])
def test_huge_size_is_clipped(fn, region, size):
    """A window larger than the axis is clipped at the edges, like any other."""
    check(fn, X, size=size, region=region)


@pytest.mark.parametrize("fn", FUNCS)
def test_numpy_integer_size(fn):
    a = call(fn, X, np.int64(3))
    b = call(fn, X, 3)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("name", ["alpha", "beta", "k"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, np.float32(np.nan)])
def test_nonfinite_parameter(fn, name, value):
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        call(fn, X, **{name: value})


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("name", ["alpha", "beta", "k"])
@pytest.mark.parametrize("value", ["1", None, 1 + 2j, True, [1.0]])
def test_non_real_parameter(fn, name, value):
    with pytest.raises(TypeError, match=name):
        call(fn, X, **{name: value})


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["Across", "", "channels", None, 1, b"across"])
def test_bad_region(fn, region):
    with pytest.raises(ValueError, match="region"):
        call(fn, X, region=region)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("axis", [4, -5, 100, 2 ** 63])
def test_axis_out_of_range(fn, axis):
    with pytest.raises((ValueError, IndexError), match="axis"):
        call(fn, X, axis=axis)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("axis", [1.0, "1", None, True, (1,), [1]])
def test_axis_not_an_integer(fn, axis):
    with pytest.raises(TypeError, match="axis"):
        call(fn, X, axis=axis)


@pytest.mark.parametrize("fn", FUNCS)
def test_within_axis_zero(fn):
    with pytest.raises(ValueError, match="axis"):
        call(fn, X, axis=0, region="within")


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("nt, exc", [(0, ValueError), (-1, ValueError), (-(2 ** 40), ValueError),
                                     (1.5, TypeError), (2.0, TypeError), ("2", TypeError),
                                     (True, TypeError)])
def test_bad_num_threads(fn, nt, exc):
    with pytest.raises(exc, match="num_threads"):
        call(fn, X, num_threads=nt)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("nt", [10 ** 9, 2 ** 31, 2 ** 70])
def test_huge_num_threads_is_clamped(fn, nt):
    x = random((4, 16, 32, 32), np.float32, seed=2)    # big enough to run in parallel
    serial = call(fn, x, num_threads=1)
    got = call(fn, x, num_threads=nt)
    np.testing.assert_array_equal(got, serial)
    check(fn, x, num_threads=nt)


def test_huge_num_threads_with_many_work_items():
    """num_threads=10**9 on a job of ~40000 work items must not try to start a
    thread per work item (libgomp aborts the whole process when thread creation
    fails).  Run in a subprocess: a crash fails this test, not the session."""
    code = (
        "import numpy as np, lrn_fast\n"
        "from lrn_fast import reference\n"
        "x = np.random.default_rng(0).standard_normal((40000, 3, 4)).astype(np.float32)"
        "[:, :, :2]\n"
        "y = lrn_fast.lrn(x, 3, num_threads=10**9)\n"
        "err = np.abs(y - reference.lrn(x, 3)).max()\n"
        "assert err < 1e-5, err\n"
        "print('ok', lrn_fast._lrn.last_team_size())\n")
    out = run_python(code, timeout=120)
    assert out.startswith("ok")
    assert int(out.split()[1]) <= max(64, 4 * (os.cpu_count() or 1))   # the documented cap


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("window, exc, match", [
    ((-1, 2), ValueError, r"window\[0\]"), ((2, -1), ValueError, r"window\[1\]"),
    ((1.0, 2), TypeError, r"window\[0\]"), ((1, 2.5), TypeError, r"window\[1\]"),
    ((True, 1), TypeError, r"window\[0\]"), ((1, None), TypeError, r"window\[1\]"),
    ((1,), TypeError, "window"), ((1, 2, 3), TypeError, "window"), ("ab", TypeError, "window"),
    (3, TypeError, "window"), ({1, 2}, TypeError, "window")])
def test_bad_window(fn, window, exc, match):
    with pytest.raises(exc, match=match):
        call(fn, X, window=window)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("window", [(0, 0), (10 ** 12, 0), (0, 2 ** 40), (np.int32(1), np.int64(3))])
def test_extreme_windows(fn, region, window):
    check(fn, X, size=3, window=tuple(int(w) for w in window), region=region)
    np.testing.assert_array_equal(call(fn, X, 3, window=window, region=region),
                                  call(fn, X, 3, window=tuple(int(w) for w in window),
                                       region=region))


# ---- arrays: shapes -------------------------------------------------------------------
@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 0, 4), (2, 3, 0), (0, 0, 0), (2, 3, 4, 0),
                                   (0, 5, 1, 1, 1), (1, 0, 2, 2, 2, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
def test_empty(fn, region, shape, dtype):
    x = np.zeros(shape, dtype)
    want = np.result_type(dtype, np.float16) if np.dtype(dtype).kind == "f" else np.float64
    y = call(fn, x, region=region)
    assert y.shape == shape and y.dtype == want


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 3, 0), (1, 0, 2, 2, 2, 2)])
def test_empty_with_out(fn, shape):
    """An empty out array is accepted (numpy gives empty arrays zero strides)."""
    x = np.zeros(shape, np.float32)
    for region in ["across", "within"]:
        out = np.empty(shape, np.float64)
        assert call(fn, x, region=region, out=out) is out


@pytest.mark.parametrize("fn", FUNCS)
def test_empty_2d_across(fn):
    for shape in [(0, 3), (3, 0), (0, 0)]:
        assert call(fn, np.zeros(shape)).shape == shape


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("x", [np.float64(1.0), 1.0, 3, np.zeros(()), np.zeros(5), [1.0, 2.0], []])
def test_rank_0_and_1(fn, x):
    with pytest.raises(ValueError, match="dimensions"):
        call(fn, x)


@pytest.mark.parametrize("fn", FUNCS)
def test_rank_2_within(fn):
    with pytest.raises(ValueError, match="dimensions"):
        call(fn, np.ones((3, 4)), region="within")


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("shape, axis", [((2, 3, 2, 3, 2, 2), 1), ((2, 3, 2, 3, 2, 2), -1),
                                         ((2, 3, 2, 3, 2, 2), 3),
                                         ((2, 3, 2, 1, 2, 2, 3, 2), 1),
                                         ((2, 3, 2, 1, 2, 2, 3, 2), -2),
                                         ((1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2), 1)])
def test_high_rank(fn, region, shape, axis):
    x = random(shape, np.float64, seed=3)
    check(fn, x, size=3, region=region, axis=axis)
    check(fn, x.astype(np.float32), size=4, region=region, axis=axis)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("shape", [(3, 1, 4, 5), (1, 1, 1, 1), (1, 1), (5, 1)])
def test_single_channel(fn, region, shape):
    if region == "within" and len(shape) < 3:
        return
    x = random(shape, np.float32, seed=4)
    check(fn, x, region=region)
    check(fn, x, size=1, region=region)


@pytest.mark.parametrize("fn", FUNCS)
def test_lists_and_scalars(fn):
    data = [[0.5, -1.0, 2.0], [3, 0, -4]]
    y = call(fn, data, 3)
    assert isinstance(y, np.ndarray) and y.dtype == np.float64
    check(fn, np.array(data), size=3)
    np.testing.assert_array_equal(y, call(fn, np.array(data), 3))
    with pytest.raises(TypeError, match="x"):
        call(fn, [[1.0, 2.0], [3.0]], g=np.ones((2, 2)))   # ragged


def test_list_grad():
    g = [[1.0, 2.0, 3.0]]
    got = lrn_fast.lrn_backward(g, [[1.0, 0.5, -2.0]], 3)
    np.testing.assert_array_equal(got, lrn_fast.lrn_backward(np.array(g), np.array([[1.0, 0.5, -2.0]]), 3))


BAD_DTYPES = [
    np.array([[1, 2]], dtype=object),
    np.array([["a", "b"]]),
    np.array([[b"a", b"b"]]),
    np.ones((2, 3), np.complex64),
    np.ones((2, 3), np.complex128),
    np.zeros((2, 3), "M8[s]"),
    np.zeros((2, 3), "m8[ns]"),
    np.zeros((2, 3), [("a", "f4"), ("b", "f4")]),
    np.zeros((2, 3), "V8"),
    np.zeros((2, 3), np.longdouble),
]


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("bad", BAD_DTYPES, ids=lambda a: str(a.dtype))
def test_bad_dtype(fn, bad):
    with pytest.raises(TypeError, match="x has dtype"):
        call(fn, bad, g=np.ones(bad.shape))
    if fn == "lrn_backward":
        with pytest.raises(TypeError, match="grad_y has dtype"):
            lrn_fast.lrn_backward(bad, np.ones(bad.shape))


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("bad", [None, "abc", {"a": 1}, object()], ids=repr)
def test_not_array_like(fn, bad):
    with pytest.raises((TypeError, ValueError)):
        call(fn, bad, g=np.ones((2, 2)))


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [">f4", ">f8", ">f2", ">i4", ">u2"])
def test_big_endian(fn, region, dtype):
    x = (random((2, 6, 3, 4), np.float64, seed=5) * 10).astype(dtype)
    y = check(fn, x, g=(x * 0.5).astype(dtype) if fn == "lrn_backward" else None, region=region)
    assert y.dtype.isnative
    assert y.dtype == (np.dtype(dtype).newbyteorder("=") if x.dtype.kind == "f" else np.float64)
    native = x.astype(np.dtype(dtype).newbyteorder("="))
    np.testing.assert_array_equal(y, call(fn, native, g=None if fn == "lrn" else
                                          (native * 0.5).astype(native.dtype), region=region))


@pytest.mark.parametrize("fn", FUNCS)
def test_read_only_input(fn):
    x = X.copy()
    x.flags.writeable = False
    g = np.cos(X).astype(np.float32)
    g.flags.writeable = False
    check(fn, x, g=g)


# ---- out -------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", FUNCS)
def test_out_read_only(fn):
    out = np.empty_like(X)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        call(fn, X, out=out)
    with pytest.raises(ValueError, match="out"):
        call(fn, X, out=np.broadcast_to(np.empty(5, np.float32), X.shape))


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("shape", [(2, 7, 4), (2, 7, 5, 4), (1, 7, 4, 5), (2, 7, 4, 5, 1), ()])
def test_out_wrong_shape(fn, shape):
    with pytest.raises(ValueError, match="out has shape"):
        call(fn, X, out=np.empty(shape, np.float32))


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint16, np.bool_])
def test_out_wrong_dtype(fn, dtype):
    """As for ufuncs: a float result does not go into an integer out with same_kind
    (complex or object out arrays are accepted, like numpy does)."""
    with pytest.raises(TypeError, match="out"):
        call(fn, X, out=np.empty(X.shape, dtype))


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("out", [[0.0] * 5, 3.0, "out", (np.empty_like(X), np.empty_like(X))],
                         ids=["list", "float", "str", "2-tuple"])
def test_out_not_an_array(fn, out):
    with pytest.raises((TypeError, ValueError), match="out"):
        call(fn, X, out=out)


@pytest.mark.parametrize("fn", FUNCS)
def test_out_zero_stride(fn):
    base = np.empty(X.shape[-1], np.float32)
    out = np.lib.stride_tricks.as_strided(base, X.shape, (0, 0, 0, 4))
    assert out.flags.writeable
    with pytest.raises(ValueError, match="out"):
        call(fn, X, out=out)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("shift", [(0, 1, 0, 0), (0, -1, 0, 0), (0, 0, 0, 1), (1, 0, 0, 0),
                                   (0, 2, 1, -1)])
def test_out_overlaps_input_partly(fn, region, shift):
    """out is the input's buffer shifted by some elements along some axes."""
    x0 = random((3, 8, 5, 6), np.float32, seed=6)
    g0 = np.cos(x0 * 3).astype(np.float32)
    pad = [abs(s) for s in shift]
    buf = np.zeros(tuple(n + p for n, p in zip(x0.shape, pad)), np.float32)
    src = tuple(slice(p if s < 0 else 0, (p if s < 0 else 0) + n)
                for n, p, s in zip(x0.shape, pad, shift))
    dst = tuple(slice(0 if s < 0 else p, (0 if s < 0 else p) + n)
                for n, p, s in zip(x0.shape, pad, shift))
    x, out = buf[src], buf[dst]
    x[...] = x0
    assert np.shares_memory(x, out)
    kw = dict(size=3, region=region)
    want = reference.lrn(x0, **kw) if fn == "lrn" else reference.lrn_backward(g0, x0, **kw)
    r = call(fn, x, g=g0, out=out, **kw)
    assert r is out
    assert_result(out, want, floor=1e-2)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("view", ["transpose", "reverse", "same"])
def test_out_is_view_of_input(fn, region, view):
    x0 = random((3, 6, 6, 6), np.float64, seed=7)
    g0 = np.cos(x0 * 3)
    x = x0.copy()
    out = {"transpose": lambda a: a.transpose(0, 1, 3, 2), "reverse": lambda a: a[:, ::-1],
           "same": lambda a: a}[view](x)
    kw = dict(size=4, region=region)
    want = reference.lrn(x0, **kw) if fn == "lrn" else reference.lrn_backward(g0, x0, **kw)
    assert call(fn, x, g=g0, out=out, **kw) is out
    assert_result(out, want, floor=1e-2)


def test_out_is_grad_or_both():
    x0 = random((2, 9, 4, 4), np.float32, seed=8)
    g0 = np.cos(x0 * 3).astype(np.float32)
    want = reference.lrn_backward(g0, x0)
    g = g0.copy()
    assert lrn_fast.lrn_backward(g, x0, out=g) is g
    assert_result(g, want, floor=1e-2)
    g = g0.copy()
    assert lrn_fast.lrn_backward(g, x0, out=g[:, ::-1]) is not None
    assert_result(g[:, ::-1], want, floor=1e-2)
    x = x0.copy()
    lrn_fast.lrn_backward(x, x, out=x)
    assert_result(x, reference.lrn_backward(x0, x0), floor=1e-2)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
def test_broadcast_and_negative_strides(fn, region):
    rng = np.random.default_rng(9)
    bx = np.broadcast_to(rng.standard_normal((1, 6, 1, 5)), (3, 6, 4, 5))
    check(fn, bx, region=region)
    check(fn, bx.astype(np.float32), g=np.broadcast_to(np.float32(0.5), bx.shape), region=region)
    big = rng.standard_normal((4, 9, 7, 8)).astype(np.float32)
    for v in [big[::-1], big[:, ::-1], big[:, :, ::-2, ::-3], big[::-2, ::-1, ::-1, ::-1],
              big.transpose(3, 2, 1, 0)[::-1]]:
        for axis in (1, -1):
            check(fn, v, region=region, axis=axis, size=3)


@pytest.mark.parametrize("fn", FUNCS)
def test_memmap(fn, tmp_path):
    x0 = random((2, 8, 6, 5), np.float32, seed=10)
    path = str(tmp_path / "x.dat")
    w = np.memmap(path, dtype=np.float32, mode="w+", shape=x0.shape)
    w[...] = x0
    w.flush()
    del w
    x = np.memmap(path, dtype=np.float32, mode="r", shape=x0.shape)
    check(fn, x, g=x)
    out = np.memmap(str(tmp_path / "o.dat"), dtype=np.float32, mode="w+", shape=x0.shape)
    assert call(fn, x, g=x, out=out) is out
    out.flush()
    want = reference.lrn(x0) if fn == "lrn" else reference.lrn_backward(x0, x0)
    assert_result(np.fromfile(str(tmp_path / "o.dat"), np.float32).reshape(x0.shape), want,
                  floor=1e-2)
    np.testing.assert_array_equal(np.asarray(x), x0)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("shape", [(2 ** 40, 3), (2 ** 50, 3), (2 ** 20, 2 ** 20, 2 ** 10)])
def test_result_too_big_to_allocate(fn, shape):
    """A broadcast view whose result cannot be allocated: numpy's clean error, no crash."""
    x = np.broadcast_to(np.ones((1,) * (len(shape) - 1) + (shape[-1],), np.float32), shape)
    with pytest.raises((MemoryError, ValueError)):
        call(fn, x, g=x)


# ---- grad_y vs x --------------------------------------------------------------------------
@pytest.mark.parametrize("gshape", [(2, 7, 4), (2, 7, 4, 1), (1, 7, 4, 5), (2, 7, 5, 4), ()])
def test_backward_shape_mismatch(gshape):
    with pytest.raises(ValueError, match="grad_y has shape"):
        lrn_fast.lrn_backward(np.ones(gshape), X)


@pytest.mark.parametrize("gdt, xdt", [(np.float32, np.float64), (np.float64, np.float32),
                                      (np.float16, np.float32), (np.float32, np.float16),
                                      (np.int8, np.float16), (np.int32, np.float32),
                                      (np.float16, np.float16), (np.bool_, np.int16),
                                      (">f4", "<f8"), (">f2", ">f2")])
def test_backward_mixed_dtypes(gdt, xdt):
    x = (random((2, 7, 4, 5), np.float64, seed=11) * 3).astype(xdt)
    g = (random((2, 7, 4, 5), np.float64, seed=12) * 3).astype(gdt)
    want = np.result_type(np.dtype(gdt).newbyteorder("="), np.dtype(xdt).newbyteorder("="))
    if want.kind != "f":
        want = np.dtype(np.float64)
    y = lrn_fast.lrn_backward(g, x)
    assert y.dtype == want
    check_backward(g, x, got=y)


# ---- the inputs are never modified ----------------------------------------------------------
@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int16, ">f4"])
@pytest.mark.parametrize("with_out", [False, True])
def test_inputs_not_modified(fn, region, dtype, with_out):
    x = (random((2, 7, 4, 5), np.float64, seed=13) * 4).astype(dtype)
    x[0, 0, 0, :2] = [np.nan, np.inf] if x.dtype.kind == "f" else [0, 0]
    g = (random((2, 7, 4, 5), np.float64, seed=14) * 4).astype(dtype)
    xs, gs = x.copy(), g.copy()
    for view in [lambda a: a, lambda a: a[:, ::-1], lambda a: a.transpose(0, 3, 2, 1)]:
        xv, gv = view(x), view(g)
        kw = dict(region=region)
        if with_out:
            kw["out"] = np.empty(xv.shape, np.float64)
        if fn == "lrn":
            lrn_fast.lrn(xv, **kw)
        else:
            lrn_fast.lrn_backward(gv, xv, **kw)
        np.testing.assert_array_equal(x, xs)
        np.testing.assert_array_equal(g, gs)
        assert x.tobytes() == xs.tobytes() and g.tobytes() == gs.tobytes()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
