"""The asv suite (asv_bench/benchmarks) imports, and each benchmark's setup, call and
teardown run for a few parameter combinations, without asv and without timing."""
import itertools
import os
import sys

import pytest

import lrn_fast

ASV_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "asv_bench")
if not os.path.isdir(os.path.join(ASV_DIR, "benchmarks")):
    pytest.skip("asv_bench/ is not beside tests/ (not a source checkout)",
                allow_module_level=True)
sys.path.insert(0, ASV_DIR)
from benchmarks import bench_memory, bench_peer, bench_time, bench_track, common  # noqa: E402

MODULES = [bench_time, bench_memory, bench_track, bench_peer]
PREFIXES = ("time_", "peakmem_", "track_")


def benchmark_classes():
    for mod in MODULES:
        for name, cls in vars(mod).items():
            if isinstance(cls, type) and not name.startswith("_") and hasattr(cls, "params") \
                    and cls.__module__ == mod.__name__:
                yield cls


def run_one(cls, params):
    """setup, every benchmark method once, teardown: what asv does for one combination.
    Returns {method name: value}, or None when setup skipped (NotImplementedError)."""
    bench = cls()
    try:
        bench.setup(*params)
        return {m: getattr(bench, m)(*params) for m in dir(bench) if m.startswith(PREFIXES)}
    except NotImplementedError:
        return None
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(*params)


def test_suite_shape():
    classes = list(benchmark_classes())
    assert {c.__name__ for c in classes} >= {"TimeAcross", "TimeWithin", "TimeSizeBeta", "TimeViews",
                                             "TimeFewChannels", "TimeMixedOrders",
                                             "PeakMem", "ExtraMemory", "RatioToCopy",
                                             "MaxError", "TimeTorch", "PeakMemTorch"}
    total = 0
    for cls in classes:
        assert len(cls.param_names) == len(cls.params), cls
        assert any(m.startswith(PREFIXES) for m in dir(cls)), cls
        total += len(list(itertools.product(*cls.params)))
    assert total < 400       # the grid is kept small enough for `asv run` (~15 min)


def test_time_benchmarks_small_combinations(monkeypatch):
    # the standard shapes are large: run the same code on a small one
    monkeypatch.setitem(common.SHAPES, "alexnet1 N=1", (1, 16, 9, 9))
    monkeypatch.setitem(common.SHAPES, "alexnet1 N=32", (2, 16, 9, 9))
    cases = [
        (bench_time.TimeAcross, ("forward", "NCHW", "float32", "alexnet1 N=1", 1)),
        (bench_time.TimeAcross, ("backward", "NHWC", "float64", "alexnet1 N=1", "all")),
        (bench_time.TimeWithin, ("backward", "NCHW", "float32", "alexnet1 N=1", "all")),
        (bench_time.TimeSizeBeta, ("forward", "within", "NHWC", 11, 0.6)),
        (bench_time.TimeSizeBeta, ("backward", "across", "NCHW", 3, 0.75)),
    ]
    for cls, params in cases:
        assert run_one(cls, params) == {"time_lrn": None}


def test_small_call_benchmarks():
    for params in itertools.product(*bench_time.TimeSmallCall.params):
        assert run_one(bench_time.TimeSmallCall, params) == {"time_lrn": None}


def test_view_benchmarks_small(monkeypatch):
    monkeypatch.setitem(bench_time.VIEW_BASE, "W step 2", ((2, 8, 9, 18), "NCHW"))
    monkeypatch.setitem(bench_time.VIEW_BASE, "NHWC channel step 2", ((2, 16, 9, 9), "NHWC"))
    monkeypatch.setitem(bench_time.VIEW_BASE, "reversed W", ((2, 8, 9, 18), "NCHW"))
    for params in itertools.product(*bench_time.TimeViews.params):
        assert run_one(bench_time.TimeViews, params) == {"time_lrn": None}


def test_few_channels_benchmarks_small(monkeypatch):
    for c in bench_time.FEW_CHANNELS:
        monkeypatch.setitem(bench_time.FEW_CHANNELS, c, (2, c, 9, 9))
    for params in itertools.product(*bench_time.TimeFewChannels.params):
        assert run_one(bench_time.TimeFewChannels, params) == {"time_lrn": None}


def test_mixed_orders_benchmarks_small(monkeypatch):
    monkeypatch.setitem(common.SHAPES, "alexnet1 N=32", (2, 16, 9, 9))
    for orders in bench_time.MIXED_ORDERS:
        assert run_one(bench_time.TimeMixedOrders, (orders,)) == {"time_lrn": None}


def test_threads_parameter_is_applied_and_restored():
    from threadpoolctl import threadpool_info
    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]
    bench = bench_time.TimeAcross()
    bench.setup("forward", "NCHW", "float32", "alexnet1 N=1", 1)
    try:
        bench.time_lrn()
        assert lrn_fast._lrn.last_team_size() == 1
    finally:
        bench.teardown()
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"] == before


def test_track_benchmarks(monkeypatch):
    monkeypatch.setitem(common.SHAPES, "alexnet1 N=1", (1, 16, 9, 9))
    monkeypatch.setitem(common.SHAPES, "alexnet1 N=32", (2, 16, 9, 9))
    r = run_one(bench_track.RatioToCopy, ("bwd alexnet1 N=32 NHWC", 1))
    assert r["track_ratio_to_copy"] > 0
    for params in [("forward", "across", "NCHW", "float32", "size=5 beta=0.75"),
                   ("backward", "within", "NHWC", "float64", "size=4 beta=0.75"),
                   ("backward", "across", "NHWC", "float32", "size=11 beta=0.6")]:
        err = run_one(bench_track.MaxError, params)["track_max_error"]
        assert err <= (1e-5 if "float32" in params else 1e-12), params
    assert all(case in bench_track.STANDARD for case in bench_track.RatioToCopy.params[0])


def test_memory_benchmarks(monkeypatch):
    monkeypatch.setattr(bench_memory, "SHAPE", (2, 16, 9, 9))
    assert run_one(bench_memory.PeakMem, ("none", "across", "NCHW")) == {"peakmem_lrn": None}
    assert run_one(bench_memory.PeakMem, ("backward", "within", "NHWC")) == {
        "peakmem_lrn": None}
    r = run_one(bench_memory.ExtraMemory, ("forward", "across", "NCHW"))
    if r is not None:     # None: no /proc/self/clear_refs here
        assert r["track_extra_memory"] >= 0


def test_peer_benchmarks(monkeypatch):
    monkeypatch.setitem(common.SHAPES, "alexnet1 N=32", (2, 16, 9, 9))
    for params in [("forward", "NHWC", "alexnet1 N=32", 1),
                   ("backward", "NCHW", "alexnet1 N=32", "all")]:
        r = run_one(bench_peer.TimeTorch, params)
        try:
            import torch  # noqa: F401
        except ImportError:
            assert r is None      # skipped in setup
        else:
            assert r == {"time_torch": None}


def test_guard_skips_missing_api(monkeypatch):
    """Old commits without lrn_backward skip the backward benchmarks in setup, before
    the thread limit is set."""
    monkeypatch.delattr(lrn_fast, "lrn_backward")
    monkeypatch.setitem(common.SHAPES, "alexnet1 N=1", (1, 16, 9, 9))
    bench = bench_time.TimeAcross()
    with pytest.raises(NotImplementedError):
        bench.setup("backward", "NCHW", "float32", "alexnet1 N=1", 1)
    assert bench._limiter is None
    assert run_one(bench_time.TimeAcross, ("forward", "NCHW", "float32", "alexnet1 N=1", 1)) \
        == {"time_lrn": None}
