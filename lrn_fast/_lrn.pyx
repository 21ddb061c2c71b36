# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin bridge from the validated Python arguments to the C kernels.

Everything is checked in lrn_fast/_api.py before it gets here: the arrays
are aligned, native-endian float32/float64 arrays whose strides are whole
elements; this module only fills an lrn_job and releases the GIL around it.
"""
cimport numpy as cnp
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
    cdef int rc
    _fill(&job, region, backward, shape, xs, gs, ys, lo, hi)
    job.dtype = dtype
    job.x = _data(x) + xoff * esz
    job.g = (_data(g) + goff * esz) if backward else NULL
    job.y = _data(y) + yoff * esz
    job.alpha_d = alpha_d
    job.beta = beta
    job.k = k
    job.pow_mode = pow_mode
    job.beta_parity = parity
    with nogil:
        rc = lrn_run(&job, nthreads)
    if rc != 0:
        raise MemoryError("lrn_fast: could not allocate the kernel's scratch memory")


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
