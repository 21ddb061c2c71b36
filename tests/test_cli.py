"""python -m lrn_fast (info, bench, the default check) and lrn_fast._bench.

Only the plumbing and the numbers' meaning are tested, never speed: tiny cases,
no timing assertions."""
import os
import subprocess
import sys

import numpy as np
import pytest

import lrn_fast
from lrn_fast import _bench, reference

PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(lrn_fast.__file__)))
TINY = ["shape=2x16x9x9 threads=1",
        "shape=2x16x9x9 direction=backward layout=NHWC dtype=float64",
        "shape=2x8x7x7 region=within size=4 beta=0.6"]


def run_cli(args, cwd, timeout=300, keep_forcing=False):
    """python -m lrn_fast ARGS in a subprocess, outside the source tree (so the
    lrn_fast under test is the one this interpreter imports); on the best SIMD path
    unless keep_forcing passes LRN_FAST_DISABLE_CPU_FEATURES on."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    if not keep_forcing:
        env.pop("LRN_FAST_DISABLE_CPU_FEATURES", None)
    return subprocess.run([sys.executable, "-m", "lrn_fast", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def table_rows(stdout):
    """The rows of the bench table, split on runs of two or more spaces."""
    lines = stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("case "))
    rows = []
    for line in lines[head + 2:]:
        if not line.strip():
            break
        rows.append(line)
    return lines[head], rows


def test_info(tmp_path):
    r = run_cli(["info"], tmp_path, keep_forcing=True)
    assert r.returncode == 0, r.stderr
    assert f"lrn_fast {lrn_fast.__version__}" in r.stdout
    assert f"dispatch: {lrn_fast.runtime_info()['dispatch']}" in r.stdout
    assert "threads: max" in r.stdout


def test_bench_tiny_cases(tmp_path):
    args = ["bench", "--no-torch"]
    for spec in TINY:
        args += ["--case", spec]
    r = run_cli(args, tmp_path)
    assert r.returncode == 0, r.stderr
    header, rows = table_rows(r.stdout)
    for col in ("case", "dir", "region", "layout", "dtype", "size", "beta", "thr", "ms",
                "GB/s", "x copy", "torch ms", "x torch"):
        assert col in header
    assert len(rows) == len(TINY)
    assert rows[0].split()[:9] == ["custom", "2x16x9x9", "fwd", "across", "NCHW", "f32",
                                   "5", "0.75", "1"]
    assert rows[1].split()[2:7] == ["bwd", "across", "NHWC", "f64", "5"]
    assert rows[2].split()[2:8] == ["fwd", "within", "NCHW", "f32", "4", "0.6"]
    for row in rows:
        ms, gbps, ratio = (float(v) for v in row.split()[9:12])
        assert ms > 0 and gbps > 0 and ratio > 0
    assert "PyTorch: not compared" in r.stdout


def test_bench_threads_option(tmp_path):
    r = run_cli(["bench", "--no-torch", "--case", "shape=1x8x5x5", "--threads", "1", "all"],
                tmp_path)
    assert r.returncode == 0, r.stderr
    _, rows = table_rows(r.stdout)
    nmax = lrn_fast.runtime_info()["max_threads"]
    expected = ["1", str(nmax)] if nmax > 1 else ["1"]
    assert [row.split()[8] for row in rows] == expected


def test_bench_rejects_bad_threads(tmp_path):
    r = run_cli(["bench", "--threads", "0"], tmp_path)
    assert r.returncode == 2 and "thread counts must be >= 1" in r.stderr


def test_default_command_check_passes(tmp_path):
    """python -m lrn_fast: every reference comparison passes, exit status 0.
    (It also times (32, 96, 55, 55): a few seconds.)"""
    r = run_cli([], tmp_path)
    assert "FAIL" not in r.stdout, r.stdout
    assert r.returncode == 0, r.stdout + r.stderr
    assert "correctness: PASS" in r.stdout
    assert "forward" in r.stdout and "backward" in r.stdout and "memory copy" in r.stdout


# ---- lrn_fast._bench in process -------------------------------------------------------
def test_parse_case():
    c = _bench.parse_case("net=alexnet2 batch=1 direction=backward layout=NHWC beta=0.6")
    assert c == _bench.Case("alexnet2", (1, 256, 27, 27), direction="backward",
                            layout="NHWC", beta=0.6)
    assert c.array_shape == (1, 27, 27, 256) and c.axis == -1
    c = _bench.parse_case("shape=2x3x4x5 size=4 threads=1 dtype=float64")
    assert (c.name, c.shape, c.size, c.threads, c.dtype) == ("custom", (2, 3, 4, 5), 4, 1,
                                                             "float64")
    with pytest.raises(ValueError):
        _bench.parse_case("shape=2x3x4")


def test_standard_case_sets():
    quick, full = _bench.quick_cases(), _bench.default_cases()
    assert set(quick) <= set(full) | set(quick)
    assert len(set(full)) == len(full)
    for cs in (quick, full):
        assert {c.direction for c in cs} == {"forward", "backward"}
        assert {c.region for c in cs} == {"across", "within"}
        assert {c.layout for c in cs} == {"NCHW", "NHWC"}
        assert {c.dtype for c in cs} == {"float32", "float64"}
    assert {c.size for c in full} == {4, 5, 11}
    assert {c.beta for c in full} == {0.5, 0.6, 0.75, 1.0}
    assert {c.shape for c in full} >= {(32, 96, 55, 55), (32, 256, 27, 27), (1, 96, 55, 55),
                                       (64, 96, 55, 55), (32, 192, 56, 56)}
    doubled = _bench.with_threads(quick, [1, 0])
    assert len(doubled) == len(set(doubled)) and {c.threads for c in doubled} == {0, 1}


def test_run_rows_and_table():
    cases = [_bench.parse_case(s) for s in TINY]
    rows = _bench.run(cases, torch=False, budget=0.0, min_reps=3, max_reps=3)
    assert [r["case"] for r in rows] == cases
    for r in rows:
        assert r["ms"] > 0 and r["copy_ms"] > 0 and r["ratio"] > 0 and r["gbps"] > 0
        assert r["torch_ms"] is None and r["speedup"] is None
        assert r["threads"] == (r["case"].threads or lrn_fast.runtime_info()["max_threads"])
    table = _bench.format_table(rows).splitlines()
    assert table[0].split()[0] == "case" and len(table) == 2 + len(rows)


def test_lrn_call_computes_the_case():
    """The timed call is the LRN the row names (checked against the reference)."""
    for spec in TINY:
        c = _bench.parse_case(spec)
        x, g = _bench._arrays(c)
        out = np.empty_like(x)
        _bench.lrn_call(c, x, g, out, 1)()
        kw = dict(axis=c.axis, region=c.region)
        if c.direction == "forward":
            want = reference.lrn(x, c.size, _bench.ALPHA, c.beta, _bench.K, **kw)
        else:
            want = reference.lrn_backward(g, x, c.size, _bench.ALPHA, c.beta, _bench.K, **kw)
        tol = 1e-5 if c.dtype == "float32" else 1e-12
        assert np.max(np.abs(out - want)) <= tol * np.max(np.abs(want))


def test_torch_call_matches_reference():
    """PyTorch is given the same LRN: NCHW and channels_last, forward and backward."""
    torch = pytest.importorskip("torch")
    for spec in ("shape=2x12x5x6", "shape=2x12x5x6 layout=NHWC size=4",
                 "shape=2x12x5x6 direction=backward", "shape=2x12x5x6 direction=backward "
                 "layout=NHWC size=4 beta=0.6 dtype=float64"):
        c = _bench.parse_case(spec)
        x, g = _bench._arrays(c)
        x = x * 30
        got = _bench.torch_call(torch, c, x, g)()
        if c.layout == "NHWC":
            assert got.is_contiguous(memory_format=torch.channels_last) or c.direction == "backward"
            got = got.permute(0, 2, 3, 1)
        got = got.detach().numpy()
        kw = dict(axis=c.axis)
        if c.direction == "forward":
            want = reference.lrn(x, c.size, _bench.ALPHA, c.beta, _bench.K, **kw)
        else:
            want = reference.lrn_backward(g, x, c.size, _bench.ALPHA, c.beta, _bench.K, **kw)
        tol = 1e-4 if c.dtype == "float32" else 1e-10
        assert np.max(np.abs(got - want)) <= tol * np.max(np.abs(want)), spec
    assert _bench.torch_call(torch, _bench.parse_case("shape=1x4x3x3 region=within"),
                             None, None) is None


def test_run_with_torch_fills_its_columns():
    torch = pytest.importorskip("torch")
    cases = [_bench.parse_case("shape=2x16x9x9"),
             _bench.parse_case("shape=2x16x9x9 region=within")]
    old = torch.get_num_threads()
    rows = _bench.run(cases, torch=torch, budget=0.0, min_reps=2, max_reps=2, torch_reps=1)
    assert torch.get_num_threads() == old
    assert rows[0]["torch_ms"] > 0 and rows[0]["speedup"] > 0
    assert rows[1]["torch_ms"] is None


def test_check_rows():
    rows = _bench.check(shapes=((2, 16, 9, 9),))
    assert len(rows) == 8
    assert {(r["layout"], r["direction"], r["region"]) for r in rows} == {
        (l, d, g) for l in ("NCHW", "NHWC") for d in ("forward", "backward")
        for g in ("across", "within")}
    assert all(r["ok"] for r in rows), rows


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    rows = _bench.run([_bench.parse_case(s) for s in TINY], torch=False, budget=0.0,
                      min_reps=2, max_reps=2)
    rows[0].update(torch_ms=rows[0]["ms"] * 10, speedup=10.0)
    f = tmp_path / "bench.png"
    _bench.plot(rows, str(f))
    assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(SystemExit, match="needs matplotlib"):
        _bench.plot([], str(tmp_path / "x.png"))
