"""Shared pieces of the asv suite: the standard shapes, cached arrays, the
thread-count parameter and guards that keep the suite importable by old commits
(new API is checked in setup, which raises NotImplementedError to skip).

This module must only use what every commit of lrn_fast has (lrn), so the
measurement helpers live here rather than in lrn_fast._bench.
"""
import os
import statistics
import time

import numpy as np

import lrn_fast

# (C, H, W) of the LRN layers of the classic networks; shapes given as NCHW
NETS = {"alexnet1": (96, 55, 55), "alexnet2": (256, 27, 27), "googlenet2": (192, 56, 56)}
SHAPES = {f"{net} N={n}": (n,) + chw for net, chw in NETS.items() for n in (1, 32)}
BIG = ["alexnet1 N=32", "alexnet2 N=32", "googlenet2 N=32"]
ALPHA, K = 1e-4, 1.0
THREADS = [1, "all"]


def all_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Threads:
    """Mixin: self.use_threads(n) limits OpenMP with threadpoolctl until teardown."""
    _limiter = None

    def use_threads(self, threads):
        from threadpoolctl import threadpool_limits
        n = all_threads() if threads == "all" else int(threads)
        self._limiter = threadpool_limits(limits=n, user_api="openmp")
        return n

    def teardown(self, *params):
        if self._limiter is not None:
            self._limiter.restore_original_limits()
            self._limiter = None


_cache = {}


def array(shape, layout="NCHW", dtype="float32", seed=0):
    """Standard normal data, cached across parameters, every page written.
    shape is (N, C, H, W); layout "NHWC" gives the (N, H, W, C) array."""
    n, c, h, w = shape
    ashape = (n, h, w, c) if layout == "NHWC" else (n, c, h, w)
    key = (ashape, dtype, seed)
    if key not in _cache:
        if len(_cache) > 6:
            _cache.clear()
        _cache[key] = np.random.default_rng(seed).standard_normal(
            ashape, dtype=np.dtype(dtype).type)
    return _cache[key]


def touched_empty(like):
    out = np.empty_like(like)
    out.fill(0)
    return out


def axis_of(layout):
    return -1 if layout == "NHWC" else 1


def lrn_function(direction, region, layout, size, beta, out=None):
    """f(x, g) calling lrn_fast with these parameters; NotImplementedError when the
    lrn_fast being measured lacks what they need (checked on a tiny array)."""
    if direction == "backward" and not hasattr(lrn_fast, "lrn_backward"):
        raise NotImplementedError("this lrn_fast has no lrn_backward")
    kw = dict(axis=axis_of(layout), region=region)
    if direction == "backward":
        def f(x, g, out=None):
            return lrn_fast.lrn_backward(g, x, size, ALPHA, beta, K, out=out, **kw)
    else:
        def f(x, g, out=None):
            return lrn_fast.lrn(x, size, ALPHA, beta, K, out=out, **kw)
    tiny = np.ones((2, 3, 4, 5) if layout == "NCHW" else (2, 4, 5, 3))
    try:
        f(tiny, tiny, out=np.empty_like(tiny))
    except (TypeError, ValueError, NotImplementedError) as e:
        raise NotImplementedError(f"not supported by this lrn_fast: {e}") from None
    return f


def ratio_to_copy(fn, src, reps=21):
    """Median over reps pairs of time(fn) / time(copy of src), alternated."""
    buf = touched_empty(src)
    fn()
    np.copyto(buf, src)
    ratios = []
    for _ in range(reps):
        t0 = time.perf_counter()
        np.copyto(buf, src)
        t1 = time.perf_counter()
        fn()
        t2 = time.perf_counter()
        ratios.append((t2 - t1) / max(t1 - t0, 1e-9))
    return statistics.median(ratios)
