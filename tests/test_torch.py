"""lrn_fast.torch against torch.nn.LocalResponseNorm (PyTorch's own composite formula) and
lrn_fast.reference; skipped when torch is not installed."""
import copy
import os
import subprocess
import sys

import numpy as np
import pytest

import lrn_fast
from lrn_fast import reference as ref

torch = pytest.importorskip("torch")
from lrn_fast.torch import LocalResponseNorm, local_response_norm  # noqa: E402

F = torch.nn.functional
TOL = dict(rtol=1e-5, atol=1e-5)     # float32


def close(a, b, **tol):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **(tol or TOL))


def test_import_lrn_fast_does_not_import_torch():
    code = ("import sys, lrn_fast, lrn_fast.compat, lrn_fast.reference; "
            "import numpy as np; lrn_fast.lrn(np.ones((1, 3, 2)));"
            "assert 'torch' not in sys.modules, 'torch imported'")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    # run where the lrn_fast under test lives: python -c puts the working directory
    # first on sys.path, and a source checkout has no compiled extension
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(lrn_fast.__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=pkg_root)


CASES = [((2, 7, 9), 5), ((3, 6, 5, 4), 4), ((2, 5, 4, 3, 3), 3), ((2, 9, 6, 5), 2),
         ((1, 3, 8, 8), 6), ((2, 16, 3, 3), 1), ((2, 4, 5), 8)]


@pytest.mark.parametrize("shape,size", CASES)
def test_matches_torch_module(shape, size):
    g = torch.Generator().manual_seed(len(shape) * 10 + size)
    x = torch.randn(shape, generator=g) * 2
    for alpha, beta, k in [(1e-4, 0.75, 1.0), (0.7, 0.5, 2.0), (2.0, 1.3, 0.5)]:
        ours = LocalResponseNorm(size, alpha, beta, k)
        theirs = torch.nn.LocalResponseNorm(size, alpha, beta, k)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours(xa), theirs(xb)
        close(ya, yb)
        gy = torch.randn(shape, generator=g)
        ya.backward(gy)
        yb.backward(gy)
        close(xa.grad, xb.grad)
        # and the float64 reference (PyTorch's float32 composite is no oracle by itself)
        np.testing.assert_allclose(ya.detach().numpy(), ref.lrn(x.numpy(), size, alpha, beta, k),
                                   **TOL)
        np.testing.assert_allclose(xa.grad.numpy(),
                                   ref.lrn_backward(gy.numpy(), x.numpy(), size, alpha, beta, k),
                                   **TOL)


@pytest.mark.parametrize("size", [3, 4])
def test_channels_last(size):
    x = torch.randn(2, 8, 5, 6).to(memory_format=torch.channels_last).requires_grad_()
    y = local_response_norm(x, size, 0.5, 0.75, 1.5)
    assert y.is_contiguous(memory_format=torch.channels_last)
    close(y, F.local_response_norm(x, size, 0.5, 0.75, 1.5))
    gy = torch.randn_like(y)
    (dx,) = torch.autograd.grad(y, x, gy)
    np.testing.assert_allclose(dx.numpy(), ref.lrn_backward(gy.numpy(), x.detach().numpy(),
                                                            size, 0.5, 0.75, 1.5), **TOL)
    x3 = torch.randn(2, 6, 4, 5, 3).to(memory_format=torch.channels_last_3d)
    y3 = local_response_norm(x3, size, 0.5, 0.75, 1.5)
    assert y3.is_contiguous(memory_format=torch.channels_last_3d)
    close(y3, F.local_response_norm(x3, size, 0.5, 0.75, 1.5))


def test_strided_views_and_expanded_gradients():
    base = torch.randn(3, 10, 6, 8)
    x = base[:, 1:8, ::2, 1:7].requires_grad_()        # not contiguous
    y = local_response_norm(x, 5, 0.2, 0.75, 1.0)
    close(y, F.local_response_norm(x, 5, 0.2, 0.75, 1.0))
    y.sum().backward()                                  # grad_y: an expanded (stride 0) tensor
    np.testing.assert_allclose(x.grad.numpy(), ref.lrn_backward(
        np.ones(x.shape), x.detach().numpy(), 5, 0.2, 0.75, 1.0), **TOL)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_gradcheck_float64(size):
    x = torch.randn(2, 5, 2, 3, dtype=torch.float64, requires_grad=True)

    def f(t):
        return local_response_norm(t, size, 0.4, 0.75, 1.2)

    assert torch.autograd.gradcheck(f, (x,))
    if size == 4:
        assert torch.autograd.gradgradcheck(f, (x,))   # second order: PyTorch's formula


class Spy(torch.utils._python_dispatch.TorchDispatchMode):
    """Records the operators that run."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))

    def used_ours(self):
        return any("lrn_fast" in op for op in self.ops)


def test_uses_the_custom_operator_or_falls_back():
    x = torch.randn(2, 5, 3, 3)
    with Spy() as spy:
        local_response_norm(x, 3)
    assert spy.used_ours(), spy.ops
    with Spy() as spy:                                  # a non-finite parameter: PyTorch's
        y = local_response_norm(x, 3, alpha=float("inf"))
    assert not spy.used_ours() and torch.equal(y, F.local_response_norm(x, 3, float("inf")))
    with pytest.raises(ValueError, match="3D or higher"):
        local_response_norm(x[0, 0], 3)                 # PyTorch's own message
    m = torch.empty(2, 5, 3, 3, device="meta")          # another device: PyTorch's code
    assert local_response_norm(m, 3).device.type == "meta"


@pytest.mark.parametrize("dtype,rtol", [(torch.float16, 1e-3), (torch.bfloat16, 8e-3)])
def test_half_precision_computed_in_float32(dtype, rtol):
    # PyTorch's CPU LRN raises for 4-D half/bfloat16 ("avg_pool3d_out_frame" not implemented)
    x = (torch.randn(2, 6, 4, 5) * 3).to(dtype).requires_grad_()
    with Spy() as spy:
        y = local_response_norm(x, 4, 0.5, 0.75, 1.0)
    assert spy.used_ours() and y.dtype == dtype
    x64 = x.detach().double().numpy()
    np.testing.assert_allclose(y.detach().double().numpy(),
                               ref.lrn(x64, 4, 0.5, 0.75, 1.0), rtol=rtol, atol=rtol)
    y.sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.double().numpy(),
                               ref.lrn_backward(np.ones(x.shape), x64, 4, 0.5, 0.75, 1.0),
                               rtol=rtol, atol=rtol)


def test_module_is_a_drop_in():
    ours, theirs = LocalResponseNorm(5, k=2.0), torch.nn.LocalResponseNorm(5, k=2.0)
    assert isinstance(ours, torch.nn.LocalResponseNorm)
    assert repr(ours) == repr(theirs) and ours.state_dict() == theirs.state_dict()
    assert (ours.size, ours.alpha, ours.beta, ours.k) == (5, 1e-4, 0.75, 2.0)


def test_compile():
    torch._dynamo.reset()
    graphs = []

    def capture(gm, example_inputs):      # records what dynamo traced, runs it eagerly
        graphs.append(gm)
        return gm.forward

    x = torch.randn(2, 8, 5, 5, requires_grad=True)
    f = torch.compile(local_response_norm, backend=capture, fullgraph=True)
    f(x, 5, 1e-2, 0.75, 2.0)
    assert any("lrn_fast.lrn" in str(n.target) for gm in graphs for n in gm.graph.nodes)

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), LocalResponseNorm(4, 0.1, 0.75, 2.0))
    reference = copy.deepcopy(model)
    reference[1] = torch.nn.LocalResponseNorm(4, 0.1, 0.75, 2.0)
    compiled = torch.compile(model)                    # the default backend (inductor)
    inp = torch.randn(2, 3, 9, 9)
    out, expected = compiled(inp), reference(inp)
    close(out, expected)
    out.square().sum().backward()
    expected.square().sum().backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        close(p.grad, q.grad, rtol=1e-5, atol=1e-5)


def test_export():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU(),
                                LocalResponseNorm(3, 0.2, 0.75, 1.0))
    x = torch.randn(2, 3, 8, 8)
    ep = torch.export.export(model, (x,))
    assert any("lrn_fast.lrn" in str(n.target) for n in ep.graph.nodes)
    x2 = torch.randn(2, 3, 8, 8)
    expected = F.local_response_norm(model[1](model[0](x2)), 3, 0.2, 0.75, 1.0)
    close(ep.module()(x2), expected)


class AlexNetish(torch.nn.Module):
    def __init__(self, lrn):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 5, padding=2)
        self.norm1 = lrn(5, alpha=1e-4, beta=0.75, k=2.0)
        self.conv2 = torch.nn.Conv2d(16, 24, 3, padding=1)
        self.norm2 = lrn(4, alpha=1e-3, beta=0.75, k=1.0)     # an even size too
        self.fc = torch.nn.Linear(24 * 8 * 8, 10)

    def forward(self, x):
        x = F.max_pool2d(self.norm1(F.relu(self.conv1(x))), 2)
        x = F.max_pool2d(self.norm2(F.relu(self.conv2(x))), 2)
        return self.fc(x.flatten(1))


def test_training_matches_torch():
    torch.manual_seed(0)
    ours = AlexNetish(LocalResponseNorm)
    theirs = AlexNetish(torch.nn.LocalResponseNorm)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(8, 3, 32, 32)
    target = torch.randint(0, 10, (8,))
    losses = []
    for model in (ours, theirs):
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        trajectory = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), target)
            loss.backward()
            opt.step()
            trajectory.append(loss.item())
        losses.append(trajectory)
    assert losses[0][-1] < losses[0][0]                   # it trains
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)
