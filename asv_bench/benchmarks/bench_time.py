"""Wall-clock time of lrn and lrn_backward (with out=, so no allocation is timed).

The full cross product of every parameter would take hours, so it is cut in
three grids: every shape, layout and dtype for the default window (size 5,
beta 0.75) across channels; the same for within-channel on the big shapes; and
every size and beta on AlexNet's first LRN layer.
"""
from .common import (BIG, SHAPES, THREADS, Threads, array, lrn_function,
                     touched_empty)


class _Time(Threads):
    def _prepare(self, direction, region, layout, dtype, shape, size, beta, threads):
        self.f = lrn_function(direction, region, layout, size, beta)
        self.use_threads(threads)
        self.x = array(SHAPES[shape], layout, dtype)
        self.g = array(SHAPES[shape], layout, dtype, seed=1) if direction == "backward" else None
        self.out = touched_empty(self.x)
        self.f(self.x, self.g, self.out)          # warm: pages, thread team

    def _call(self):
        self.f(self.x, self.g, self.out)


class TimeAcross(_Time):
    """Across channels, size 5, beta 0.75: every shape, layout, dtype and thread count."""
    params = [["forward", "backward"], ["NCHW", "NHWC"], ["float32", "float64"],
              list(SHAPES), THREADS]
    param_names = ["direction", "layout", "dtype", "shape", "threads"]

    def setup(self, direction, layout, dtype, shape, threads):
        self._prepare(direction, "across", layout, dtype, shape, 5, 0.75, threads)

    def time_lrn(self, *params):
        self._call()


class TimeWithin(_Time):
    """Within channel (5x5 windows), size 5, beta 0.75, batch 32 and AlexNet's N=1."""
    params = [["forward", "backward"], ["NCHW", "NHWC"], ["float32", "float64"],
              BIG + ["alexnet1 N=1"], THREADS]
    param_names = ["direction", "layout", "dtype", "shape", "threads"]

    def setup(self, direction, layout, dtype, shape, threads):
        self._prepare(direction, "within", layout, dtype, shape, 5, 0.75, threads)

    def time_lrn(self, *params):
        self._call()


class TimeSizeBeta(_Time):
    """Window sizes 3, 5, 11 and beta 0.75 (fast path) or 0.6 (generic power), on
    (32, 96, 55, 55) float32 with all threads."""
    params = [["forward", "backward"], ["across", "within"], ["NCHW", "NHWC"],
              [3, 5, 11], [0.75, 0.6]]
    param_names = ["direction", "region", "layout", "size", "beta"]

    def setup(self, direction, region, layout, size, beta):
        self._prepare(direction, region, layout, "float32", "alexnet1 N=32", size, beta, "all")

    def time_lrn(self, *params):
        self._call()
