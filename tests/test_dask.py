"""lrn_fast.dask against lrn_fast.lrn on the whole NumPy array and against
lrn_fast.reference, with chunks that split the batch, channel and spatial axes (thinner
than the window too); skipped when dask is not installed."""
import os

import numpy as np
import pytest

import lrn_fast
from lrn_fast import reference as ref

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
ldask = pytest.importorskip("lrn_fast.dask")

REF = dict(rtol=1e-5, atol=1e-5)      # float32 against the float64 reference
SAME = dict(rtol=1e-6, atol=1e-6)     # float32 against lrn_fast.lrn unchunked (sums differ
                                      # only in rounding order)

# (shape, chunks, size, window, axis, region)
CASES = [
    ((4, 11, 6, 7), (2, 3, 4, 3), 5, None, 1, "across"),
    ((4, 11, 6, 7), (1, 1, 6, 7), 7, None, 1, "across"),        # channel chunks of 1
    ((3, 10, 5, 4), (2, 2, 2, 3), 4, None, 1, "across"),        # even size
    ((3, 10, 5, 4), (3, 4, 5, 4), 4, (0, 3), 1, "across"),      # one-sided window
    ((2, 5, 6, 9), (1, 2, 3, 2), 6, None, -1, "across"),        # NHWC, channels last
    ((3, 4, 9, 10), (2, 3, 2, 3), 5, None, 1, "within"),        # spatial chunks < window
    ((2, 3, 8, 7), (1, 2, 3, 4), 4, None, 1, "within"),
    ((2, 7, 6, 3), (1, 3, 4, 2), 3, (2, 0), -1, "within"),      # within, channels last
    ((2, 4, 5, 6, 7), (1, 2, 2, 3, 4), 3, None, 1, "within"),   # 3 spatial axes
    ((3, 9, 4), (2, 4, 3), 9, None, 1, "across"),               # window wider than C
]


def make(shape, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 2).astype(dtype), rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[5]}-n{c[2]}-{c[1]}" for c in CASES])
def test_threaded(case):
    shape, chunks, size, window, axis, region = case
    x, g = make(shape, len(shape) + size)
    kw = dict(size=size, alpha=0.8, beta=0.75, k=1.5, axis=axis, region=region, window=window)
    dx, dg = da.from_array(x, chunks=chunks), da.from_array(g, chunks=[c + 1 for c in chunks])
    y = ldask.lrn(dx, **kw)
    b = ldask.lrn_backward(dg, dx, **kw)
    assert isinstance(y, da.Array) and y.shape == x.shape and y.dtype == np.float32
    with dask.config.set(scheduler="threads"):
        y, b = dask.compute(y, b)
    np.testing.assert_allclose(y, lrn_fast.lrn(x, **kw), **SAME)
    np.testing.assert_allclose(b, lrn_fast.lrn_backward(g, x, **kw), **SAME)
    np.testing.assert_allclose(y, ref.lrn(x, **kw), **REF)
    np.testing.assert_allclose(b, ref.lrn_backward(g, x, **kw), **REF)


def test_lazy_and_dtypes():
    calls = []

    def source(block):
        if block.size:           # dask also calls it on empty arrays to learn the dtype
            calls.append(1)
        return block

    x = np.arange(2 * 6 * 3 * 3, dtype=np.int64).reshape(2, 6, 3, 3) % 7
    dx = da.from_array(x, chunks=(1, 2, 3, 3)).map_blocks(source, dtype=x.dtype)
    y = ldask.lrn(dx, 3, 0.1)
    b = ldask.lrn_backward(dx, dx, 3, 0.1, region="within")
    assert not calls                                     # nothing computed yet
    assert y.dtype == np.float64 and b.dtype == np.float64     # as lrn_fast: ints -> float64
    np.testing.assert_allclose(y.compute(scheduler="sync"), ref.lrn(x, 3, 0.1), rtol=1e-12)
    assert calls
    y32 = ldask.lrn(dx, 3, 0.1, dtype=np.float32)
    assert y32.dtype == np.float32 and y32.compute(scheduler="sync").dtype == np.float32
    h = ldask.lrn(da.from_array(x.astype(np.float16), chunks=2), 3, 0.1)
    assert h.dtype == np.float16 and h.compute(scheduler="sync").dtype == np.float16


def test_argument_errors_are_raised_at_once():
    dx = da.zeros((2, 4, 3, 3), chunks=2)
    with pytest.raises(ValueError, match="size must be >= 1"):
        ldask.lrn(dx, 0)
    with pytest.raises(ValueError, match="region"):
        ldask.lrn(dx, region="spatial")
    with pytest.raises(ValueError, match="axis"):
        ldask.lrn(dx, region="within", axis=0)
    with pytest.raises(ValueError, match="shape"):
        ldask.lrn_backward(dx[:1], dx)
    with pytest.raises(TypeError, match="dtype"):
        ldask.lrn(da.zeros((2, 4, 3), dtype=complex, chunks=2))


def test_numpy_input_and_num_threads():
    x, _ = make((2, 8, 4, 4), 1)
    y = ldask.lrn(x, 5, num_threads=1)
    np.testing.assert_allclose(y.compute(scheduler="sync"), lrn_fast.lrn(x, 5), **SAME)


def test_distributed_local_cluster(monkeypatch):
    distributed = pytest.importorskip("distributed")
    # the worker processes (spawned) must find this lrn_fast
    root = os.path.dirname(os.path.dirname(os.path.abspath(lrn_fast.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    x, g = make((4, 12, 9, 8), 7)
    kw = dict(size=5, alpha=0.5, beta=0.75, k=2.0)
    dx = da.from_array(x, chunks=(2, 5, 4, 8))
    dg = da.from_array(g, chunks=(2, 5, 4, 8))
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        y, b, w = client.compute([ldask.lrn(dx, **kw), ldask.lrn_backward(dg, dx, **kw),
                                  ldask.lrn(dx, **kw, region="within")], sync=True)
    np.testing.assert_allclose(y, ref.lrn(x, **kw), **REF)
    np.testing.assert_allclose(b, ref.lrn_backward(g, x, **kw), **REF)
    np.testing.assert_allclose(w, ref.lrn(x, **kw, region="within"), **REF)
