# Declarations of the C kernels in src_c/lrn.h.
cdef extern from "lrn.h" nogil:
    enum:
        LRN_MAXDIM
    ctypedef struct lrn_job:
        int dtype
        int region
        int backward
        const void *x
        const void *g
        void *y
        int ndim
        Py_ssize_t shape[64]
        Py_ssize_t xs[64]
        Py_ssize_t gs[64]
        Py_ssize_t ys[64]
        Py_ssize_t lo[64]
        Py_ssize_t hi[64]
        double alpha_d
        double beta
        double k
        int pow_mode
        int beta_parity
        Py_ssize_t tile
        Py_ssize_t ntiles
        Py_ssize_t nitems
        size_t work_bytes
        int stream

    int lrn_plan(lrn_job *job, int nthreads)
    int lrn_gathers(const lrn_job *job)
    int lrn_across_mode(const lrn_job *job)
    int lrn_run(lrn_job *job, int nthreads)
    int lrn_cpu_supports(int target)
    int lrn_target_compiled(int target)
    void lrn_set_target(int target)
    int lrn_get_target()
    const char *lrn_target_name(int target)
    int lrn_openmp_enabled()
    int lrn_max_threads()
    double lrn_stream_above()
    int lrn_effective_threads(const lrn_job *job, int nthreads)
    void lrn_after_fork_child()
    int lrn_in_forked_child()
    int lrn_last_team_size()
