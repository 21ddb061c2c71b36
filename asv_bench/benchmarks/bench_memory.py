"""Memory: lrn and lrn_backward need no full-size temporaries.

peakmem_* is asv's peak resident size of the whole process.  setup allocates
the same arrays (x, grad_y and out, each 37 MB) for every variant, so
peakmem_lrn(forward or backward) minus peakmem_lrn(none) is what the call
itself allocated.  track_extra_memory measures that difference directly, as
a multiple of the input's size (Linux: the peak is reset through
/proc/self/clear_refs just before the call).
"""
import numpy as np

from .common import SHAPES, Threads, array, lrn_function, touched_empty

SHAPE = SHAPES["alexnet1 N=32"]


def _rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise NotImplementedError(f"no {field} in /proc/self/status")


class _Mem(Threads):
    def _prepare(self, direction, region, layout):
        self.f = None
        if direction != "none":
            self.f = lrn_function(direction, region, layout, 5, 0.75)
        self.use_threads("all")
        self.x = array(SHAPE, layout)
        self.g = array(SHAPE, layout, seed=1)
        self.out = touched_empty(self.x)

    def _call(self):
        if self.f is not None:
            self.f(self.x, self.g, self.out)


class PeakMem(_Mem):
    params = [["none", "forward", "backward"], ["across", "within"], ["NCHW", "NHWC"]]
    param_names = ["direction", "region", "layout"]

    def setup(self, direction, region, layout):
        self._prepare(direction, region, layout)

    def peakmem_lrn(self, *params):
        self._call()


class ExtraMemory(_Mem):
    params = [["forward", "backward"], ["across", "within"], ["NCHW", "NHWC"]]
    param_names = ["direction", "region", "layout"]
    unit = "x input size"

    def setup(self, direction, region, layout):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            raise NotImplementedError("needs Linux /proc/self/clear_refs") from None
        self._prepare(direction, region, layout)
        self._call()     # the thread team and its stacks exist before the measurement

    def track_extra_memory(self, *params):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                       # peak := current
        before = _rss_kb("VmRSS")
        self._call()
        return max(_rss_kb("VmHWM") - before, 0) * 1024 / self.x.nbytes
