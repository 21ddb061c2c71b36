"""Threads and processes: concurrent calls from Python threads, thread-count
independence, fork after a parallel call, and how num_threads, OMP_NUM_THREADS
and threadpoolctl interact (observed with libgomp)."""
import json
import os
import textwrap
import threading
import time

import numpy as np
import pytest

import lrn_fast
from conftest import random, run_python

BIG = (4, 64, 64, 64)     # float32: enough elements and work items for 2 threads


def _jobs():
    """(fn, x, g, kwargs): other shapes, layouts, dtypes, parameters and thread counts."""
    rng = np.random.default_rng(40)
    a = rng.standard_normal((2, 96, 27, 27)).astype(np.float32)
    b = rng.standard_normal((3, 32, 40, 24))
    c = rng.standard_normal((8, 17, 33)).astype(np.float32)
    d = rng.standard_normal((2, 12, 10, 9, 8)).astype(np.float32)
    e = np.moveaxis(rng.standard_normal((2, 64, 30, 31)).astype(np.float32), 1, -1)
    f = (rng.standard_normal((2, 48, 20, 20)) * 300).astype(np.float16)
    jobs = [
        ("lrn", a, None, dict(size=5)),
        ("lrn", a, None, dict(size=4, alpha=2e-4, beta=0.5, k=2.0, num_threads=2)),
        ("lrn_backward", a, a[:, ::-1], dict(size=5, num_threads=1)),
        ("lrn", b, None, dict(size=7, beta=1.0, num_threads=3)),
        ("lrn_backward", b, b * 0.5, dict(size=3, beta=0.6, k=0.5, alpha=1.0)),
        ("lrn", b, None, dict(region="within", size=3, num_threads=2)),
        ("lrn", c, None, dict(size=9, axis=1, window=(1, 6))),
        ("lrn_backward", c, c[::-1], dict(size=2, axis=2, num_threads=2)),
        ("lrn", d, None, dict(region="within", size=3, beta=0.75)),
        ("lrn_backward", d, d, dict(region="within", size=4, num_threads=3)),
        ("lrn", e, None, dict(axis=-1, size=5, num_threads=2)),
        ("lrn_backward", e, e, dict(axis=-1, size=6, beta=2.0, num_threads=1)),
        ("lrn", e[:, ::-2, ::3], None, dict(axis=-1, size=3)),
        ("lrn", f, None, dict(size=5, k=2.0)),
        ("lrn_backward", f, f, dict(region="within", size=3, num_threads=2)),
    ]
    return jobs


def _run(job):
    fn, x, g, kw = job
    return lrn_fast.lrn(x, **kw) if fn == "lrn" else lrn_fast.lrn_backward(g, x, **kw)


def test_concurrent_python_threads_bitwise():
    """8 Python threads call lrn and lrn_backward at once for ~3 s (at most 200 calls
    each): every result equals, bit for bit, the serial result computed first."""
    jobs = _jobs()
    serial = [_run(j).tobytes() for j in jobs]
    errors, counts = [], [0] * 8
    deadline = time.monotonic() + 3.0

    def worker(t):
        try:
            i = t
            while time.monotonic() < deadline and counts[t] < 200:
                j = i % len(jobs)
                got = _run(jobs[j]).tobytes()
                if got != serial[j]:
                    errors.append(f"thread {t}, job {j}: result differs from the serial one")
                    return
                counts[t] += 1
                i += 3
        except Exception as e:      # pragma: no cover - reported below
            errors.append(f"thread {t}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads), "a thread did not finish"
    assert not errors, errors[:5]
    assert min(counts) > 0


@pytest.mark.parametrize("fn", ["lrn", "lrn_backward"])
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("layout", ["C", "NHWC", "strided"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_independent_of_thread_count(fn, region, layout, dtype):
    x = random((3, 40, 23, 29), dtype, seed=41)
    if layout == "NHWC":
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    elif layout == "strided":
        x = random((3, 80, 23, 58), dtype, seed=41)[:, ::2, :, ::-2]
    g = np.cos(x * 3)
    res = []
    for nt in (1, 2, 3, 4, 7):
        kw = dict(size=5, region=region, num_threads=nt)
        y = lrn_fast.lrn(x, **kw) if fn == "lrn" else lrn_fast.lrn_backward(g, x, **kw)
        res.append(y.tobytes())
    assert all(r == res[0] for r in res)


FORK_SCRIPT = textwrap.dedent("""
    import multiprocessing as mp, os, sys
    import numpy as np
    import lrn_fast
    from lrn_fast import reference

    x = np.random.default_rng(0).standard_normal(%(shape)r).astype(np.float32)
    y = lrn_fast.lrn(x, num_threads=2)
    assert lrn_fast._lrn.last_team_size() == 2, lrn_fast._lrn.last_team_size()
    d = lrn_fast.lrn_backward(x, x, num_threads=2, region="within")
    xs = x[:1, :16, :16]
    ys = reference.lrn(xs)

    def child(q):
        try:
            a = lrn_fast.lrn(x)
            b = lrn_fast.lrn(x, num_threads=2)
            c = lrn_fast.lrn_backward(x, x, region="within")
            ok = (np.array_equal(a, y) and np.array_equal(b, y) and np.array_equal(c, d)
                  and np.abs(lrn_fast.lrn(xs) - ys).max() < 1e-5)
            q.put((bool(ok), lrn_fast._lrn.last_team_size()))
        except BaseException as e:
            q.put((False, repr(e)))

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    p.join(60)
    if p.is_alive():
        p.kill()
        print("child hung"); sys.exit(1)
    ok, info = q.get(timeout=5)
    assert p.exitcode == 0 and ok, (p.exitcode, info)

    # the same with a bare os.fork
    pid = os.fork()
    if pid == 0:
        os._exit(0 if np.array_equal(lrn_fast.lrn(x, num_threads=2), y) else 3)
    import time
    t0 = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - t0 > 60:
            os.kill(pid, 9); print("os.fork child hung"); sys.exit(1)
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0, status

    # the parent still runs in parallel, with the same results
    assert np.array_equal(lrn_fast.lrn(x, num_threads=2), y)
    assert lrn_fast._lrn.last_team_size() == 2
    print("ok", info)
""")


def test_fork_after_parallel_call():
    """A child forked after a parallel region (libgomp would hang at its first
    parallel region: GCC bug 60035) completes its calls, with correct results.
    The whole scenario runs in a subprocess killed after 120 s."""
    out = run_python(FORK_SCRIPT % {"shape": BIG}, timeout=120)
    assert out.startswith("ok"), out


THREADS_SCRIPT = textwrap.dedent("""
    import json, threading
    import numpy as np
    import lrn_fast
    from threadpoolctl import threadpool_limits
    team = lrn_fast._lrn.last_team_size
    x = np.random.default_rng(0).standard_normal(%(shape)r).astype(np.float32)

    def used(**kw):
        lrn_fast.lrn(x, **kw)
        return team()

    def in_thread(f):
        res = []
        t = threading.Thread(target=lambda: res.append(f()))
        t.start(); t.join(60)
        return res[0]

    r = {"max_threads": lrn_fast._lrn.max_threads(), "default": used(),
         "nt1": used(num_threads=1), "nt2": used(num_threads=2), "nt3": used(num_threads=3)}
    with threadpool_limits(1, user_api="openmp"):
        r["limit1"] = used()
        r["limit1_nt2"] = used(num_threads=2)
        r["limit1_other_thread"] = in_thread(used)
        r["limit1_other_thread_nt2"] = in_thread(lambda: used(num_threads=2))
    with threadpool_limits(3, user_api="openmp"):
        r["limit3"] = used()
    r["after"] = used()
    def limited_in_thread():
        with threadpool_limits(1, user_api="openmp"):
            return used()
    r["thread_limits_itself"] = in_thread(limited_in_thread)
    r["main_after_thread_limit"] = used()
    print(json.dumps(r))
""")


@pytest.mark.parametrize("omp", [None, "1", "3"])
def test_num_threads_omp_env_and_threadpoolctl(omp):
    """num_threads= wins for its call; with num_threads=None the count comes from
    threadpoolctl's limit (per calling thread with libgomp) or else OMP_NUM_THREADS
    (else the number of CPUs).  A Python thread that was not limited is not affected
    by a limit set in another thread."""
    env = {"OMP_NUM_THREADS": omp} if omp else {}
    if omp is None:
        env["OMP_NUM_THREADS"] = ""
    r = json.loads(run_python(THREADS_SCRIPT % {"shape": BIG}, env_extra=env, timeout=120))
    default = int(omp) if omp else r["max_threads"]
    assert r["max_threads"] == default
    assert r["default"] == default
    assert (r["nt1"], r["nt2"], r["nt3"]) == (1, 2, 3)
    assert r["limit1"] == 1
    assert r["limit1_nt2"] == 2
    assert r["limit1_other_thread"] == default        # limits are per thread (libgomp)
    assert r["limit1_other_thread_nt2"] == 2
    assert r["limit3"] == 3
    assert r["after"] == default
    assert r["thread_limits_itself"] == 1
    assert r["main_after_thread_limit"] == default


HUGE_SCRIPT = textwrap.dedent("""
    import numpy as np
    import lrn_fast
    from lrn_fast import reference
    from threadpoolctl import threadpool_limits
    # ~40000 work items: one thread each would exceed the process's thread/mapping limits
    x = np.random.default_rng(0).standard_normal((40000, 3, 4)).astype(np.float32)[:, :, :2]
    if %(mode)r == "limits":
        with threadpool_limits(10 ** 6, user_api="openmp"):
            y = lrn_fast.lrn(x, 3)
    else:
        y = lrn_fast.lrn(x, 3)
    assert np.abs(y - reference.lrn(x, 3)).max() < 1e-5
    print(lrn_fast._lrn.last_team_size())
""")


@pytest.mark.parametrize("how", ["OMP_NUM_THREADS", "threadpool_limits"])
def test_huge_default_thread_count_does_not_abort(how):
    """num_threads=None with OMP_NUM_THREADS=100000 or threadpool_limits(10**6): the call
    completes with a sane number of threads (libgomp aborts the whole process when it
    cannot create a thread), like an explicit num_threads=10**9 does."""
    env = {"OMP_NUM_THREADS": "100000"} if how == "OMP_NUM_THREADS" else {}
    mode = "limits" if how == "threadpool_limits" else "env"
    team = int(run_python(HUGE_SCRIPT % {"mode": mode}, env_extra=env, timeout=120).strip())
    assert 1 <= team <= max(64, 4 * (os.cpu_count() or 1))


@pytest.mark.parametrize("backward", [0, 1])
@pytest.mark.parametrize("region,shape,lo,hi", [
    (0, [1, 96, 160], [2], [2]), (0, [2, 64, 100], [2], [2]), (0, [1, 16, 1000], [1], [1]),
    (1, [1, 24, 16, 16], [1, 1], [1, 1]), (1, [2, 8, 30, 30], [2, 2], [2, 2])])
def test_serial_job_is_planned_for_one_thread(region, shape, lo, hi, backward):
    """A job too small for a thread team (fewer than 32768 elements, counted twice
    backward) runs on one thread whatever num_threads asks, and is tiled as for one:
    asking for 2 or 64 threads once cut it into the small tiles that balance a team
    (1x96x256 forward: 0.016 -> 0.011 ms), for no thread to use them.  The same job 64 times
    larger still gets a team of 2 and at least as many work items."""
    one = lrn_fast._lrn.plan(0, region, backward, shape, lo, hi, 1)
    assert one[3] == 1
    for nt in (2, 64):
        assert lrn_fast._lrn.plan(0, region, backward, shape, lo, hi, nt) == one, nt
    big = [shape[0] * 64] + shape[1:]
    one, two = (lrn_fast._lrn.plan(0, region, backward, big, lo, hi, nt) for nt in (1, 2))
    assert two[3] == 2 and two[1] >= one[1] and two[1] >= 2
