"""PyTorch as a peer: torch.nn.functional.local_response_norm and its autograd
backward on the same data (an NCHW-contiguous tensor, or a channels_last one for
NHWC), on torch's own threads (torch.set_num_threads).  Skipped (NotImplementedError
in setup) when torch is not installed.  PyTorch has no within-channel LRN.

torch is slow on these shapes (up to about a second a call), so the grid is small
and each benchmark runs few times.
"""
from .common import SHAPES, THREADS, all_threads, array

ALPHA, BETA, K, SIZE = 1e-4, 0.75, 1.0, 5


def _torch():
    try:
        import torch
    except ImportError:
        raise NotImplementedError("torch is not installed") from None
    return torch


class _Torch:
    def _prepare(self, direction, layout, shape, threads):
        torch = _torch()
        self._old_threads = torch.get_num_threads()
        torch.set_num_threads(all_threads() if threads == "all" else int(threads))
        F = torch.nn.functional
        x = array(SHAPES[shape], layout)
        t = torch.from_numpy(x)
        if layout == "NHWC":
            t = t.permute(0, 3, 1, 2)
        if direction == "forward":
            self.fn = lambda: F.local_response_norm(t, SIZE, ALPHA, BETA, K)
        else:
            g = torch.from_numpy(array(SHAPES[shape], layout, seed=1))
            if layout == "NHWC":
                g = g.permute(0, 3, 1, 2)
            tt = t.detach().clone(memory_format=torch.preserve_format).requires_grad_(True)
            y = F.local_response_norm(tt, SIZE, ALPHA, BETA, K)
            self.fn = lambda: torch.autograd.grad(y, tt, g, retain_graph=True)
        self.fn()

    def teardown(self, *params):
        if hasattr(self, "_old_threads"):
            _torch().set_num_threads(self._old_threads)


class TimeTorch(_Torch):
    params = [["forward", "backward"], ["NCHW", "NHWC"], ["alexnet1 N=32", "alexnet2 N=32"],
              THREADS]
    param_names = ["direction", "layout", "shape", "threads"]
    number = 1
    repeat = (1, 3, 5.0)
    warmup_time = 0.0

    def setup(self, direction, layout, shape, threads):
        self._prepare(direction, layout, shape, threads)

    def time_torch(self, *params):
        self.fn()


class PeakMemTorch(_Torch):
    params = [["forward", "backward"], ["NCHW", "NHWC"]]
    param_names = ["direction", "layout"]

    def setup(self, direction, layout):
        self._prepare(direction, layout, "alexnet1 N=32", "all")

    def peakmem_torch(self, *params):
        self.fn()
