"""Speed and correctness checks behind ``python -m lrn_fast``.

``run(cases)`` times lrn_fast on each case against a memory copy of the same
bytes measured in the same run (copy and LRN alternated, the median of the
per-pair ratios), and against PyTorch's F.local_response_norm and its autograd
backward when torch can be imported.  torch and matplotlib are imported only
when used, never by ``import lrn_fast``.

``check()`` compares lrn_fast with the float64 reference (lrn_fast.reference)
on AlexNet-shaped data.
"""
import math
import statistics
import time
from dataclasses import dataclass, replace

import numpy as np

from . import reference
from ._api import lrn, lrn_backward
from ._runtime import runtime_info

# (C, H, W) of the LRN layers of the classic networks
NETS = {"alexnet1": (96, 55, 55), "alexnet2": (256, 27, 27), "googlenet2": (192, 56, 56)}
ALPHA, K = 1e-4, 1.0          # PyTorch's defaults


@dataclass(frozen=True)
class Case:
    """One benchmark case.  shape is always given as (N, C, H, W); with
    layout "NHWC" the array is (N, H, W, C) and axis=-1."""
    name: str
    shape: tuple
    direction: str = "forward"     # or "backward"
    region: str = "across"         # or "within"
    layout: str = "NCHW"           # or "NHWC"
    dtype: str = "float32"         # or "float64"
    size: int = 5
    beta: float = 0.75
    threads: int = 0               # 0: all threads

    @property
    def array_shape(self):
        n, c, h, w = self.shape
        return (n, h, w, c) if self.layout == "NHWC" else (n, c, h, w)

    @property
    def axis(self):
        return -1 if self.layout == "NHWC" else 1


def case(net, batch, **kw):
    """A Case on a standard network layer, e.g. case("alexnet1", 32, beta=0.6)."""
    return Case(net, (batch,) + NETS[net], **kw)


def max_threads():
    return runtime_info()["max_threads"]


def default_cases():
    """The standard set: the targets in the README, a few minutes with PyTorch."""
    cs = []
    for beta in (0.75, 0.5, 1.0):
        for net, n in (("alexnet1", 32), ("alexnet2", 32), ("alexnet1", 1), ("alexnet1", 64)):
            for t in (1, 0):
                cs.append(case(net, n, beta=beta, threads=t))
    cs += [case("googlenet2", 32), case("alexnet2", 1), case("googlenet2", 1)]
    cs += [case(net, 32, layout="NHWC") for net in NETS]
    cs += [case("alexnet1", 32, layout="NHWC", threads=1)]
    cs += [case("alexnet1", 32, beta=0.6, layout=lay) for lay in ("NCHW", "NHWC")]
    cs += [case("alexnet1", 32, size=s) for s in (4, 11)]
    cs += [case("alexnet1", 32, size=s, layout="NHWC") for s in (4, 11)]
    for lay in ("NCHW", "NHWC"):
        cs += [case(net, 32, direction="backward", layout=lay) for net in NETS]
    cs += [case("alexnet1", 32, direction="backward", threads=1)]
    cs += [case("alexnet1", 32, direction="backward", beta=0.6)]
    for d in ("forward", "backward"):
        cs += [case("alexnet1", 32, direction=d, region="within", layout=lay)
               for lay in ("NCHW", "NHWC")]
        cs += [case("alexnet1", 32, direction=d, dtype="float64", layout=lay)
               for lay in ("NCHW", "NHWC")]
    return cs


def quick_cases():
    """A subset that runs in well under a minute, PyTorch included."""
    return [
        case("alexnet1", 32, threads=1), case("alexnet1", 32), case("alexnet2", 32),
        case("alexnet1", 1), case("alexnet1", 32, layout="NHWC"),
        case("alexnet1", 32, beta=0.6), case("alexnet1", 32, size=4),
        case("alexnet1", 32, direction="backward"),
        case("alexnet1", 32, direction="backward", layout="NHWC"),
        case("alexnet1", 32, region="within"), case("alexnet1", 32, dtype="float64"),
    ]


def with_threads(cases, threads):
    """Each case once per thread count in threads (0 = all), duplicates dropped."""
    out = []
    for c in cases:
        for t in threads:
            c2 = replace(c, threads=t)
            if c2 not in out:
                out.append(c2)
    return out


def parse_case(spec):
    """A Case from "key=value ..." text, e.g. "shape=2x16x9x9 direction=backward
    layout=NHWC"; keys are Case's fields (net=alexnet1 batch=32 instead of shape)."""
    kw = dict(item.split("=", 1) for item in spec.replace(",", " ").split())
    net = kw.pop("net", None)
    batch = int(kw.pop("batch", 32))
    if "shape" in kw:
        shape = tuple(int(v) for v in kw.pop("shape").lower().split("x"))
        if len(shape) != 4:
            raise ValueError(f"shape must be NxCxHxW, got {shape}")
        name = net or "custom"
    else:
        name = net or "alexnet1"
        shape = (batch,) + NETS[name]
    conv = {"size": int, "beta": float, "threads": int}
    kw = {k: conv.get(k, str)(v) for k, v in kw.items()}
    return Case(name, shape, **kw)


# ---- timing ------------------------------------------------------------------------
def _arrays(c, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(c.array_shape, dtype=np.dtype(c.dtype).type)
    g = rng.standard_normal(c.array_shape, dtype=np.dtype(c.dtype).type) \
        if c.direction == "backward" else None
    return x, g


def lrn_call(c, x, g, out, threads):
    """The lrn_fast call of a case, as a function of no arguments."""
    kw = dict(axis=c.axis, region=c.region, out=out, num_threads=threads)
    if c.direction == "backward":
        return lambda: lrn_backward(g, x, c.size, ALPHA, c.beta, K, **kw)
    return lambda: lrn(x, c.size, ALPHA, c.beta, K, **kw)


def import_torch():
    """torch, or None when it is not installed (imported here, lazily)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_call(torch, c, x, g):
    """PyTorch's F.local_response_norm (or its autograd backward) on the same data:
    an NCHW-contiguous tensor, or a channels_last one for layout NHWC.  Returns a
    function of no arguments returning the result as a tensor of x's layout, or
    None when PyTorch has no such LRN (region "within")."""
    if c.region != "across":
        return None
    F = torch.nn.functional
    t = torch.from_numpy(x)
    if c.layout == "NHWC":
        t = t.permute(0, 3, 1, 2)           # (N, C, H, W) view, channels_last strides
    if c.direction == "forward":
        return lambda: F.local_response_norm(t, c.size, ALPHA, c.beta, K)
    tg = torch.from_numpy(g)
    if c.layout == "NHWC":
        tg = tg.permute(0, 3, 1, 2)
    tt = t.detach().clone(memory_format=torch.preserve_format).requires_grad_(True)
    y = F.local_response_norm(tt, c.size, ALPHA, c.beta, K)
    return lambda: torch.autograd.grad(y, tt, tg, retain_graph=True)[0]


def _paired(fn, copy, min_reps, max_reps, budget):
    """Alternate copy() and fn(); medians of fn's time, copy's time and their ratio."""
    fn()
    copy()
    tf, tc, ratios = [], [], []
    end = time.perf_counter() + budget
    while len(tf) < max_reps and (len(tf) < min_reps or time.perf_counter() < end):
        t0 = time.perf_counter()
        copy()
        t1 = time.perf_counter()
        fn()
        t2 = time.perf_counter()
        tc.append(t1 - t0)
        tf.append(t2 - t1)
        ratios.append((t2 - t1) / max(t1 - t0, 1e-9))
    return statistics.median(tf), statistics.median(tc), statistics.median(ratios)


def _timed(fn, reps, budget):
    """Median time of fn over up to reps calls (after one warm-up), within budget."""
    fn()
    ts = []
    end = time.perf_counter() + budget
    while len(ts) < reps and (not ts or time.perf_counter() < end):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def run(cases, *, torch=None, budget=0.5, min_reps=5, max_reps=200, torch_reps=3,
        torch_budget=3.0, progress=None):
    """Time each case; return one dict per case.

    Row keys: case (the Case), label, ms (median time of lrn_fast), copy_ms (median
    time of np.copyto of x, one thread), ratio (median of lrn/copy over alternated
    pairs), gbps (bytes read and written / time: 2 arrays forward, 3 backward),
    threads (the count used), torch_ms and speedup (torch_ms / ms; None without
    torch or for region "within").
    torch: None imports it if installed, False skips it, or a torch module."""
    if torch is None:
        torch = import_torch()
    nmax = max_threads()
    rows = []
    for c in cases:
        threads = c.threads or nmax
        x, g = _arrays(c)
        out = np.empty_like(x)
        buf = np.empty_like(x)
        buf.fill(0)
        out.fill(0)
        ms, copy_ms, ratio = _paired(lrn_call(c, x, g, out, threads),
                                     lambda: np.copyto(buf, x), min_reps, max_reps, budget)
        narrays = 3 if c.direction == "backward" else 2
        row = dict(case=c, label=label(c), threads=threads, ms=ms * 1e3, copy_ms=copy_ms * 1e3,
                   ratio=ratio, gbps=narrays * x.nbytes / ms / 1e9, torch_ms=None, speedup=None)
        fn = torch_call(torch, c, x, g) if torch else None
        if fn is not None:
            old = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                tms = _timed(fn, torch_reps, torch_budget) * 1e3
            finally:
                torch.set_num_threads(old)
            row.update(torch_ms=tms, speedup=tms / row["ms"])
        rows.append(row)
        if progress:
            progress(row)
    return rows


# ---- the table ---------------------------------------------------------------------
COLUMNS = ["case", "dir", "region", "layout", "dtype", "size", "beta", "thr",
           "ms", "GB/s", "x copy", "torch ms", "x torch"]


def label(c):
    return f"{c.name} {'x'.join(map(str, c.shape))}"


def _ms(v):
    """A time in ms with 3 significant digits and at least 2 decimals (0.0614, 3.45)."""
    return f"{v:.{max(2, 2 - math.floor(math.log10(v)))}f}" if v > 0 else f"{v:.2f}"


def _cells(r):
    c = r["case"]
    opt = (lambda v, f: "" if v is None else format(v, f))
    return [r["label"], "fwd" if c.direction == "forward" else "bwd", c.region, c.layout, c.dtype.replace("float", "f"),
            str(c.size), f"{c.beta:g}", str(r["threads"]), _ms(r["ms"]),
            f"{r['gbps']:.1f}", f"{r['ratio']:.2f}", opt(r["torch_ms"], ".1f"),
            opt(r["speedup"], ".1f")]


def format_table(rows):
    cells = [COLUMNS] + [_cells(r) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = []
    for j, row in enumerate(cells):
        lines.append("  ".join(v.ljust(w) if i < 2 or i in (2, 3, 4) else v.rjust(w)
                               for i, (v, w) in enumerate(zip(row, widths))).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def legend():
    return ("ms: median time of lrn_fast; GB/s: bytes read and written (2 arrays forward, "
            "3 backward) / time;\nx copy: median ratio of that time to np.copyto of the "
            "input (one thread), alternated in the same run;\ntorch ms: "
            "torch.nn.functional.local_response_norm (backward: its autograd backward) "
            "on the same threads;\nx torch: torch ms / ms (PyTorch has no within-channel "
            "LRN: empty). alpha=1e-4, k=1.")


def plot(rows, filename):
    """A bar chart of the table: per case, lrn_fast, PyTorch (when timed) and the
    memory copy in ms (log scale), and the ratios to the copy."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'lrn_fast[plot]' "
                         "(or pip install matplotlib)") from None
    names = ["{} {} {} {} {} n={} b={} t={}".format(*_cells(r)[:8]) for r in rows]
    n = len(rows)
    pos = np.arange(n)
    fig = Figure(figsize=(14, 1.2 + 0.32 * n), layout="constrained")
    ax_ms, ax_ratio = fig.subplots(1, 2, sharey=True)
    h = 0.27
    series = [("lrn_fast", [r["ms"] for r in rows], -h),
              ("PyTorch", [r["torch_ms"] or 0 for r in rows], 0),
              ("memory copy", [r["copy_ms"] for r in rows], h)]
    for name, vals, off in series:
        if name == "PyTorch" and not any(vals):
            continue
        ax_ms.barh(pos + off, vals, height=h, label=name)
    ax_ms.set_xscale("log")
    ax_ms.set_xlabel("ms (median, log scale)")
    ax_ms.set_yticks(pos, names, fontsize=7, family="monospace")
    ax_ms.invert_yaxis()
    ax_ms.legend(loc="best", fontsize=8)
    ax_ratio.barh(pos - h / 2, [r["ratio"] for r in rows], height=h, label="lrn_fast")
    tr = [(r["torch_ms"] / r["copy_ms"]) if r["torch_ms"] else 0 for r in rows]
    if any(tr):
        ax_ratio.barh(pos + h / 2, tr, height=h, label="PyTorch")
    ax_ratio.axvline(1.0, color="gray", lw=0.8)
    ax_ratio.set_xscale("log")
    ax_ratio.set_xlabel("time / memory copy of the same bytes (log scale)")
    ax_ratio.legend(loc="best", fontsize=8)
    fig.suptitle(f"lrn_fast {runtime_info()['version']}, dispatch "
                 f"{runtime_info()['dispatch']}")
    fig.savefig(filename, dpi=100)


# ---- correctness -------------------------------------------------------------------
CHECK_TOL = {"float32": 1e-5, "float64": 1e-12}


def check(shapes=((2, 96, 55, 55), (2, 256, 27, 27)), dtype="float32", size=5, beta=0.75):
    """Compare lrn_fast with the float64 reference on random data scaled so that the
    normalisation matters (alpha/size * sum x^2 ~ 1).  One row per (shape, layout,
    direction, region): max abs error, max error relative to max|reference|, pass."""
    rows = []
    rng = np.random.default_rng(1)
    tol = CHECK_TOL[dtype]
    for shape in shapes:
        x = (rng.standard_normal(shape) * 100).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        for layout in ("NCHW", "NHWC"):
            xx, gg, axis = x, g, 1
            if layout == "NHWC":
                xx = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
                gg = np.ascontiguousarray(g.transpose(0, 2, 3, 1))
                axis = -1
            for direction in ("forward", "backward"):
                for region in ("across", "within"):
                    kw = dict(axis=axis, region=region)
                    if direction == "forward":
                        got = lrn(xx, size, ALPHA, beta, K, **kw)
                        want = reference.lrn(xx, size, ALPHA, beta, K, **kw)
                    else:
                        got = lrn_backward(gg, xx, size, ALPHA, beta, K, **kw)
                        want = reference.lrn_backward(gg, xx, size, ALPHA, beta, K, **kw)
                    err = np.abs(got.astype(np.float64) - want)
                    abs_err = float(np.max(err)) if np.all(np.isfinite(err)) else float("nan")
                    rel_err = abs_err / float(np.max(np.abs(want)))
                    rows.append(dict(shape=shape, layout=layout, direction=direction,
                                     region=region, dtype=dtype, abs_err=abs_err,
                                     rel_err=rel_err, ok=bool(rel_err <= tol)))
    return rows
