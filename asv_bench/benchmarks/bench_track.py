"""Numbers that should not depend on the machine's speed:

track_ratio_to_copy: time of a standard case / time of np.copyto of the same
    input, measured alternately in the same process (median of 21 pairs).
track_max_error: max |lrn_fast - reference| / max |reference| against the
    float64 direct-sum reference (lrn_fast.reference), on N=2 data scaled so
    the normalisation matters.
"""
import numpy as np

from .common import SHAPES, Threads, THREADS, array, lrn_function, ratio_to_copy, touched_empty

# name: (shape, direction, region, layout, dtype, size, beta)
STANDARD = {
    "fwd alexnet1 N=32": ("alexnet1 N=32", "forward", "across", "NCHW", "float32", 5, 0.75),
    "fwd alexnet2 N=32": ("alexnet2 N=32", "forward", "across", "NCHW", "float32", 5, 0.75),
    "fwd alexnet1 N=1": ("alexnet1 N=1", "forward", "across", "NCHW", "float32", 5, 0.75),
    "fwd googlenet2 N=32": ("googlenet2 N=32", "forward", "across", "NCHW", "float32", 5, 0.75),
    "fwd alexnet1 N=32 NHWC": ("alexnet1 N=32", "forward", "across", "NHWC", "float32", 5, 0.75),
    "fwd alexnet1 N=32 beta=0.6": ("alexnet1 N=32", "forward", "across", "NCHW", "float32", 5, 0.6),
    "fwd alexnet1 N=32 float64": ("alexnet1 N=32", "forward", "across", "NCHW", "float64", 5, 0.75),
    "bwd alexnet1 N=32": ("alexnet1 N=32", "backward", "across", "NCHW", "float32", 5, 0.75),
    "bwd alexnet1 N=32 NHWC": ("alexnet1 N=32", "backward", "across", "NHWC", "float32", 5, 0.75),
    "fwd within alexnet1 N=32": ("alexnet1 N=32", "forward", "within", "NCHW", "float32", 5, 0.75),
    "bwd within alexnet1 N=32": ("alexnet1 N=32", "backward", "within", "NCHW", "float32", 5, 0.75),
}


class RatioToCopy(Threads):
    params = [list(STANDARD), THREADS]
    param_names = ["case", "threads"]
    unit = "x memory copy"

    def setup(self, case, threads):
        shape, direction, region, layout, dtype, size, beta = STANDARD[case]
        f = lrn_function(direction, region, layout, size, beta)
        self.use_threads(threads)
        x = array(SHAPES[shape], layout, dtype)
        g = array(SHAPES[shape], layout, dtype, seed=1) if direction == "backward" else None
        out = touched_empty(x)
        self.fn = lambda: f(x, g, out)
        self.x = x

    def track_ratio_to_copy(self, *params):
        return ratio_to_copy(self.fn, self.x)


class MaxError:
    params = [["forward", "backward"], ["across", "within"], ["NCHW", "NHWC"],
              ["float32", "float64"], ["size=5 beta=0.75", "size=4 beta=0.75", "size=11 beta=0.6"]]
    param_names = ["direction", "region", "layout", "dtype", "window"]
    unit = "max|err| / max|ref|"

    def setup(self, direction, region, layout, dtype, window):
        try:
            from lrn_fast import reference
        except ImportError:
            raise NotImplementedError("this lrn_fast has no reference module") from None
        size, beta = (v.split("=")[1] for v in window.split())
        size, beta = int(size), float(beta)
        f = lrn_function(direction, region, layout, size, beta)
        shape = (2,) + SHAPES["alexnet1 N=1"][1:]
        x = array(shape, layout, "float64", seed=2) * 100
        g = array(shape, layout, "float64", seed=3)
        x, g = x.astype(dtype), g.astype(dtype)
        kw = dict(axis=-1 if layout == "NHWC" else 1, region=region)
        if direction == "forward":
            want = reference.lrn(x, size, 1e-4, beta, 1.0, **kw)
        else:
            want = reference.lrn_backward(g, x, size, 1e-4, beta, 1.0, **kw)
        self.got = lambda: f(x, g)
        self.want = want

    def track_max_error(self, *params):
        err = np.abs(self.got().astype(np.float64) - self.want)
        return float(np.max(err) / np.max(np.abs(self.want)))
