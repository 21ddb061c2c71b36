"""lrn_fast for PyTorch: a drop-in torch.nn.LocalResponseNorm.

>>> import torch
>>> from lrn_fast.torch import LocalResponseNorm, local_response_norm
>>> m = LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)    # as torch.nn.LocalResponseNorm
>>> y = m(torch.randn(8, 96, 27, 27, requires_grad=True))

The work is done by two custom operators, ``torch.ops.lrn_fast.lrn`` and
``torch.ops.lrn_fast.lrn_backward`` (torch.library), with fake implementations and an
autograd formula, so they run in eager mode, under torch.compile and in torch.export
graphs.  Tensors are handed to lrn_fast as NumPy views (no copies; channels_last too) and
the result is written straight into a tensor that keeps the input's memory format.

float16 and bfloat16 CPU tensors are computed in float32 and rounded once (PyTorch's
own CPU LRN raises for them on 4-D and 5-D input).  What the operators do not cover falls
back to torch.nn.functional.local_response_norm: tensors on other devices, other dtypes,
fewer than 3 dimensions, non-finite parameters, and second derivatives (the backward is
then differentiated through PyTorch's formula).  The operators use
torch.get_num_threads() threads.

Importing this module imports torch; ``import lrn_fast`` alone never does.
"""
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._api import lrn as _lrn
from ._api import lrn_backward as _lrn_backward

__all__ = ["LocalResponseNorm", "local_response_norm"]

_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _np(t):
    """The NumPy view of a CPU tensor (shares memory)."""
    return t.detach().numpy()


@torch.library.custom_op("lrn_fast::lrn", mutates_args=(), device_types="cpu")
def _lrn_op(x: Tensor, size: int, alpha: float, beta: float, k: float) -> Tensor:
    y = torch.empty_like(x)            # keeps x's memory format (channels_last...)
    _lrn(_np(x), size, alpha, beta, k, out=_np(y), num_threads=torch.get_num_threads())
    return y


@_lrn_op.register_fake
def _(x, size, alpha, beta, k):
    return torch.empty_like(x)


@torch.library.custom_op("lrn_fast::lrn_backward", mutates_args=(), device_types="cpu")
def _lrn_backward_op(grad: Tensor, x: Tensor, size: int, alpha: float, beta: float,
                     k: float) -> Tensor:
    dx = torch.empty_like(x)
    _lrn_backward(_np(grad), _np(x), size, alpha, beta, k, out=_np(dx),
                  num_threads=torch.get_num_threads())
    return dx


@_lrn_backward_op.register_fake
def _(grad, x, size, alpha, beta, k):
    return torch.empty_like(x)


def _setup_context(ctx, inputs, output):
    x, size, alpha, beta, k = inputs
    ctx.save_for_backward(x)
    ctx.params = (size, alpha, beta, k)


def _backward(ctx, grad):
    (x,) = ctx.saved_tensors
    if torch.is_grad_enabled() and (grad.requires_grad or x.requires_grad):
        # create_graph=True (a second derivative is coming): PyTorch's own formula is
        # differentiable, the lrn_fast::lrn_backward operator is not
        y = F.local_response_norm(x, *ctx.params)
        dx = torch.autograd.grad(y, x, grad, create_graph=True)[0]
    else:
        dx = torch.ops.lrn_fast.lrn_backward(grad, x, *ctx.params)
    return dx, None, None, None, None


_lrn_op.register_autograd(_backward, setup_context=_setup_context)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """torch.nn.functional.local_response_norm, computed by lrn_fast on the CPU.

    Same arguments and results: channels on dim 1, the window
    [c - size//2, c + (size-1)//2] zero padded, y = x * (k + alpha/size * sum x^2)^-beta.
    """
    if (input.device.type == "cpu" and input.layout == torch.strided and input.dim() >= 3
            and input.dtype in _DTYPES and isinstance(size, int) and size >= 1
            and all(math.isfinite(v) for v in (alpha, beta, k))):
        params = (size, float(alpha), float(beta), float(k))
        if input.dtype in (torch.float16, torch.bfloat16):
            return torch.ops.lrn_fast.lrn(input.float(), *params).to(input.dtype)
        return torch.ops.lrn_fast.lrn(input, *params)
    return F.local_response_norm(input, size, alpha, beta, k)


class LocalResponseNorm(nn.LocalResponseNorm):
    """torch.nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1.0), computed by lrn_fast.

    A subclass of torch's module with the same constructor, attributes, repr and state
    (none), so it can replace it in an existing model:

    >>> model.norm1 = LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    """

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)
