"""How far the float32 backward can be from the float64 reference on hard data: random
across-channel cases (C 6-39, sizes 3, 4, 5, 7, k 0 to 2, alpha 1e-4 to 1e3, beta 0.75, 0.5,
1 and 0.6), a third of them with every channel scaled by 10**U(-15, 15). Prints, per beta,
the worst and the 99th percentile of |dx - reference| / max|reference| and how many cases
exceed 1e-6 of max|dx| (README, Numerics, says why some do), for lrn_fast and for two NumPy
float32 emulations:

  textbook  dx = g t - 2 beta x sum_j r_j, r = (g t)(x a / s), as the kernels computed it
            before stop 15 (and Caffe and PyTorch in float32): 14 cases over 1e-6, the
            worst 1.7e-3;
  exact     the channel's own term taken out of both sums and formed without cancelling:
            dx = g t (k + a Q + (1 - 2 beta) a x^2) / s - 2 beta x sum_{j != c} r_j, with Q
            the window's sum of squares without the channel's own, as the across kernels
            now compute it (in float32 only the 5 k = 0 overflows are over 1e-6).

Not a test: pytest does not collect it; tests/test_accuracy.py uses its cases and
emulation.

    python tests/probe_backward_error.py [CASES]      (default 4000, a few seconds)
"""
import sys

import numpy as np

import lrn_fast
from lrn_fast.reference import _window_sum, default_window
from lrn_fast.reference import lrn_backward as reference_backward

f32 = np.float32


def emulate(g, x, size, alpha, beta, k, window=None):
    """The float32 backward of (N, C, M) arrays by the textbook formula and with the
    exact own term.  The reference's direct window sums, on float32 arrays (without
    the channel's own term: centre=False, added in channel order like the kernels)."""
    before, after = window or default_window(size)
    a, k, c = f32(alpha / size), f32(k), f32(2 * beta)
    with np.errstate(all="ignore"):
        sq = x * x
        s = k + a * _window_sum(sq, [1], before, after)
        gt = g * (s.astype(np.float64) ** -beta).astype(f32)
        r = gt * (x * (a / s))
        textbook = gt - c * x * _window_sum(r, [1], after, before)
        others = _window_sum(sq, [1], before, after, centre=False)
        own = (k + a * others + f32(1 - 2 * beta) * (a * sq)) / s
        rest = _window_sum(r, [1], after, before, centre=False)
        return textbook, gt * own - c * x * rest


def hard_cases(cases, seed=7, ks=(0.0, 1e-3, 1.0, 2.0)):
    """(grad_y, x, keywords) of the probe's random cases: float32 (2, C, M) arrays."""
    rng = np.random.default_rng(seed)
    for it in range(cases):
        beta = (0.75, 0.5, 1.0, 0.6)[it % 4]
        size = (5, 3, 4, 7)[(it // 4) % 4]
        k = ks[(it // 16) % len(ks)]
        alpha = 10.0 ** rng.uniform(-4, 3)
        x = rng.standard_normal((2, int(rng.integers(6, 40)), int(rng.integers(1, 70))))
        if it % 3 == 1:
            x *= 10.0 ** rng.uniform(-6, 6, x.shape)
        elif it % 3 == 2:
            x *= 10.0 ** rng.uniform(-15, 15, (1, x.shape[1], 1))
        g = rng.standard_normal(x.shape)
        yield g.astype(f32), x.astype(f32), dict(size=size, alpha=alpha, beta=beta, k=k)


def main(cases):
    errs = {}
    for g32, x32, kw in hard_cases(cases):
        size, alpha, beta, k = kw["size"], kw["alpha"], kw["beta"], kw["k"]
        want = reference_backward(g32.astype(np.float64), x32.astype(np.float64), **kw)
        finite = np.isfinite(want)
        if not finite.any() or not np.abs(want[finite]).max():
            continue
        top = np.abs(want[finite]).max()
        textbook, exact = emulate(g32, x32, size, alpha, beta, k)
        got = {"lrn_fast": lrn_fast.lrn_backward(g32, x32, **kw), "textbook": textbook,
               "exact": exact}
        for name, d in got.items():
            err = np.abs(d[finite] - want[finite]).max() / top
            errs.setdefault((name, beta), []).append(err)
    print(f"lrn_fast {lrn_fast.__version__}, {lrn_fast.runtime_info()['dispatch']}, {cases} cases")
    for (name, beta), e in sorted(errs.items()):
        e = np.array(e)
        fin = e[np.isfinite(e)]
        print(f"{name:9s} beta {beta}: worst {fin.max():.3g}, 99th percentile "
              f"{np.percentile(e, 99):.3g}, over 1e-6: {int(np.sum(e > 1e-6))} of {e.size} "
              f"({int(np.sum(~np.isfinite(e)))} infinite)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
