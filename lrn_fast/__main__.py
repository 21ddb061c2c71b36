"""python -m lrn_fast [info | bench [--quick] [--plot FILE.png] [--threads N ...]]

Without a command: check lrn_fast against the float64 reference on AlexNet-shaped
data (exit status 1 on a failure), then time forward and backward on
(32, 96, 55, 55) float32.
"""
import argparse
import sys

from . import _bench
from ._runtime import runtime_info, show_runtime


def _check_and_time():
    info = runtime_info()
    print(f"lrn_fast {info['version']}: dispatch {info['dispatch']}, "
          f"{info['max_threads']} threads")
    print("check against lrn_fast.reference (float64), float32 data, size 5, beta 0.75, "
          f"tolerance {_bench.CHECK_TOL['float32']:g} relative to max|reference|:")
    ok = True
    for r in _bench.check():
        shape = "x".join(map(str, r["shape"]))
        print(f"  {shape:<12} {r['layout']}  {r['direction']:<8}  {r['region']:<6}  "
              f"max abs err {r['abs_err']:.2e}  rel {r['rel_err']:.2e}  "
              f"{'PASS' if r['ok'] else 'FAIL'}")
        ok &= r["ok"]
    print("correctness:", "PASS" if ok else "FAIL")
    print()
    cases = [_bench.case("alexnet1", 32, direction=d) for d in ("forward", "backward")]
    rows = _bench.run(cases, torch=False, budget=1.0, min_reps=7, max_reps=50)
    print(f"time on (32, 96, 55, 55) float32 NCHW, size 5, beta 0.75, "
          f"{rows[0]['threads']} threads, dispatch {info['dispatch']}:")
    for r in rows:
        print(f"  {r['case'].direction:<8}  {r['ms']:7.2f} ms  {r['gbps']:6.1f} GB/s  "
              f"{r['ratio']:5.2f} x a memory copy of the same bytes ({r['copy_ms']:.2f} ms)")
    return 0 if ok else 1


def _threads_arg(text):
    out = []
    for part in text.replace(",", " ").split():
        if part == "all":
            out.append(0)
        else:
            n = int(part)
            if n < 1:
                raise argparse.ArgumentTypeError(f"thread counts must be >= 1, got {n}")
            out.append(n)
    return out


def _bench_cmd(args):
    if args.case:
        cases = [_bench.parse_case(s) for s in args.case]
    else:
        cases = _bench.quick_cases() if args.quick else _bench.default_cases()
    if args.threads:
        cases = _bench.with_threads(cases, [t for ts in args.threads for t in ts])
    torch = False if args.no_torch else _bench.import_torch()
    info = runtime_info()
    print(f"lrn_fast {info['version']}, dispatch {info['dispatch']}, max threads "
          f"{info['max_threads']}; "
          + (f"PyTorch {torch.__version__}" if torch else
             "PyTorch: not compared" + ("" if args.no_torch else " (not installed)")))
    print(_bench.legend())
    print()
    quick = args.quick or bool(args.case)
    rows = _bench.run(cases, torch=torch, budget=0.3 if quick else 0.6,
                      torch_reps=1 if quick else 3, torch_budget=1.0 if quick else 3.0)
    print(_bench.format_table(rows))
    if args.plot:
        _bench.plot(rows, args.plot)
        print(f"\nplot written to {args.plot}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lrn_fast",
        description="Without a command: check lrn_fast against the float64 reference and "
                    "time it on AlexNet-shaped data.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="show the build, the SIMD dispatch and the threads")
    b = sub.add_parser("bench", help="time the standard cases (vs a memory copy and PyTorch)")
    b.add_argument("--quick", action="store_true", help="a subset, well under a minute")
    b.add_argument("--plot", metavar="FILE.png", help="draw the table as a bar chart "
                   "(needs matplotlib: pip install 'lrn_fast[plot]')")
    b.add_argument("--threads", nargs="+", type=_threads_arg, metavar="N",
                   help="run every case at these thread counts ('all' = every thread)")
    b.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    b.add_argument("--case", action="append", metavar="SPEC",
                   help="a case instead of the standard set, e.g. "
                        "'shape=2x16x9x9 direction=backward layout=NHWC dtype=float64 "
                        "size=4 beta=0.6 region=within threads=1' or 'net=alexnet2 batch=1' "
                        "(repeatable)")
    args = parser.parse_args(argv)
    if args.command == "info":
        show_runtime()
        return 0
    if args.command == "bench":
        return _bench_cmd(args)
    return _check_and_time()


if __name__ == "__main__":
    sys.exit(main())
