"""The float32 accuracy contract of the fast kernels (issue 3), on whatever SIMD path this
process runs (.ci/run runs this file once per forced path with LRN_FAST_DISABLE_CPU_FEATURES):

* forward within 1e-6 relative of the float64 reference, element by element;
* backward within 1e-6 of max|dx|;

for every power path (beta 0.75, 0.5, 1 and a generic beta), both regions and both
layouts, on random data and on data with a large dynamic range along the window (values
near 1e4 next to values near 1e-4, small k), where running sums kept in float32 fail.
"""
import numpy as np
import pytest

import lrn_fast
from lrn_fast import reference

BETAS = [0.75, 0.5, 1.0, 0.6, 2.0]
LAYOUTS = {"NCHW": 1, "NHWC": -1}


def _data(kind, shape, axis, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if kind == "dynamic":
        # magnitudes alternating between ~1e4 and ~1e-4 along the channel axis
        c = np.arange(shape[axis])
        mag = np.where((c // 3) % 2 == 0, 1e4, 1e-4)
        x = x * np.moveaxis(mag.reshape((-1,) + (1,) * (len(shape) - 1)), 0, axis % len(shape))
    return x.astype(np.float32)


def _forward_rel_error(got, want):
    want = np.asarray(want)
    nz = np.abs(want) > 1e-30
    return float(np.max(np.abs(got[nz] - want[nz]) / np.abs(want[nz])))


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("region", ["across", "within"])
@pytest.mark.parametrize("kind,k,alpha", [("random", 1.0, 1e-4), ("random", 2.0, 1.0),
                                          ("dynamic", 0.01, 1.0), ("dynamic", 1e-3, 1e-4)])
def test_float32_within_1e6(beta, layout, region, kind, k, alpha):
    axis = LAYOUTS[layout]
    shape = (2, 40, 9, 11) if layout == "NCHW" else (2, 9, 11, 40)
    x = _data(kind, shape, axis, seed=7)
    g = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    kw = dict(size=5, alpha=alpha, beta=beta, k=k, axis=axis, region=region)
    y = lrn_fast.lrn(x, **kw)
    assert y.dtype == np.float32
    err = _forward_rel_error(y, reference.lrn(x, **kw))
    assert err <= 1e-6, f"forward relative error {err:.2e} on {lrn_fast.runtime_info()['dispatch']}"
    dx = lrn_fast.lrn_backward(g, x, **kw)
    want = reference.lrn_backward(g, x, **kw)
    berr = float(np.max(np.abs(dx - want)) / np.max(np.abs(want)))
    assert berr <= 1e-6, f"backward error {berr:.2e} of max|dx| on {lrn_fast.runtime_info()['dispatch']}"


@pytest.mark.parametrize("beta", BETAS)
def test_float32_long_channels_dynamic_range(beta):
    """4096 channels of alternating magnitudes: no drift along a long walk."""
    x = _data("dynamic", (1, 4096, 3, 5), 1, seed=9)
    g = np.random.default_rng(10).standard_normal(x.shape).astype(np.float32)
    kw = dict(size=7, alpha=1.0, beta=beta, k=0.01)
    assert _forward_rel_error(lrn_fast.lrn(x, **kw), reference.lrn(x, **kw)) <= 1e-6
    want = reference.lrn_backward(g, x, **kw)
    assert np.max(np.abs(lrn_fast.lrn_backward(g, x, **kw) - want)) <= 1e-6 * np.max(np.abs(want))
