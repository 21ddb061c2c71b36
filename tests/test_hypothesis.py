"""Property test: random shapes, axes, sizes, windows, parameters, regions,
dtypes and layouts, forward and backward, against the float64 reference."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import lrn_fast
from conftest import check_backward, check_forward, layouts

BETAS = st.one_of(st.sampled_from([0.75, 0.5, 1.0, 0.0, 2.0, 3.0]),
                  st.floats(0.05, 3.0, allow_nan=False))
POSITIVE = lambda values, lo, hi: st.one_of(st.sampled_from(values),           # noqa: E731
                                            st.floats(lo, hi, allow_nan=False))


@st.composite
def lrn_cases(draw):
    rank = draw(st.integers(2, 5))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    region = draw(st.sampled_from(["across", "within"])) if rank >= 3 else "across"
    if region == "across":
        axis = draw(st.integers(-rank, rank - 1))
    else:
        axis = draw(st.sampled_from([a for a in range(1, rank)] + [-1]))
    # let the channel axis be longer than the others sometimes
    ax = axis % rank
    shape = shape[:ax] + (draw(st.integers(1, 14)),) + shape[ax + 1:]
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    # float16 results must stay inside float16's range: |y| <= |x| * k^-beta
    kmin = 0.5 if dtype == np.float16 else 1e-3
    return dict(
        shape=shape, dtype=dtype, region=region, axis=axis,
        size=draw(st.integers(1, 12)),
        window=draw(st.one_of(st.none(), st.tuples(st.integers(0, 7), st.integers(0, 7)))),
        alpha=draw(POSITIVE([1e-4, 0.1, 1.0, 5.0], 0.0, 20.0)),
        beta=draw(BETAS),
        k=draw(POSITIVE([1.0, 2.0, 0.5], kmin, 3.0)),
        layout=draw(st.integers(0, 7)),
        glayout=draw(st.integers(0, 7)),
        seed=draw(st.integers(0, 2**32 - 1)),
        scale=draw(st.sampled_from([1.0, 0.01, 30.0])),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=lrn_cases(), backward=st.booleans())
def test_against_reference(c, backward):
    rng = np.random.default_rng(c["seed"])
    x = (rng.standard_normal(c["shape"]) * c["scale"]).astype(c["dtype"])
    vx = layouts(x)
    _, xv = vx[c["layout"] % len(vx)]
    kw = {n: c[n] for n in ("size", "alpha", "beta", "k", "axis", "region", "window")}
    if not backward:
        y = check_forward(xv, **kw)
        assert y.dtype == c["dtype"] and y.shape == x.shape
        if c["beta"] == 0:
            np.testing.assert_array_equal(y, x)
        return
    g = rng.standard_normal(c["shape"]).astype(c["dtype"])
    vg = layouts(g)
    _, gv = vg[c["glayout"] % len(vg)]
    dx = check_backward(gv, xv, **kw)
    assert dx.dtype == c["dtype"] and dx.shape == x.shape
    # threads never change the bits
    assert np.array_equal(dx, lrn_fast.lrn_backward(gv, xv, num_threads=1, **kw))


@st.composite
def within_2d_cases(draw):
    """Within over two spatial axes with lines or channels long enough for the
    streamed kernels (16 or more) about half of the time, and windows either side of
    their 16-tap limit."""
    axis = draw(st.sampled_from([1, -1]))
    shape = [draw(st.integers(1, 2)), draw(st.integers(1, 40)), draw(st.integers(1, 12)),
             draw(st.integers(1, 40))]
    if axis == -1:
        shape = [shape[0], shape[2], shape[3], shape[1]]
    return dict(
        shape=tuple(shape), axis=axis,
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        size=draw(st.integers(1, 9)),
        window=draw(st.one_of(st.none(), st.tuples(st.integers(0, 9), st.integers(0, 9)))),
        alpha=draw(POSITIVE([1e-4, 0.1, 1.0], 0.0, 10.0)),
        beta=draw(BETAS), k=draw(POSITIVE([1.0, 2.0, 0.5], 1e-3, 3.0)),
        layout=draw(st.integers(0, 7)), glayout=draw(st.integers(0, 7)),
        seed=draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=within_2d_cases(), backward=st.booleans())
def test_within_2d_against_reference(c, backward):
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal(c["shape"]).astype(c["dtype"])
    _, xv = (v := layouts(x))[c["layout"] % len(v)]
    kw = {n: c[n] for n in ("size", "alpha", "beta", "k", "axis", "window")}
    kw["region"] = "within"
    if not backward:
        y = check_forward(xv, **kw)
        assert np.array_equal(y, lrn_fast.lrn(xv, num_threads=1, **kw))
        return
    g = rng.standard_normal(c["shape"]).astype(c["dtype"])
    _, gv = (v := layouts(g))[c["glayout"] % len(v)]
    dx = check_backward(gv, xv, **kw)
    assert np.array_equal(dx, lrn_fast.lrn_backward(gv, xv, num_threads=1, **kw))
