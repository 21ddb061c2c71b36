"""The public functions: argument checks and array plumbing in Python, the
arithmetic in C (lrn_fast._lrn).  Every check happens here, once, with a
message that names the argument and its value.

lrn and lrn_backward first offer the call to _lrn.common, which runs the common
call (C-contiguous ndarrays of one native float dtype, plain int and float
arguments, no window, dtype, order or casting, out of the same kind or None) in
Cython and declines (None) everything else, which then comes here.  It takes
nothing this module would refuse, and it builds the job _layout_jobs would
(tests/test_api.py: test_common_call_*): it is this module's common path
without its Python, 5-14 us a call (more after a large kernel has emptied the
caches than the ~6 us it takes warm)."""
import functools
import math
from collections.abc import Sequence
import numbers
import operator
import os

import numpy as np

try:
    from numpy.exceptions import AxisError as _AxisError
except ImportError:  # numpy < 1.25
    from numpy import AxisError as _AxisError

from . import _lrn

__all__ = ["lrn", "lrn_backward"]

_REGIONS = ("across", "within")
_ORDERS = ("K", "A", "C", "F")
_CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")
_NATIVE_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
# num_threads above this only oversubscribes, and libgomp aborts the process when it
# cannot create a thread: requests are capped.  Read once: os.cpu_count() costs
# about 6 us a call here (it reads /sys), a third of a small call's time.
_MAX_THREADS = max(64, 4 * (os.cpu_count() or 1))
_lrn.set_thread_cap(_MAX_THREADS)
_F32_TINY = float(np.finfo(np.float32).tiny)


# ---- parameter checks -------------------------------------------------------------
def _int_arg(name, value, minimum):
    if type(value) is int and (minimum is None or value >= minimum):
        return value                  # the common case, without the checks below
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r} "
                        f"of type {type(value).__name__}") from None
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _real_arg(name, value):
    if type(value) is float and math.isfinite(value):
        return value                  # the common case, without the checks below
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def _normalize_axis(axis, ndim):
    ax = _int_arg("axis", axis, None)
    if not -ndim <= ax < ndim:
        raise _AxisError(f"axis {ax} is out of bounds for array of dimension {ndim}")
    return ax % ndim


def _window_arg(window, size):
    if window is None:
        return size // 2, (size - 1) // 2
    if (isinstance(window, (str, bytes)) or not isinstance(window, (Sequence, np.ndarray))
            or len(window) != 2):
        raise TypeError(f"window must be a pair (before, after) of integers, got {window!r}")
    return (_int_arg("window[0] (taps before the centre)", window[0], 0),
            _int_arg("window[1] (taps after the centre)", window[1], 0))


def _params(size, alpha, beta, k, region, window, num_threads):
    size = _int_arg("size", size, 1)
    alpha = _real_arg("alpha", alpha)
    beta = _real_arg("beta", beta)
    k = _real_arg("k", k)
    if not isinstance(region, str) or region not in _REGIONS:
        raise ValueError(f"region must be 'across' or 'within', got {region!r}")
    before, after = _window_arg(window, size)
    if num_threads is not None:
        num_threads = min(_int_arg("num_threads", num_threads, 1), _MAX_THREADS)
    return size, alpha, beta, k, before, after, num_threads or 0


# ---- arrays -------------------------------------------------------------------------
def _as_input(name, a):
    """array_like -> ndarray, refusing dtypes that have no LRN."""
    if isinstance(a, np.ndarray):
        arr = np.asarray(a)   # subclasses (masked arrays, matrices) as plain arrays
    else:
        try:
            arr = np.asarray(a)
        except Exception as e:   # ragged lists and the like
            raise TypeError(f"{name} must be array_like of real numbers: {e}") from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"{name} has dtype {arr.dtype}; lrn_fast computes on real "
                        "numbers (float16/32/64, integers or bool)")
    if kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(f"{name} has dtype {arr.dtype}, which lrn_fast does not support; "
                        "pass dtype=np.float64 to compute in double precision")
    return arr


def _result_dtype(dtype, *arrays):
    if dtype is None and all(a.dtype is arrays[0].dtype for a in arrays) \
            and arrays[0].dtype in _NATIVE_FLOATS:
        return arrays[0].dtype        # the common case: one native float dtype
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be a float dtype, got {dtype!r}") from None
        if dt.kind != "f" or dt.itemsize > 8:
            raise TypeError(f"dtype must be float16, float32 or float64, got {dt}")
        return dt
    dt = np.result_type(*[a.dtype for a in arrays])
    if dt.kind != "f":
        dt = np.dtype(np.float64)
    return np.dtype(dt.type)   # native byte order


def _compute_dtype(rt):
    return np.dtype(np.float32) if rt.itemsize <= 4 else np.dtype(np.float64)


def _usable(a, ct):
    """Can the kernel read/write a directly (dtype, byte order, alignment, strides)?"""
    if a.dtype != ct or not a.dtype.isnative or not a.flags.aligned:
        return False
    return a.flags.c_contiguous or all(s % a.itemsize == 0 for s in a.strides)


def _as_compute(a, ct):
    """a itself when the kernel can read it, else a converted copy in a's layout."""
    return a if _usable(a, ct) else a.astype(ct, order="K")


def _check_out(out, shape, rt, casting):
    if isinstance(out, tuple):
        if len(out) != 1:
            raise ValueError(f"out must be an array or a 1-tuple, got a tuple of length {len(out)}")
        out = out[0]
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, but the result has shape {shape}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if out.dtype != rt and not np.can_cast(rt, out.dtype, casting=casting):
        raise TypeError(f"cannot cast the result from {rt} to out's dtype {out.dtype} "
                        f"with casting rule {casting!r}")
    if 0 in out.strides and out.size > 1 and any(st == 0 and n > 1
                                                 for st, n in zip(out.strides, out.shape)):
        raise ValueError("out has a zero stride (a broadcast view); its elements overlap")
    return out


def _same_layout(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides and a.dtype == b.dtype)


# ---- layout: everything as (outer, C, inner) or (batch, C, spatial...) ----------
def _collapse(shape, strides_list, keep):
    """Non-channel dims of the across region, as few as possible.

    All dims but `keep` are independent, so they are reordered by decreasing
    stride of the first array and merged where every array allows it.
    Returns [(length, (stride per array))] from outer to inner."""
    dims = [(shape[d], tuple(s[d] for s in strides_list)) for d in range(len(shape))
            if d != keep and shape[d] != 1]
    dims.sort(key=lambda t: -abs(t[1][0]))
    merged = []
    for n, st in dims:
        if merged:
            pn, pst = merged[-1]
            if all(ps == s * n for ps, s in zip(pst, st)):
                merged[-1] = (pn * n, st)
                continue
        merged.append((n, st))
    return merged


def _jobs(arrays, axis, region, before, after):
    """The kernel calls that compute y from x (arrays [x, y]) or from x and g
    ([x, g, y]): [(shape, strides per array, offsets per array, lo, hi)], in
    elements.  They depend only on the shape and the strides, so they are worked
    out once per layout (_layout_jobs, cached): a small call spends ~4 us on it
    otherwise, about half of its time in Python."""
    job, loops = _layout_jobs(arrays[-1].shape, tuple(a.strides for a in arrays),
                              arrays[-1].itemsize, axis, region, before, after)
    if not loops:
        return [job]
    # dims that could not be merged: one job per index of them (not cached: as
    # many entries as the index has values)
    shape, sts, _, lo, hi = job
    return [(shape, sts, [sum(j * st[i] for j, (_, st) in zip(idx, loops))
                          for i in range(len(arrays))], lo, hi)
            for idx in np.ndindex(*[n for n, _ in loops])]


@functools.lru_cache(maxsize=256)
def _layout_jobs(shape, byte_strides, esz, axis, region, before, after):
    """_jobs for the strides in bytes of each array, all of itemsize esz, as one
    job and the dims it loops over, [(length, strides per array)] (the lists it
    returns are shared between calls: never modified)."""
    strides = [[s // esz for s in st] for st in byte_strides]
    if region == "across":
        C = shape[axis]
        dims = _collapse(shape, strides, axis)
        inner = dims.pop() if dims else (1, tuple(0 for _ in strides))
        outer = dims.pop() if dims else (1, tuple(0 for _ in strides))
        loops = dims   # anything that could not be merged: looped here
        lo, hi = [min(before, C - 1)], [min(after, C - 1)]
        sts = [[outer[1][i], strides[i][axis], inner[1][i]] for i in range(len(strides))]
        return ([outer[0], C, inner[0]], sts, [0] * len(strides), lo, hi), loops
    sp = [d for d in range(1, len(shape)) if d != axis]
    order = [0, axis] + sp
    sts = [[s[d] for d in order] for s in strides]
    lo = [min(before, shape[d] - 1) for d in sp]
    hi = [min(after, shape[d] - 1) for d in sp]
    return ([shape[d] for d in order], sts, [0] * len(strides), lo, hi), []


def _dtype_code(dtype):
    """The kernels' code of a dtype (LRN_FLOAT32 0, LRN_FLOAT64 1)."""
    return 0 if dtype == np.float32 else 1


def _gathers(job, dtype, region, backward):
    """Would the kernels go element by element over this job (lrn_gathers)?"""
    shape, sts, _, lo, hi = job
    return _lrn.gathers(_dtype_code(dtype), 0 if region == "across" else 1,
                        int(backward), shape, sts[0],
                        sts[1] if backward else None, sts[-1], lo, hi)


# Where the arrays share no unit stride the kernels would read and write them
# element by element (2-5x slower than on dense arrays: step slices along the
# pixels, reversed and broadcast views); such a call runs on dense copies of
# blocks of at most this many bytes per array (or one index of the split axis),
# as numpy buffers a ufunc's loop.
_BLOCK_BYTES = 1 << 20
_BLOCK_MIN = 1 << 14     # elements; below, the blocks' setup (~25 us) costs more


def _dense(a):
    """Does a fill its memory without gaps, in some order of its axes (as
    np.empty_like(a, order="K") does)?  Then its blocks would be used as they are."""
    expected = a.itemsize
    for d in sorted((d for d in range(a.ndim) if a.shape[d] != 1),
                    key=lambda d: abs(a.strides[d])):
        if a.strides[d] != expected:
            return False
        expected *= a.shape[d]
    return True


def _axes_in_memory(a):
    """a's axes from the largest |stride| to the smallest, without those of length 1
    or stride 0 (broadcast)."""
    return [d for d in sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
            if a.shape[d] > 1 and a.strides[d]]


def _same_axis_order(a, b):
    oa, ob = _axes_in_memory(a), _axes_in_memory(b)
    common = set(oa) & set(ob)
    return [d for d in oa if d in common] == [d for d in ob if d in common]


def _run_blocked(x, g, y, axis, region, before, after, call):
    """Run the call on dense copies of blocks, when every array has y's order of
    axes in memory (numpy's copies between orders, a transpose, cost more than the
    kernels' gathering: 10 ms for an F- to C-order 32x96x27x27 float32) and y's
    dense layout lets the kernels stream.  Blocks along the axis of largest
    stride in y that the window does not span (batch, the channels within, any
    but the channels across).  False when not: the caller runs the arrays as they
    are."""
    ins = [x] if g is None else [x, g]
    if not all(_same_axis_order(a, y) for a in ins):
        return False
    if region == "within":
        free = [0, axis]            # batch and channels: the window spans neither
    else:
        free = [d for d in range(y.ndim) if d != axis]
    free = [d for d in free if y.shape[d] > 1]
    if not free:
        return False
    s = max(free, key=lambda d: abs(y.strides[d]))
    n = y.shape[s]
    step = max(1, _BLOCK_BYTES // max(1, y.itemsize * (y.size // n)))
    first = (slice(None),) * s + (slice(0, min(n, step)),)
    proto = np.empty_like(y[first], order="K")
    if _gathers(_jobs([proto] * (len(ins) + 1), axis, region, before, after)[0],
                y.dtype, region, g is not None):
        return False
    bufs = {proto.shape[s]: [proto]}   # per block length (the last may be shorter)
    for i0 in range(0, n, step):
        sl = (slice(None),) * s + (slice(i0, min(n, i0 + step)),)
        views = [a[sl] for a in ins] + [y[sl]]
        m = views[-1].shape[s]
        if m not in bufs:
            bufs[m] = [np.empty_like(views[-1], order="K")]
        have, nb, work = bufs[m], 0, []
        for v in views:   # the array itself where it is dense already, else a buffer
            if v.strides == have[0].strides:
                work.append(v)
                continue
            if nb == len(have):
                have.append(np.empty_like(views[-1], order="K"))
            work.append(have[nb])
            nb += 1
        for v, w in zip(views[:-1], work[:-1]):
            if w is not v:
                np.copyto(w, v)
        for job in _jobs(work, axis, region, before, after):
            call(work, *job)
        if work[-1] is not views[-1]:
            np.copyto(views[-1], work[-1])
    return True


def _run(x, g, y, axis, region, divisor, before, after, alpha, beta, k, nthreads):
    """Compute into y (dtype float32/float64, same shape); x, g of y's dtype."""
    arrays = [x, g, y] if g is not None else [x, y]
    dtype = _dtype_code(y.dtype)
    backward = g is not None
    if beta == 0.0:
        np.copyto(y, g if backward else x)
        return
    pow_mode, parity = _lrn.power_mode(beta)

    def call(arrs, shape, sts, offs, lo, hi):
        if backward:
            (xa, ga, ya), (xs, gs, ys), (xo, go, yo) = arrs, sts, offs
        else:
            (xa, ya), (xs, ys), (xo, yo) = arrs, sts, offs
            ga, gs, go = ya, None, 0
        _lrn.run(dtype, 0 if region == "across" else 1, int(backward),
                 xa, xo, ga, go, ya, yo, shape, xs, gs, ys, lo, hi,
                 alpha / divisor, beta, k, pow_mode, parity, nthreads)

    jobs = _jobs(arrays, axis, region, before, after)
    if (y.size >= _BLOCK_MIN
            and not (_dense(y) and all(a.strides == y.strides for a in arrays))
            and _gathers(jobs[0], y.dtype, region, backward)
            and _run_blocked(x, g, y, axis, region, before, after, call)):
        return
    for job in jobs:
        call(arrays, *job)


def _lrn_impl(x, g, size, alpha, beta, k, axis, region, window, out, dtype,
              casting, order, num_threads):
    size, alpha, beta, k, before, after, nthreads = _params(
        size, alpha, beta, k, region, window, num_threads)
    if casting not in _CASTINGS:
        raise ValueError(f"casting must be one of {_CASTINGS}, got {casting!r}")
    if order not in _ORDERS:
        raise ValueError(f"order must be one of {_ORDERS}, got {order!r}")
    x = _as_input("x", x)
    if g is not None:
        g = _as_input("grad_y", g)
        if g.shape != x.shape:
            raise ValueError(f"grad_y has shape {g.shape} but x has shape {x.shape}; "
                             "they must be equal")
    min_ndim = 2 if region == "across" else 3
    if x.ndim < min_ndim:
        raise ValueError(f"x must have at least {min_ndim} dimensions for region={region!r} "
                         f"((N, C{', spatial...' if min_ndim == 3 else ''})), got shape {x.shape}")
    axis = _normalize_axis(axis, x.ndim)
    if region == "within" and axis == 0:
        raise ValueError("axis must not be 0 with region='within': axis 0 is the batch axis")

    inputs = (x,) if g is None else (g, x)
    rt = _result_dtype(dtype, *inputs)
    ct = _compute_dtype(rt)
    divisor = size if region == "across" else size ** (x.ndim - 2)   # D: size**d within
    if ct == np.float32 and 0 < abs(alpha / divisor) < _F32_TINY:
        # alpha / D would be a subnormal float32 with a few bits left: compute in float64
        ct = np.dtype(np.float64)
    if out is not None:
        out = _check_out(out, x.shape, rt, casting)

    xc = _as_compute(x, ct)
    gc = _as_compute(g, ct) if g is not None else None
    if x.size == 0:
        return out if out is not None else np.empty_like(xc, dtype=rt, order=order)

    # where the kernel writes: out itself when it can, else a fresh array
    target = None
    if out is not None and _usable(out, ct):
        target = out
        for a in (xc, gc):
            if a is not None and np.may_share_memory(out, a) and not _same_layout(out, a):
                target = None   # overlaps an input in another layout: compute aside
    if target is None:
        target = np.empty_like(xc, dtype=ct, order=order)
    _run(xc, gc, target, axis, region, divisor, before, after, alpha, beta, k, nthreads)
    if out is not None:
        if target is not out:
            np.copyto(out, target, casting="unsafe")
        return out
    return target if target.dtype == rt else target.astype(rt, order=order)


def lrn(x, /, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1, region="across",
        window=None, out=None, dtype=None, casting="same_kind", order="K", num_threads=None):
    """Local Response Normalization.

    y = x * (k + alpha / D * S) ** -beta, where S is the sum of x**2 over a window:

    * ``region="across"``: along ``axis`` (the channels), over [c - size//2, c + (size-1)//2],
      zero padded; D = size.  This is PyTorch's F.local_response_norm and Caffe's
      ACROSS_CHANNELS.
    * ``region="within"``: a size-wide window along every spatial axis (all axes but 0 and
      ``axis``), zero padded; D = size ** (number of spatial axes), edges included.

    Parameters
    ----------
    x : array_like, at least (N, C) for "across" and (N, C, spatial...) for "within".
    size : int >= 1, the window length (and the divisor of alpha).
    alpha, beta, k : finite floats.
    axis : the channel axis (default 1, NCHW); -1 for NHWC.
    region : "across" or "within".
    window : (before, after), optional: taps before and after the centre, overriding
        the window that ``size`` implies; the divisor stays ``size`` (size**d within).
    out : ndarray or 1-tuple, optional, of the result's shape; returned.
    dtype : the computation and result dtype (float16 is computed in float32).
    casting : how the result may be cast into ``out`` (as for ufuncs).
    order : memory layout of a new result; "K" keeps the input's.
    num_threads : OpenMP threads for this call; None follows OMP_NUM_THREADS and
        threadpoolctl's limits.

    Returns
    -------
    ndarray of float16/float32/float64 (float64 for integer or bool input).
    """
    r = _lrn.common(x, None, size, alpha, beta, k, axis, region, window, out,
                    dtype, casting, order, num_threads)
    if r is not None:
        return r
    return _lrn_impl(x, None, size, alpha, beta, k, axis, region, window, out,
                     dtype, casting, order, num_threads)


def lrn_backward(grad_y, x, /, size=5, alpha=1e-4, beta=0.75, k=1.0, *, axis=1,
                 region="across", window=None, out=None, dtype=None, casting="same_kind",
                 order="K", num_threads=None):
    """The exact gradient of lrn: dL/dx given grad_y = dL/dy, from grad_y and x alone.

    dx_i = g_i s_i^-beta - 2 alpha beta / D * x_i * sum_{j : i in W(j)} g_j x_j s_j^(-beta-1),
    the inner sum over the transposed window (the mirrored one for even sizes).
    Takes the same keywords as lrn.
    """
    r = _lrn.common(x, grad_y, size, alpha, beta, k, axis, region, window, out,
                    dtype, casting, order, num_threads)
    if r is not None:
        return r
    return _lrn_impl(x, grad_y, size, alpha, beta, k, axis, region, window,
                     out, dtype, casting, order, num_threads)
