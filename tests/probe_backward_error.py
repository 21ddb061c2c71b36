"""How far the float32 backward can be from the float64 reference on hard data: random
across-channel cases (C 6-39, sizes 3, 4, 5, 7, k 0 to 2, alpha 1e-4 to 1e3, beta 0.75, 0.5,
1 and 0.6), a third of them with every channel scaled by 10**U(-15, 15). Prints, per beta, the
worst and the 99th percentile of |dx - reference| / max|reference| and how many cases exceed
1e-6 of max|dx| (README, Numerics, says why some do). Not a test: pytest does not collect it.

    python tests/probe_backward_error.py [CASES]      (default 4000, about a second)
"""
import sys

import numpy as np

import lrn_fast
from lrn_fast.reference import lrn_backward as reference_backward


def main(cases):
    rng = np.random.default_rng(7)
    errs = {}
    for it in range(cases):
        beta = (0.75, 0.5, 1.0, 0.6)[it % 4]
        size = (5, 3, 4, 7)[(it // 4) % 4]
        k = (0.0, 1e-3, 1.0, 2.0)[(it // 16) % 4]
        alpha = 10.0 ** rng.uniform(-4, 3)
        x = rng.standard_normal((2, int(rng.integers(6, 40)), int(rng.integers(1, 70))))
        if it % 3 == 1:
            x *= 10.0 ** rng.uniform(-6, 6, x.shape)
        elif it % 3 == 2:
            x *= 10.0 ** rng.uniform(-15, 15, (1, x.shape[1], 1))
        g = rng.standard_normal(x.shape)
        x32, g32 = x.astype(np.float32), g.astype(np.float32)
        kw = dict(size=size, alpha=alpha, beta=beta, k=k)
        want = reference_backward(g32.astype(np.float64), x32.astype(np.float64), **kw)
        finite = np.isfinite(want)
        if not finite.any() or not np.abs(want[finite]).max():
            continue
        got = lrn_fast.lrn_backward(g32, x32, **kw)
        err = np.abs(got[finite] - want[finite]).max() / np.abs(want[finite]).max()
        errs.setdefault(beta, []).append(err)
    print(f"lrn_fast {lrn_fast.__version__}, {lrn_fast.runtime_info()['dispatch']}, {cases} cases")
    for beta, e in sorted(errs.items()):
        e = np.array(e)
        fin = e[np.isfinite(e)]
        print(f"beta {beta}: worst {fin.max():.3g}, 99th percentile {np.percentile(e, 99):.3g}, "
              f"over 1e-6: {int(np.sum(e > 1e-6))} of {e.size} ({int(np.sum(~np.isfinite(e)))} infinite)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
