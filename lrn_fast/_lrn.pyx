# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin bridge from the validated Python arguments to the C kernels.

Everything is checked in lrn_fast/_api.py before it gets here: the arrays
are aligned, native-endian float32/float64 arrays whose strides are whole
elements; this module only fills an lrn_job and releases the GIL around it.
The one exception is `common`, which recognises the common call (C-contiguous
arrays of one native float dtype, plain int and float arguments) and runs it
without the Python layer; it checks nothing else and returns None for any other
call, which _api then validates and runs as usual.
"""
cimport numpy as cnp
from libc.float cimport FLT_MIN
from libc.math cimport floor, fmod, isfinite
from lrn_fast._lrn cimport *

cnp.import_array()

TARGETS = ("baseline", "AVX2", "AVX512_SKX")


cdef inline char *_data(cnp.ndarray a):
    return <char *>cnp.PyArray_DATA(a)


cdef int _fill(lrn_job *job, int region, int backward, shape, xs, gs, ys, lo, hi) except -1:
    """The dimensions of a job: shape, strides (elements) and window taps."""
    cdef int i, ndim = len(shape)
    if ndim > LRN_MAXDIM:
        raise ValueError(f"too many dimensions ({ndim} > {LRN_MAXDIM})")
    job.region = region
    job.backward = backward
    job.ndim = ndim
    for i in range(ndim):
        job.shape[i] = shape[i]
        job.xs[i] = xs[i]
        job.gs[i] = gs[i] if backward else 0
        job.ys[i] = ys[i]
    for i in range(len(lo)):
        job.lo[i] = lo[i]
        job.hi[i] = hi[i]
    return 0


def run(int dtype, int region, int backward,
        cnp.ndarray x, Py_ssize_t xoff, cnp.ndarray g, Py_ssize_t goff,
        cnp.ndarray y, Py_ssize_t yoff,
        shape, xs, gs, ys, lo, hi,
        double alpha_d, double beta, double k, int pow_mode, int parity,
        int nthreads):
    """Run one job. Offsets and strides are in elements."""
    cdef lrn_job job
    cdef Py_ssize_t esz = 4 if dtype == 0 else 8
    _fill(&job, region, backward, shape, xs, gs, ys, lo, hi)
    _launch(&job, dtype, _data(x) + xoff * esz, (_data(g) + goff * esz) if backward else NULL,
            _data(y) + yoff * esz, alpha_d, beta, k, pow_mode, parity, nthreads)


cdef inline void _power(double beta, int *mode, int *parity):
    """The kernels' power of s for beta: LRN_POW_* 1 (0.75), 2 (0.5), 3 (1), else 0
    (generic); and for an integer beta its parity (1 even, 2 odd; else 0), which
    gives the sign of s^-beta for s < 0."""
    mode[0] = 1 if beta == 0.75 else 2 if beta == 0.5 else 3 if beta == 1.0 else 0
    parity[0] = 0 if floor(beta) != beta else (1 if fmod(beta, 2.0) == 0 else 2)


def power_mode(double beta):
    """(pow_mode, parity) of a finite beta, as `run` takes them (_power)."""
    cdef int mode, parity
    _power(beta, &mode, &parity)
    return mode, parity


cdef int _launch(lrn_job *job, int dtype, char *x, char *g, char *y, double alpha_d,
                 double beta, double k, int pow_mode, int parity, int nthreads) except -1:
    """Complete a job whose dimensions are filled in and run it without the GIL."""
    cdef int rc
    job.dtype = dtype
    job.x = x
    job.g = g
    job.y = y
    job.alpha_d = alpha_d
    job.beta = beta
    job.k = k
    job.pow_mode = pow_mode
    job.beta_parity = parity
    with nogil:
        rc = lrn_run(job, nthreads)
    if rc != 0:
        raise MemoryError("lrn_fast: could not allocate the kernel's scratch memory")
    return 0


def gathers(int dtype, int region, int backward, shape, xs, gs, ys, lo, hi):
    """Would the kernels read and write this job element by element (lrn_gathers)?"""
    cdef lrn_job job
    _fill(&job, region, backward, shape, xs, gs, ys, lo, hi)
    job.dtype = dtype
    return bool(lrn_gathers(&job))


def across_mode(int dtype, int backward, shape, xs, gs, ys, lo, hi):
    """How an across job runs (lrn_across_mode): 0 on rows of contiguous pixels,
    1 on contiguous channels, 2 packed."""
    cdef lrn_job job
    _fill(&job, 0, backward, shape, xs, gs, ys, lo, hi)
    job.dtype = dtype
    return lrn_across_mode(&job)


def plan(int dtype, int region, int backward, shape, lo, hi, int nthreads, bint strided=False,
         int pow_mode=1):
    """The plan of a job of contiguous arrays, not in place: (tile, work items,
    scratch bytes, threads, non-temporal output stores wanted; only x86 targets
    with AVX2 or AVX-512 have them, others store as usual)."""
    cdef lrn_job job
    cdef int i, ndim = len(shape)
    job.pow_mode = pow_mode   # LRN_POW_*, 1: beta 0.75
    job.x = job.g = NULL
    job.y = <void *>&job   # distinct from x (never dereferenced by lrn_plan)
    job.dtype = dtype
    job.region = region
    job.backward = backward
    job.ndim = ndim
    for i in range(ndim):
        job.shape[i] = shape[i]
        job.xs[i] = job.gs[i] = job.ys[i] = 1
    if region == 0 and strided:
        job.xs[2] = job.gs[2] = job.ys[2] = 2
    for i in range(len(lo)):
        job.lo[i] = lo[i]
        job.hi[i] = hi[i]
    lrn_plan(&job, nthreads)
    return (job.tile, job.nitems, job.work_bytes, lrn_effective_threads(&job, nthreads),
            bool(job.stream))


def cpu_supports(int target):
    return bool(lrn_cpu_supports(target))


def target_compiled(int target):
    return bool(lrn_target_compiled(target))


def set_target(int target):
    lrn_set_target(target)


def get_target():
    return lrn_get_target()


def target_name(int target):
    return lrn_target_name(target).decode()


def openmp_enabled():
    return bool(lrn_openmp_enabled())


def max_threads():
    return lrn_max_threads()


def stream_above():
    """Output bytes from which the across kernels store by non-temporal stores
    (x86 with AVX-512; lrn_stream_above: lower on Intel CPUs)."""
    return lrn_stream_above()


def after_fork_child():
    lrn_after_fork_child()


def in_forked_child():
    return bool(lrn_in_forked_child())


def last_team_size():
    """Threads the last kernel call ran with (for tests)."""
    return lrn_last_team_size()


# ---- the common call, without the Python layer ---------------------------------------
cdef int _thread_cap = 64      # _api._MAX_THREADS (set_thread_cap)


def set_thread_cap(int n):
    global _thread_cap
    _thread_cap = n


cdef inline bint _plain(object a, int typenum):
    """a is an ndarray (not a subclass) of typenum, native, aligned, C-contiguous,
    with strides of whole elements (numpy lets a length-1 axis have any stride)."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if not (cnp.PyArray_TYPE(arr) == typenum and cnp.PyArray_ISNOTSWAPPED(arr)
            and cnp.PyArray_ISALIGNED(arr) and cnp.PyArray_IS_C_CONTIGUOUS(arr)):
        return False
    cdef Py_ssize_t esz = 4 if typenum == cnp.NPY_FLOAT else 8
    cdef int d
    for d in range(cnp.PyArray_NDIM(arr)):
        if cnp.PyArray_STRIDES(arr)[d] % esz:
            return False
    return True


cdef inline bint _same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int d
    if cnp.PyArray_NDIM(a) != cnp.PyArray_NDIM(b):
        return False
    for d in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIMS(a)[d] != cnp.PyArray_DIMS(b)[d]:
            return False
    return True


cdef inline bint _same_strides(cnp.ndarray a, cnp.ndarray b):
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_STRIDES(a)[d] != cnp.PyArray_STRIDES(b)[d]:
            return False
    return True


cdef inline bint _overlap(cnp.ndarray a, cnp.ndarray b):
    """Do two contiguous arrays share memory (when not the same array in the same
    layout, which the kernels compute in place)?"""
    cdef char *pa = _data(a)
    cdef char *pb = _data(b)
    if pa == pb and _same_strides(a, b):
        return False
    return pa < pb + cnp.PyArray_NBYTES(b) and pb < pa + cnp.PyArray_NBYTES(a)


cdef inline bint _real(object v, double *out):
    """A finite float or int, as _api._real_arg takes it without its checks."""
    if type(v) is float:
        out[0] = <double>v
    elif type(v) is int:
        try:
            out[0] = float(v)
        except OverflowError:
            return False
    else:
        return False
    return isfinite(out[0])


cdef void _strides_into(Py_ssize_t *dst, cnp.ndarray a, Py_ssize_t esz, int *dims, int n):
    cdef int i
    for i in range(n):
        dst[i] = cnp.PyArray_STRIDES(a)[dims[i]] // esz


cdef int _common_job(lrn_job *job, cnp.ndarray x, cnp.ndarray g, cnp.ndarray y,
                     int axis, int region, Py_ssize_t size) except -1:
    """The job _api._layout_jobs makes of C-contiguous arrays of one shape: across,
    (outer, C, inner) as _collapse merges them; within, (N, C, spatial...)."""
    cdef int ndim = cnp.PyArray_NDIM(x), d, n = 0
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(x)
    cdef Py_ssize_t esz = cnp.PyArray_ITEMSIZE(x)
    cdef Py_ssize_t before = size // 2, after = (size - 1) // 2
    cdef Py_ssize_t pre = 1, post = 1, C
    cdef int order[64]
    job.region = region
    job.backward = g is not None
    if region == 0:
        C = shape[axis]
        for d in range(axis):
            pre *= shape[d]
        for d in range(axis + 1, ndim):
            post *= shape[d]
        job.ndim = 3
        job.shape[1] = C
        # merged: the dims before the axis (stride C * post) and after it (stride
        # 1), and all of them into one when C is 1; the inner one last
        if pre > 1 and post > 1 and C > 1:
            job.shape[0], job.shape[2] = pre, post
            job.xs[0] = job.gs[0] = job.ys[0] = C * post
            job.xs[2] = job.gs[2] = job.ys[2] = 1
        elif pre > 1 or post > 1:
            job.shape[0], job.shape[2] = 1, pre * post
            job.xs[0] = job.gs[0] = job.ys[0] = 0
            job.xs[2] = job.gs[2] = job.ys[2] = C if post == 1 else 1
        else:
            job.shape[0] = job.shape[2] = 1
            job.xs[0] = job.gs[0] = job.ys[0] = 0
            job.xs[2] = job.gs[2] = job.ys[2] = 0
        job.xs[1] = cnp.PyArray_STRIDES(x)[axis] // esz
        job.gs[1] = cnp.PyArray_STRIDES(g)[axis] // esz if g is not None else 0
        job.ys[1] = cnp.PyArray_STRIDES(y)[axis] // esz
        job.lo[0] = before if before < C - 1 else C - 1
        job.hi[0] = after if after < C - 1 else C - 1
        if g is None:
            job.gs[0] = job.gs[1] = job.gs[2] = 0
        return 0
    order[0], order[1] = 0, axis
    n = 2
    for d in range(1, ndim):
        if d != axis:
            job.lo[n - 2] = before if before < shape[d] - 1 else shape[d] - 1
            job.hi[n - 2] = after if after < shape[d] - 1 else shape[d] - 1
            order[n] = d
            n += 1
    job.ndim = ndim
    for d in range(ndim):
        job.shape[d] = shape[order[d]]
    _strides_into(job.xs, x, esz, order, ndim)
    _strides_into(job.ys, y, esz, order, ndim)
    if g is not None:
        _strides_into(job.gs, g, esz, order, ndim)
    else:
        for d in range(ndim):
            job.gs[d] = 0
    return 0


def common(x, g, size, alpha, beta, k, axis, region, window, out, dtype, casting,
           order, num_threads):
    """lrn (g None) or lrn_backward of the common call, or None when the call is
    not one (any other argument, dtype or layout; beta 0; an empty array; out
    overlapping an input): _api._lrn_impl then runs it.  The result is the one
    _api._lrn_impl gives, with the same job."""
    cdef double a = 0, b = 0, kk = 0, divisor
    cdef Py_ssize_t n_size, d
    cdef int typenum, ax, reg, ndim, nthreads = 0, pow_mode, parity
    cdef lrn_job job
    if window is not None or dtype is not None:
        return None
    if type(order) is not str or type(casting) is not str or type(region) is not str:
        return None       # (an array would compare elementwise)
    if order != "K" or casting != "same_kind":
        return None
    if region == "across":
        reg = 0
    elif region == "within":
        reg = 1
    else:
        return None
    if not cnp.PyArray_CheckExact(x):
        return None
    typenum = cnp.PyArray_TYPE(<cnp.ndarray>x)
    if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
        return None
    if not _plain(x, typenum) or cnp.PyArray_SIZE(<cnp.ndarray>x) == 0:
        return None
    if g is not None and not (_plain(g, typenum) and _same_shape(g, x)):
        return None
    ndim = cnp.PyArray_NDIM(<cnp.ndarray>x)
    if ndim < 2 + reg:
        return None
    if type(size) is not int or type(axis) is not int:
        return None
    if not (1 <= size <= 1 << 30 and -ndim <= axis < ndim):
        return None
    n_size = size
    ax = axis % ndim
    if reg == 1 and ax == 0:
        return None
    if not (_real(alpha, &a) and _real(beta, &b) and _real(k, &kk)) or b == 0.0:
        return None
    if num_threads is not None:
        if type(num_threads) is not int or num_threads < 1:
            return None
        nthreads = _thread_cap if num_threads > _thread_cap else num_threads
    # the divisor D = size, or size ** (spatial dims) within, exactly as a double
    divisor = <double>n_size
    if reg == 1:
        for d in range(ndim - 3):
            divisor *= n_size
            if divisor > 9007199254740992.0:   # 2**53
                return None
    a = a / divisor
    if typenum == cnp.NPY_FLOAT and 0 < abs(a) < FLT_MIN:
        return None      # computed in float64 (_api)
    if out is None:
        out = cnp.PyArray_EMPTY(ndim, cnp.PyArray_DIMS(<cnp.ndarray>x), typenum, 0)
    elif not (_plain(out, typenum) and _same_shape(out, x)
              and cnp.PyArray_ISWRITEABLE(<cnp.ndarray>out)
              and not _overlap(out, x) and not (g is not None and _overlap(out, g))):
        return None
    _power(b, &pow_mode, &parity)
    _common_job(&job, x, g, out, ax, reg, n_size)
    _launch(&job, 0 if typenum == cnp.NPY_FLOAT else 1, _data(x),
            _data(g) if g is not None else NULL, _data(out), a, b, kk, pow_mode, parity,
            nthreads)
    return out


def common_job(x, g, y, int axis, int region, Py_ssize_t size):
    """The job `common` runs (shape, strides of x, g, y, lo, hi), for tests."""
    cdef lrn_job job
    _common_job(&job, x, g, y, axis, region, size)
    n = job.ndim
    return ([job.shape[i] for i in range(n)], [job.xs[i] for i in range(n)],
            [job.gs[i] for i in range(n)], [job.ys[i] for i in range(n)],
            [job.lo[i] for i in range(n - 2)], [job.hi[i] for i in range(n - 2)])
