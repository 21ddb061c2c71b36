"""Time lrn_fast builds against each other, alternated in separate processes (the
numbers in README Performance and CHANGELOG).

    python src_c/test/time_builds.py ROOT_A ROOT_B [ROOT_C ...]
                                     [--set within|layouts|fewchannels|channelslast|mixed]
                                     [--forward] [--rounds 3] [--calls 15]

Each ROOT is a source folder with the extension built in place (e.g. a git
worktree of an older commit and this checkout).  Run it from a folder that is neither
(e.g. /tmp): each child puts its root first on sys.path and checks that it imported
that build.  `--set within` (default): the within-channel region's streamed and
buffered shapes; `--set layouts`: views that share no unit stride (step slices,
reversed), both regions; `--set fewchannels`: dense NHWC across with 3 to 16
channels (float32; two float64); `--set channelslast`: the same with 16 to 96
channels; `--set mixed`: across with x, grad_y and out in
different memory orders (NCHW and NHWC).  Prints, per round and build, the minimum time of
`--calls` calls per shape, float32, size 5 unless named, 1 thread unless named;
then, per shape, the minimum over the rounds and its ratio to the first build's.
"""
import argparse
import subprocess
import sys

SETS = {  # name, shape, channel axis, region, size, view, threads
    "within": [
        ("streamed NCHW", (32, 96, 55, 55), 1, "within", 5, "", (1, 2)),
        ("streamed NHWC", (32, 55, 55, 96), -1, "within", 5, "", (1, 2)),
        ("1-D", (32, 96, 3025), 1, "within", 5, "", (1,)),
        ("3-D", (8, 32, 16, 24, 24), 1, "within", 5, "", (1,)),
        ("NCHW 13x13", (32, 256, 13, 13), 1, "within", 5, "", (1,)),
        ("NHWC 3 channels", (32, 112, 112, 3), -1, "within", 5, "", (1,)),
        ("NHWC 21 taps", (8, 27, 27, 64), -1, "within", 21, "", (1,)),
        ("strided [..., ::2]", (32, 96, 27, 54), 1, "within", 5, "step", (1,)),
    ],
    "layouts": [
        (f"{name} {region}", shape, axis, region, 5, view, (1,))
        for name, shape, axis, view in [
            ("NCHW [..., ::2]", (32, 96, 55, 110), 1, "step"),
            ("NHWC [..., ::2]", (32, 55, 55, 192), -1, "step"),
            ("NCHW [..., :55][..., ::-1]", (32, 96, 55, 110), 1, "reversed"),
        ]
        for region in ("across", "within")
    ],
    "fewchannels": [   # dense NHWC across, about 9.3M values (float64: 4.6M)
        ("NHWC 3 channels", (32, 311, 311, 3), -1, "across", 5, "", (1, 2)),
        ("NHWC 4 channels", (32, 269, 269, 4), -1, "across", 5, "", (1,)),
        ("NHWC 8 channels", (32, 190, 190, 8), -1, "across", 5, "", (1,)),
        ("NHWC 16 channels", (32, 134, 134, 16), -1, "across", 5, "", (1,)),
        ("NHWC 3 channels f64", (32, 220, 220, 3), -1, "across", 5, "f64", (1,)),
        ("NHWC 8 channels f64", (32, 134, 134, 8), -1, "across", 5, "f64", (1,)),
    ],
    "channelslast": [   # dense NHWC across, 16 to 96 channels, about 9.3M values
        ("NHWC 16 channels", (32, 134, 134, 16), -1, "across", 5, "", (1,)),
        ("NHWC 32 channels", (32, 95, 95, 32), -1, "across", 5, "", (1,)),
        ("NHWC 64 channels", (32, 67, 67, 64), -1, "across", 5, "", (1,)),
        ("NHWC 64 channels size 9", (32, 67, 67, 64), -1, "across", 9, "", (1,)),
        ("NHWC 96 channels", (32, 55, 55, 96), -1, "across", 5, "", (1, 2)),
        ("NHWC 96 channels f64", (32, 55, 55, 96), -1, "across", 5, "f64", (1,)),
    ],
    "mixed": [   # across, (32,96,55,55); "o:" then the orders of x, grad_y and out
        ("x NHWC", (32, 96, 55, 55), 1, "across", 5, "o:hcc", (1, 2)),
        ("out NHWC", (32, 96, 55, 55), 1, "across", 5, "o:cch", (1,)),
        ("grad_y NCHW", (32, 96, 55, 55), 1, "across", 5, "o:hch", (1,)),
        ("x NHWC f64", (32, 96, 55, 55), 1, "across", 5, "o:hcc f64", (1,)),
        ("x NHWC 3 channels", (32, 3, 311, 311), 1, "across", 5, "o:hcc", (1,)),
    ],
}

CHILD = r"""
import sys, time
import numpy as np
root, calls, forward = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
sys.path.insert(0, root)
import lrn_fast
assert lrn_fast.__file__.startswith(root), lrn_fast.__file__
rng = np.random.default_rng(0)
out = []
for name, shape, axis, region, size, view, threads in CASES:
    dt = np.float64 if "f64" in view else np.float32
    x = rng.standard_normal(shape, dtype=dt)
    g = rng.standard_normal(shape, dtype=dt)
    if view == "step":
        x, g = x[..., ::2], g[..., ::2]
    elif view == "reversed":
        half = shape[-1] // 2
        x, g = x[..., :half][..., ::-1], g[..., :half][..., ::-1]
    y = np.empty(x.shape, dt)
    if view.startswith("o:"):   # memory orders of x, g, y: c NCHW, h NHWC
        nhwc = lambda a: np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, 3, 1, 2)
        x, g, y = [nhwc(a) if o == "h" else a for a, o in zip((x, g, y), view[2:5])]
    for thr in threads:
        kw = dict(size=size, region=region, axis=axis, out=y, num_threads=thr)
        ts = []
        for _ in range(calls):
            t0 = time.perf_counter()
            if forward:
                lrn_fast.lrn(x, **kw)
            else:
                lrn_fast.lrn_backward(g, x, **kw)
            ts.append(time.perf_counter() - t0)
        out.append(f"{name} {thr}t {min(ts) * 1e3:.2f}")
print(" | ".join(out))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+")
    ap.add_argument("--set", choices=sorted(SETS), default="within")
    ap.add_argument("--forward", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=15)
    a = ap.parse_args()
    if len(a.roots) < 2:
        ap.error(f"give at least two build roots to compare, got {a.roots!r}")
    code = f"CASES = {SETS[a.set]!r}\n" + CHILD
    best = {root: {} for root in a.roots}      # case -> min over rounds, per build
    for _ in range(a.rounds):
        for root in a.roots:
            res = subprocess.run([sys.executable, "-c", code, root, str(a.calls),
                                  "1" if a.forward else "0"],
                                 capture_output=True, text=True, check=True)
            line = res.stdout.strip()
            print(f"{root}: {line}", flush=True)
            for item in line.split(" | "):
                case, ms = item.rsplit(" ", 1)
                best[root][case] = min(float(ms), best[root].get(case, float("inf")))
    first = a.roots[0]
    print(f"\nminimum over {a.rounds} rounds (ms), and the ratio to {first}:")
    for case, ms0 in best[first].items():
        row = " | ".join(f"{best[r][case]:.2f} ({best[r][case] / ms0:.2f})"
                         for r in a.roots[1:])
        print(f"  {case:<24} {ms0:.2f} | {row}")


if __name__ == "__main__":
    main()
