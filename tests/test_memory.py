"""Memory: no leaks over many calls, no full-size temporaries besides the output,
a small bounded C scratch, and (with LRN_FAST_BIG_TESTS=1) arrays of more than
2**31 elements."""
import os
import resource
import textwrap
import tracemalloc

import numpy as np
import pytest

import lrn_fast
from lrn_fast import reference
from conftest import random, run_python

MB = 1 << 20


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _small_calls():
    rng = np.random.default_rng(50)
    x = rng.standard_normal((2, 8, 5, 5)).astype(np.float32)
    x64 = rng.standard_normal((3, 6, 7))
    xh = x.astype(np.float16)
    nhwc = np.moveaxis(x, 1, -1)
    out = np.empty_like(x)
    calls = [
        lambda: lrn_fast.lrn(x),
        lambda: lrn_fast.lrn(x, region="within", num_threads=2),
        lambda: lrn_fast.lrn_backward(x, x, size=4),
        lambda: lrn_fast.lrn_backward(x64, x64, region="within", beta=0.6),
        lambda: lrn_fast.lrn(x64, size=3, beta=1.3, out=np.empty_like(x64)),
        lambda: lrn_fast.lrn(xh, size=2),
        lambda: lrn_fast.lrn(nhwc, axis=-1),
        lambda: lrn_fast.lrn_backward(x[:, ::-1], x, out=out),
        lambda: lrn_fast.lrn(x, out=x[:, ::-1].copy()),
        lambda: lrn_fast.lrn(x.tolist()),
    ]

    def bad(f):
        def g():
            try:
                f()
            except (TypeError, ValueError):
                return
            raise AssertionError("no exception")
        return g

    calls += [bad(lambda: lrn_fast.lrn(x, size=0)),
              bad(lambda: lrn_fast.lrn(x, out=np.empty((2, 8)))),
              bad(lambda: lrn_fast.lrn_backward(x[:1], x))]
    return calls


def test_many_small_calls_do_not_leak():
    calls = _small_calls()
    for i in range(2000):                       # warm up: caches, pools, OpenMP threads
        calls[i % len(calls)]()
    before = rss()
    for i in range(10000):
        calls[i % len(calls)]()
    grown = rss() - before
    print(f"RSS growth over 10000 calls: {grown / 1024:.0f} KiB")
    assert grown < 2 * MB, f"RSS grew by {grown / MB:.1f} MB over 10000 calls"


def _peak(f):
    f()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        y = f()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, y


@pytest.mark.parametrize("fn", ["lrn", "lrn_backward"])
@pytest.mark.parametrize("region, layout", [("across", "NCHW"), ("within", "NCHW"),
                                            ("across", "NHWC")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_full_size_temporaries(fn, region, layout, dtype):
    """Python-side allocations (numpy's are traced by tracemalloc) of one call on a
    contiguous input: the output and nothing of comparable size."""
    x = random((4, 96, 27, 27), dtype, seed=51)
    axis = 1
    if layout == "NHWC":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        axis = -1
    g = x[::-1].copy()
    kw = dict(size=5, region=region, axis=axis)
    if fn == "lrn":
        peak, y = _peak(lambda: lrn_fast.lrn(x, **kw))
    else:
        peak, y = _peak(lambda: lrn_fast.lrn_backward(g, x, **kw))
    extra = peak - y.nbytes
    print(f"peak - output = {extra} bytes (input {x.nbytes})")
    assert extra < 0.02 * x.nbytes + 64 * 1024
    out = np.empty_like(x)
    if fn == "lrn":
        peak, _ = _peak(lambda: lrn_fast.lrn(x, out=out, **kw))
    else:
        peak, _ = _peak(lambda: lrn_fast.lrn_backward(g, x, out=out, **kw))
    assert peak < 0.02 * x.nbytes + 64 * 1024, f"{peak} bytes allocated with out="


ALEXNET = [(128, 96, 55, 55), (128, 256, 27, 27), (1, 96, 55, 55), (1, 256, 27, 27),
           (256, 64, 56, 56)]


@pytest.mark.parametrize("shape", ALEXNET)
@pytest.mark.parametrize("backward", [0, 1])
@pytest.mark.parametrize("dtype", [0, 1])
def test_c_scratch_is_small(shape, backward, dtype):
    """The C kernels' scratch (lrn_fast._lrn.plan: work bytes per thread) times the
    threads stays small for AlexNet/GoogLeNet-like shapes, also for 64x the batch."""
    N, C, H, W = shape
    for nthreads in (1, 2):
        for region, sh, lo, hi, strided in [(0, [N, C, H * W], [2], [2], False),
                                            (0, [N, C, H * W], [2], [2], True),
                                            (1, [N, C, H, W], [2, 2], [2, 2], False)]:
            tile, items, work, threads, _ = lrn_fast._lrn.plan(dtype, region, backward, sh, lo, hi,
                                                               nthreads, strided)
            assert 1 <= threads <= nthreads
            assert work * threads < 4 * MB, (region, strided, work, threads)
            many = [64 * N] + sh[1:]
            w64 = lrn_fast._lrn.plan(dtype, region, backward, many, lo, hi, nthreads, strided)[2]
            assert w64 < 2 * MB


def test_peak_rss_of_a_call_in_a_fresh_process():
    """The peak RSS (VmHWM) of a fresh interpreter: calls on a 37 MB input with out= raise
    the peak by less than 8 MB (C scratch, thread stacks and all).  VmHWM, unlike
    ru_maxrss, starts afresh at exec: a child forked from a big pytest process would
    otherwise inherit the parent's peak."""
    code = textwrap.dedent("""
        import resource, numpy as np, lrn_fast
        page = resource.getpagesize()
        def rss():
            return int(open('/proc/self/statm').read().split()[1]) * page
        x = np.random.default_rng(0).standard_normal((32, 96, 55, 55), dtype=np.float32)
        out = np.ones_like(x)
        small = np.ones((2, 8, 40, 40), np.float32)
        lrn_fast.lrn(small, num_threads=2); lrn_fast.lrn_backward(small, small, num_threads=2)
        base = rss()
        def hwm():
            for line in open('/proc/self/status'):
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
        before = hwm()
        assert before <= base + (2 << 20), (before, base)   # else the peak says nothing
        lrn_fast.lrn(x, out=out, num_threads=2)
        lrn_fast.lrn_backward(x, x, out=out, num_threads=2)
        lrn_fast.lrn(x, out=out, region="within", num_threads=2)
        lrn_fast.lrn_backward(x, x, out=out, region="within", num_threads=2)
        lrn_fast.lrn(np.moveaxis(x, 1, -1), out=np.moveaxis(out, 1, -1), axis=-1, num_threads=2)
        peak = hwm()
        print(peak - base)
    """)
    grown = int(run_python(code, timeout=120).strip())
    print(f"peak RSS above the arrays: {grown / MB:.1f} MB")
    assert grown < 8 * MB


# ---- more than 2**31 elements ---------------------------------------------------------------
BIG = os.environ.get("LRN_FAST_BIG_TESTS") == "1"


def _fill(a, seed):
    """Standard normal float32 data written in chunks (no full-size float64 temporary)."""
    flat = a.reshape(-1)
    rng = np.random.default_rng(seed)
    step = 1 << 26
    for i in range(0, flat.size, step):
        flat[i:i + step] = rng.standard_normal(min(step, flat.size - i), dtype=np.float32)


@pytest.mark.skipif(not BIG, reason="needs ~18 GB of memory: set LRN_FAST_BIG_TESTS=1")
@pytest.mark.parametrize("case", ["across", "across-backward", "within", "nhwc"])
def test_more_than_2_31_elements(case):
    """float32 arrays of 2**31 + 2**21 elements (8.6 GB each; at most two alive, so
    under ~18 GB), checked against the reference in slices."""
    if case == "within":
        shape = (1, 2 ** 15 + 32, 256, 256)          # offsets past 2**31 via channels
    elif case == "nhwc":
        shape = (2 ** 23 + 2 ** 13, 256)             # (pixels, C): channels-last, axis=-1
    else:
        shape = (1, 2, 2 ** 30 + 2 ** 20)            # a channel stride of 2**30 + 2**20
    n = int(np.prod(shape))
    assert n > 2 ** 31
    x = np.empty(shape, np.float32)
    _fill(x, 60)
    if case == "across":
        y = lrn_fast.lrn(x, size=3, alpha=1.0, beta=0.75, k=1.0)
    elif case == "across-backward":
        y = lrn_fast.lrn_backward(x, x, size=3, alpha=1.0, beta=0.75, k=1.0)
    elif case == "within":
        y = lrn_fast.lrn(x, size=3, alpha=1.0, region="within")
    else:
        y = lrn_fast.lrn(x, size=5, alpha=1.0, axis=-1)
    assert y.shape == shape and y.dtype == np.float32
    # compare slices that hold whole windows, including the last elements
    step = 1 << 22
    if case == "within":
        starts = [0, 12345, shape[1] - 40]
        for c0 in starts:
            sl = (slice(None), slice(c0, c0 + 40))
            np.testing.assert_allclose(y[sl], reference.lrn(x[sl], size=3, alpha=1.0,
                                                            region="within"),
                                       rtol=1e-5, atol=1e-6)
    elif case == "nhwc":
        for p0 in [0, shape[0] // 2, shape[0] - 4096]:
            sl = slice(p0, p0 + 4096)
            np.testing.assert_allclose(y[sl], reference.lrn(x[sl], size=5, alpha=1.0, axis=-1),
                                       rtol=1e-5, atol=1e-6)
    else:
        inner = shape[2]
        for p0 in list(range(0, inner, 32 * step)) + [inner - step]:
            sl = (slice(None), slice(None), slice(p0, p0 + step))
            kw = dict(size=3, alpha=1.0, beta=0.75, k=1.0)
            want = (reference.lrn(x[sl], **kw) if case == "across" else
                    reference.lrn_backward(x[sl], x[sl], **kw))
            np.testing.assert_allclose(y[sl], want, rtol=1e-5, atol=1e-5)
        # every element once: finite, and not left unwritten
        for p0 in range(0, inner, 16 * step):
            assert np.isfinite(y[:, :, p0:p0 + 16 * step]).all()


@pytest.mark.parametrize("fn", ["lrn", "lrn_backward"])
@pytest.mark.parametrize("region", ["across", "within"])
def test_strided_views_copy_blocks_not_arrays(fn, region):
    """Views the kernels would walk element by element (x[..., ::2]) run on dense
    copies of blocks: besides the output, about one block per array (1 MB, or one
    batch item when that is larger), not copies of the inputs."""
    from lrn_fast import _api
    base = random((32, 96, 27, 54), np.float32, seed=52)
    x, g = base[..., ::2], base[::-1, :, :, 1::2]
    kw = dict(size=5, region=region)
    if fn == "lrn":
        peak, y = _peak(lambda: lrn_fast.lrn(x, **kw))
    else:
        peak, y = _peak(lambda: lrn_fast.lrn_backward(g, x, **kw))
    block = max(_api._BLOCK_BYTES, y[0].nbytes)
    extra = peak - y.nbytes
    print(f"peak - output = {extra} bytes (input view {x.nbytes}, block {block})")
    assert extra < (3 if fn == "lrn_backward" else 2) * block + 64 * 1024
    assert extra < 0.5 * x.nbytes
