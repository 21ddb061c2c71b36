"""lrn_fast on Dask arrays: LRN of arrays larger than memory or spread over a cluster.

>>> import dask.array as da, lrn_fast.dask
>>> x = da.random.standard_normal((256, 96, 55, 55), chunks=(32, 48, 55, 55)).astype("f4")
>>> y = lrn_fast.dask.lrn(x, size=5, alpha=1e-4, beta=0.75, k=2.0)     # lazy
>>> y.compute()                                                        # runs lrn_fast.lrn

Chunks may split every axis, the channel axis included.  Each chunk is extended by the
window's reach from its neighbours (dask.array.map_overlap, zero padded at the array's
edges, which is LRN's edge rule), computed with lrn_fast.lrn and trimmed, so the result
equals lrn_fast.lrn on the whole array.  The overlap is along the window's axes only:
the channel axis for region="across", the spatial axes for "within".  Dask merges chunks
that are thinner than the overlap.

Each chunk runs lrn_fast with ``num_threads`` OpenMP threads (None: lrn_fast's default).
Under the threaded scheduler, where Dask already runs one task per core, pass
``num_threads=1``; dask.distributed's workers set OMP_NUM_THREADS=1 themselves.
"""
import functools

import dask.array as da
import numpy as np

from . import _api

__all__ = ["lrn", "lrn_backward"]


def _plan(x, backward, size, region, axis, window):
    """Overlap depth per axis: how far from a chunk the values it needs lie."""
    before, after = _api._window_arg(window, size)
    # forward: y_i needs x in [i - before, i + after].  backward: dx_i needs g_j, x_j for
    # j in the transposed window [i - after, i + before], and s_j needs x in
    # [j - before, j + after]: x up to before + after away on either side.
    reach = before + after if backward else max(before, after)
    axis = axis % x.ndim
    axes = [axis] if region == "across" else [d for d in range(1, x.ndim) if d != axis]
    depth = {d: 0 for d in range(x.ndim)}
    for d in axes:
        n = x.shape[d]
        # a window never reaches further than the array: no more than n - 1 is needed
        depth[d] = reach if np.isnan(n) else min(reach, max(int(n) - 1, 0))
    return depth


def _check(x, g, size, alpha, beta, k, axis, region, window, dtype, num_threads):
    """Run every argument check of lrn_fast on a tiny array of the same rank and dtypes;
    returns the result dtype."""
    tiny = np.zeros((1,) * x.ndim, x.dtype)
    kw = dict(axis=axis, region=region, window=window, dtype=dtype, num_threads=num_threads)
    if g is None:
        return _api.lrn(tiny, size, alpha, beta, k, **kw).dtype
    if g.shape != x.shape:
        raise ValueError(f"grad_y has shape {g.shape} but x has shape {x.shape}; "
                         "they must be equal")
    return _api.lrn_backward(np.zeros((1,) * g.ndim, g.dtype), tiny, size, alpha, beta, k,
                             **kw).dtype


def lrn(x, /, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1, region="across",
        window=None, dtype=None, num_threads=None):
    """lrn_fast.lrn on a dask array (or array_like), lazily; returns a dask array.

    Same keywords and results as lrn_fast.lrn (no ``out``: dask arrays are immutable).
    """
    x = da.asarray(x)
    rt = _check(x, None, size, alpha, beta, k, axis, region, window, dtype, num_threads)
    func = functools.partial(_api.lrn, size=size, alpha=alpha, beta=beta, k=k, axis=axis,
                             region=region, window=window, dtype=dtype,
                             num_threads=num_threads)
    return da.map_overlap(func, x, depth=_plan(x, False, size, region, axis, window),
                          boundary=0, trim=True, dtype=rt, meta=np.empty((0,) * x.ndim, rt))


def lrn_backward(grad_y, x, /, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1,
                 region="across", window=None, dtype=None, num_threads=None):
    """lrn_fast.lrn_backward (dL/dx given grad_y = dL/dy) on dask arrays, lazily.

    grad_y and x may be chunked differently (Dask aligns them)."""
    g, x = da.asarray(grad_y), da.asarray(x)
    rt = _check(x, g, size, alpha, beta, k, axis, region, window, dtype, num_threads)
    func = functools.partial(_api.lrn_backward, size=size, alpha=alpha, beta=beta, k=k,
                             axis=axis, region=region, window=window, dtype=dtype,
                             num_threads=num_threads)
    return da.map_overlap(func, g, x, depth=_plan(x, True, size, region, axis, window),
                          boundary=0, trim=True, dtype=rt, meta=np.empty((0,) * x.ndim, rt))
