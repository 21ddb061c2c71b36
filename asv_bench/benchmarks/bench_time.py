"""Wall-clock time of lrn and lrn_backward (with out=, so no allocation is timed).

The full cross product of every parameter would take hours, so it is cut in
grids: every shape, layout and dtype for the default window (size 5,
beta 0.75) across channels; the same for within-channel on the big shapes;
every size and beta on AlexNet's first LRN layer; strided views of it; and NHWC
with few channels.
"""
import numpy as np

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


# (N, C, H, W) of the arrays the views are cut from: rows of 110 for W steps and
# reversed halves, 192 channels for the NHWC channel step (views of AlexNet's first
# LRN layer's size, 32x96x55x55)
VIEW_BASE = {"W step 2": ((32, 96, 55, 110), "NCHW"),
             "NHWC channel step 2": ((32, 192, 55, 55), "NHWC"),
             "reversed W": ((32, 96, 55, 110), "NCHW")}


def view_of(name, a):
    if name == "reversed W":
        return a[..., : a.shape[-1] // 2][..., ::-1]
    return a[..., ::2]


class TimeViews(_Time):
    """Views that share no unit stride with a dense output (x[..., ::2] along the
    pixels or NHWC channels, reversed rows), size 5, beta 0.75, float32, 1 thread:
    the path that copies them block by block into dense buffers."""
    params = [["forward", "backward"], ["across", "within"], list(VIEW_BASE)]
    param_names = ["direction", "region", "view"]

    def setup(self, direction, region, view):
        shape, layout = VIEW_BASE[view]
        self.f = lrn_function(direction, region, layout, 5, 0.75)
        self.use_threads(1)
        self.x = view_of(view, array(shape, layout))
        self.g = view_of(view, array(shape, layout, seed=1)) if direction == "backward" else None
        self.out = touched_empty(np.empty(self.x.shape, self.x.dtype))
        self.f(self.x, self.g, self.out)

    def time_lrn(self, *params):
        self._call()


# (N, C, H, W) of NHWC arrays with few channels, each about 9.3M values as AlexNet's
# first LRN layer (32x96x55x55)
FEW_CHANNELS = {3: (32, 3, 311, 311), 8: (32, 8, 190, 190), 16: (32, 16, 134, 134)}


class TimeFewChannels(_Time):
    """NHWC across channels with 3, 8 or 16 channels, size 5, beta 0.75, float32,
    1 thread: up to 32 bytes of channels per pixel run on packed rows, more on the
    contiguous channels."""
    params = [["forward", "backward"], list(FEW_CHANNELS)]
    param_names = ["direction", "channels"]

    def setup(self, direction, channels):
        shape = FEW_CHANNELS[channels]
        self.f = lrn_function(direction, "across", "NHWC", 5, 0.75)
        self.use_threads(1)
        self.x = array(shape, "NHWC")
        self.g = array(shape, "NHWC", seed=1) if direction == "backward" else None
        self.out = touched_empty(self.x)
        self.f(self.x, self.g, self.out)

    def time_lrn(self, *params):
        self._call()


# memory orders of x, [grad_y,] out, each c (NCHW) or h (NHWC): "hc" an NHWC x into
# an NCHW out; "hch" what lrn_fast.torch gets from a channels_last input and a
# contiguous gradient
MIXED_ORDERS = ["hc", "ch", "hch", "hcc"]


class TimeMixedOrders(_Time):
    """x, grad_y and out in different memory orders (across, AlexNet's first LRN layer,
    32x96x55x55, size 5, beta 0.75, float32, 1 thread): the NHWC arrays go through
    tiles transposed in registers, the NCHW ones are used where they lie."""
    params = [MIXED_ORDERS]
    param_names = ["orders"]

    def setup(self, orders):
        shape, backward = SHAPES["alexnet1 N=32"], len(orders) == 3

        def in_order(o, seed):
            if o == "c":
                return array(shape, "NCHW", seed=seed)
            return array(shape, "NHWC", seed=seed).transpose(0, 3, 1, 2)

        self.f = lrn_function("backward" if backward else "forward", "across", "NCHW", 5, 0.75)
        self.use_threads(1)
        self.x = in_order(orders[0], 0)
        self.g = in_order(orders[1], 1) if backward else None
        self.out = touched_empty(in_order(orders[-1], 0))
        self.f(self.x, self.g, self.out)

    def time_lrn(self, *params):
        self._call()


class TimeSmallCall(_Time):
    """The cost of a call itself: (1, 16, 9, 9) float32, size 5, beta 0.75, 1 thread,
    where the kernel takes about a microsecond.  "out=" and "new result" are the common
    call (C-contiguous; in Cython since 3a892a2), "W step 2" a strided view that the
    Python layer validates and lays out."""
    params = [["forward", "backward"], ["out=", "new result", "W step 2"]]
    param_names = ["direction", "call"]

    def setup(self, direction, call):
        self.f = lrn_function(direction, "across", "NCHW", 5, 0.75)
        self.use_threads(1)
        shape = (1, 16, 9, 18) if call == "W step 2" else (1, 16, 9, 9)
        self.x = array(shape)
        self.g = array(shape, seed=1) if direction == "backward" else None
        if call == "W step 2":
            self.x = self.x[..., ::2]
            self.g = self.g[..., ::2] if self.g is not None else None
        self.out = (None if call == "new result"
                    else touched_empty(np.empty(self.x.shape, self.x.dtype)))
        self.f(self.x, self.g, self.out)

    def time_lrn(self, *params):
        self._call()
