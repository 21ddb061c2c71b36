"""Prints the known-value table of test_kernels.c (the `known[]` array).

The values come from lrn_fast.reference (float64 NumPy, direct window sums),
independently of the C kernels and of the naive sums in test_kernels.c.
Run from the repository root:  PYTHONPATH=. python src_c/test/gen_known_values.py
Inputs are small multiples of 1/4, exact in float32 and float64.
"""
import numpy as np

from lrn_fast import reference as ref

X = [0.5, -1.0, 1.5, 2.0, -2.5, 3.0, 0.25, -0.75, 1.25, -1.75, 2.25, -0.5]
G = [1.0, -0.5, 0.25, 2.0, -1.5, 0.75, -1.25, 0.5, 1.5, -2.0, 0.125, 1.75]

# name, region, backward, shape (N, C, spatial...), size, alpha, beta, k, window
CASES = [
    ("across fwd n=5 beta=0.75", "across", 0, (1, 6, 2), 5, 2.0, 0.75, 1.0, None),
    ("across fwd n=4 beta=0.6", "across", 0, (2, 6, 1), 4, 1.5, 0.6, 2.0, None),
    ("across fwd window(0,2) beta=0.5", "across", 0, (1, 12, 1), 3, 1.0, 0.5, 1.0, (0, 2)),
    ("across bwd n=3 beta=0.75", "across", 1, (1, 6, 2), 3, 2.0, 0.75, 1.0, None),
    ("across bwd n=4 beta=2", "across", 1, (1, 12, 1), 4, 0.5, 2.0, 1.5, None),
    ("within fwd 3x4 n=3 beta=0.5", "within", 0, (1, 1, 3, 4), 3, 1.0, 0.5, 1.0, None),
    ("within bwd 3x4 n=2 beta=1", "within", 1, (1, 1, 3, 4), 2, 3.0, 1.0, 1.0, None),
    ("within bwd 12 n=4 beta=0.6", "within", 1, (1, 1, 12), 4, 2.0, 0.6, 1.0, None),
]


def main():
    for name, region, bwd, shape, size, alpha, beta, k, window in CASES:
        n = int(np.prod(shape))
        x = np.array(X[:n]).reshape(shape)
        g = np.array(G[:n]).reshape(shape)
        kw = dict(size=size, alpha=alpha, beta=beta, k=k, region=region, window=window)
        y = ref.lrn_backward(g, x, **kw) if bwd else ref.lrn(x, **kw)
        before, after = window if window is not None else ref.default_window(size)
        shp = ", ".join(str(s) for s in shape) + ", 1" * (5 - len(shape))
        vals = ",\n      ".join(", ".join("%.17g" % v for v in y.ravel()[i:i + 4])
                                for i in range(0, n, 4))
        print('    {"%s", %s, %d, %d, {%s}, %d, %d, %d, %r, %r, %r,\n     {%s}},'
              % (name, "LRN_ACROSS" if region == "across" else "LRN_WITHIN", bwd,
                 len(shape), shp, before, after, size, alpha, beta, k, vals))


if __name__ == "__main__":
    main()
