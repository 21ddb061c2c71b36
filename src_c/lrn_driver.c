#define _POSIX_C_SOURCE 200112L
/* Plans a job (tile sizes, scratch), picks the dispatch target and runs the
 * work items, in parallel with OpenMP when that pays off. */
#include <stdlib.h>
#include <string.h>
#include "lrn.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define LRN_HAVE_PTHREAD_ATFORK 1
#endif

#define LRN_CACHE_BUDGET (192 * 1024)   /* scratch per thread aimed at L2 */
#define LRN_WITHIN_BUDGET (512 * 1024)
#define LRN_SERIAL_BELOW 32768          /* elements: below this, one thread */
#define LRN_STREAM_ABOVE (12.0 * 1024 * 1024)   /* output bytes: from here, non-temporal stores */
#define LRN_STREAM_ABOVE_INTEL (2.0 * 1024 * 1024)   /* the same on Intel CPUs (lrn_stream_above) */

static int lrn_target = -1;
static volatile int lrn_forked = 0;
static int lrn_last_team = 0;

int lrn_last_team_size(void) { return lrn_last_team; }

static ptrdiff_t cdiv(ptrdiff_t a, ptrdiff_t b) { return (a + b - 1) / b; }

int lrn_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int lrn_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static void lrn_atfork_child(void) { lrn_forked = 1; }

void lrn_after_fork_child(void) { lrn_forked = 1; }
int lrn_in_forked_child(void) { return lrn_forked; }

int lrn_target_compiled(int target)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    return target >= 0 && target < LRN_NTARGETS;
#else
    return target == LRN_TARGET_BASELINE;
#endif
}

int lrn_cpu_supports(int target)
{
    if (target == LRN_TARGET_BASELINE) return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (target == LRN_TARGET_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (target == LRN_TARGET_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return 0;
}

const char *lrn_target_name(int target)
{
    switch (target) {
    case LRN_TARGET_BASELINE:
#if defined(__aarch64__)
        return "baseline (NEON)";
#elif defined(__x86_64__)
        return "baseline (SSE2)";
#else
        return "baseline";
#endif
    case LRN_TARGET_AVX2: return "AVX2";
    case LRN_TARGET_AVX512: return "AVX512_SKX";
    }
    return "unknown";
}

void lrn_set_target(int target)
{
    static int registered = 0;
    if (!registered) {
#ifdef LRN_HAVE_PTHREAD_ATFORK
        pthread_atfork(NULL, NULL, lrn_atfork_child);
#endif
        registered = 1;
    }
    if (target < 0 || target >= LRN_NTARGETS || !lrn_target_compiled(target) ||
        !lrn_cpu_supports(target))
        target = LRN_TARGET_BASELINE;
    lrn_target = target;
}

int lrn_get_target(void)
{
    if (lrn_target < 0) {
        int t = LRN_NTARGETS - 1;
        while (t > 0 && !(lrn_target_compiled(t) && lrn_cpu_supports(t))) t--;
        lrn_set_target(t);
    }
    return lrn_target;
}

static lrn_item_fn item_fn(void)
{
    switch (lrn_get_target()) {
    case LRN_TARGET_AVX512: return lrn_item_avx512;
    case LRN_TARGET_AVX2: return lrn_item_avx2;
    default: return lrn_item_baseline;
    }
}

static ptrdiff_t job_elements(const lrn_job *J)
{
    ptrdiff_t e = 1;
    for (int d = 0; d < J->ndim; d++) e *= J->shape[d];
    return e;
}

/* The threads a job may use before its work items are counted: the request,
 * capped, and one in a forked child or below LRN_SERIAL_BELOW elements.  lrn_plan
 * tiles for this many (a job that will run serially is not cut into the small tiles
 * meant to balance a team: 1x96x256 forward asked for 2 threads took 0.016 ms in
 * 32-float tiles against 0.011 in one, `bash src_c/test/bench_ab.sh 2f15222`). */
static int team_threads(const lrn_job *J, int nthreads)
{
    int nt = nthreads > 0 ? nthreads : lrn_max_threads();
#ifdef _OPENMP
    /* more threads only oversubscribe, and libgomp aborts the process when it
     * cannot create one (a huge OMP_NUM_THREADS or threadpoolctl limit) */
    int cap = 4 * omp_get_num_procs();
    if (cap < 64) cap = 64;
    if (nt > cap) nt = cap;
#else
    nt = 1;
#endif
    if (lrn_forked) nt = 1;
    if (job_elements(J) * (J->backward ? 2 : 1) < LRN_SERIAL_BELOW) nt = 1;
    return nt < 1 ? 1 : nt;
}

int lrn_effective_threads(const lrn_job *J, int nthreads)
{
    int nt = team_threads(J, nthreads);
    if (J->nitems > 0 && nt > J->nitems) nt = (int)J->nitems;
    return nt;
}

/* Output bytes from which the across strips store by non-temporal stores.  On an
 * Intel Xeon with AVX-512 (2 MiB of L2 per core) ordinary stores cost far more
 * there than on the AMD EPYC (Zen 4) that set LRN_STREAM_ABOVE: builds alternated
 * (`bash src_c/test/bench_ab.sh cfc4819 CASE`, float32 beta 0.75), streaming from
 * 2 MiB instead of 12 took the backward of 1x192x56x56 (2.4 MB, 1 thread) to 0.66x
 * the time and of 4x192x56x56 (9.6 MB) to 0.68x with 2 threads (0.67x with 1, with a
 * 4 MiB trial threshold), the forward of 1x192x56x56 to 0.93x; a 1x96x55x55 output
 * (1.2 MB) stays below, where streaming was 1.14-1.18x slower forward (1 MiB trial).
 * On the EPYC, 9 MB outputs gained nothing and 14 MB ones 20%. */
double lrn_stream_above(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_is("intel")) return LRN_STREAM_ABOVE_INTEL;
#endif
    return LRN_STREAM_ABOVE;
}

int lrn_plan(lrn_job *J, int nthreads)
{
    size_t esz = lrn_esz(J);
    int nt = team_threads(J, nthreads);
    ptrdiff_t want = nt > 1 ? 4 * (ptrdiff_t)nt : 1;   /* items wanted for balance */
    if (J->region == LRN_ACROSS) {
        ptrdiff_t outer = J->shape[0], C = J->shape[1], inner = J->shape[2];
        ptrdiff_t n = J->lo[0] + J->hi[0] + 1;
        int mode = lrn_across_mode(J);
        /* the rows kernels' scratch rows (lrn_bwd_rows; stream_elems) */
        size_t rows = J->backward ? (size_t)lrn_bwd_rows(n) : (size_t)(n + 2);
        if (mode == LRN_MODE_PACK) rows += (size_t)C * (J->backward ? 2 : 1);
        ptrdiff_t t = (ptrdiff_t)(LRN_CACHE_BUDGET / (rows * esz));
        if (mode == LRN_MODE_ROWS && t > 4096) t = 4096;
        if (mode != LRN_MODE_ROWS && t > 256) t = 256;
        t = t / 16 * 16;
        if (t < 16) t = 16;
        if (outer * cdiv(inner, t) < want) {
            ptrdiff_t per = cdiv(want, outer);
            ptrdiff_t t2 = cdiv(cdiv(inner, per), 16) * 16;
            if (t2 < t) t = t2 < 16 ? 16 : t2;
        }
        if (t > inner) t = inner;
        if (t < 1) t = 1;
        if (mode == LRN_MODE_CL) {
            ptrdiff_t G = C + n - 1, P = LRN_CL_BLOCK / G > 0 ? LRN_CL_BLOCK / G : 1;
            rows = 0;
            J->work_bytes = 3 * ((size_t)(n - 1 + P * G) * esz + 64) + 64;
        }
        J->tile = t;
        J->ntiles = cdiv(inner, t);
        J->nitems = outer * J->ntiles;
        /* rows padded to whole vectors (up to 64 bytes), LRN_ROW_SLACK more */
        if (mode != LRN_MODE_CL)
            J->work_bytes = rows * ((size_t)t * esz + 64 + LRN_ROW_SLACK) + 64;
        /* Non-temporal output stores (the strip kernels, x86 with AVX-512)
         * when y is too large to stay in cache anyway: a store that misses reads
         * its line first, so a forward moves 3 times the tensor instead of 2
         * (32x96x55x55 float32, forward: 6.5 -> 4.2 ms with 1 thread, 4.3 -> 3.0
         * ms with 2; backward 5-15% faster with 2 threads, up to 3% slower with
         * 1).  From which size: lrn_stream_above.  Not in place: there the lines
         * were just read and are in cache.  Not for a generic beta: compute bound, it
         * lost more to the shuffles than it gained (1 thread: forward +6%, backward
         * +17%).  Scratch: two vectors per channel (vst_lines: the carry and the
         * row's head). */
        J->stream = mode == LRN_MODE_ROWS && J->pow_mode != LRN_POW_GENERIC
                    && J->y != J->x && J->y != J->g
                    && (double)(outer * C) * (double)inner * (double)esz >= lrn_stream_above();
        if (J->stream && J->work_bytes < (size_t)C * 128 + 64) J->work_bytes = (size_t)C * 128 + 64;
    }
    else {
        ptrdiff_t B = J->shape[0], C = J->shape[1], P = 1, nmax = 1;
        for (int d = 2; d < J->ndim; d++) {
            P *= J->shape[d];
            ptrdiff_t n = J->lo[d - 2] + J->hi[d - 2] + 1;
            if (n > nmax) nmax = n;
        }
        size_t planes = J->backward ? 4 : 2;
        int planar = lrn_within_planar(J);
        ptrdiff_t cc = (ptrdiff_t)(LRN_WITHIN_BUDGET / (planes * esz * (size_t)(P > 0 ? P : 1)));
        if (cc > 64) cc = 64;
        if (cc < 1) cc = 1;
        if (B * cdiv(C, cc) < want) {
            ptrdiff_t per = cdiv(want, B);
            ptrdiff_t c2 = cdiv(C, per);
            if (c2 < cc) cc = c2;
        }
        /* interleaved: whole vectors of channels per position (runs of fewer than
         * 16 values were all masked vectors: the NHWC backward at cc = 14 ran at
         * twice the time), even if the planes outgrow the budget or fewer items
         * than wanted remain */
        if (!planar && C >= 16) cc = cc < 16 ? 16 : cc / 16 * 16;
        if (!planar && lrn_within_stream(J)) {
            /* streamed lines of whole pixels where the batch gives every thread work
             * (x, y and g then read in contiguous lines), else chunks of whole vectors */
            ptrdiff_t c2 = cdiv(C, cdiv(want, B));
            cc = c2 < 16 ? 16 : c2 < C ? cdiv(c2, 16) * 16 : C;
            /* but the line buffers and rings (about 3 n + 5 lines) within the budget */
            ptrdiff_t lines = 3 * nmax + 5, W = J->shape[3];
            ptrdiff_t cap = (ptrdiff_t)(LRN_WITHIN_BUDGET / ((size_t)(lines * W) * esz)) / 16 * 16;
            if (cc > cap) cc = cap < 16 ? 16 : cap;
        }
        if (cc > C) cc = C;
        if (cc < 1) cc = 1;
        J->tile = cc;
        J->ntiles = cdiv(C, cc);
        J->nitems = B * J->ntiles;
        /* streamed: the line buffers and rings (lrn_stream_elems); else the planes,
         * and the box sums' streams of (n + 2) rows of up to LRN_BOX_COLS values
         * (rows padded to whole vectors) */
        ptrdiff_t plane = lrn_within_plane(J, cc);
        ptrdiff_t cols = plane < LRN_BOX_COLS ? plane : LRN_BOX_COLS;
        size_t box = (size_t)(nmax + 2) * (size_t)(cols + 16);
        if (lrn_within_stream(J))
            J->work_bytes = (size_t)lrn_stream_elems(J, cc) * esz + 64;
        else
            J->work_bytes = (planes * (size_t)plane + box) * esz + 64;
    }
    return 0;
}

static void *aligned_alloc64(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    return p;
}

int lrn_run(lrn_job *J, int nthreads)
{
    lrn_item_fn fn = item_fn();
    lrn_plan(J, nthreads);
    if (J->nitems <= 0) return 0;
    int nt = lrn_effective_threads(J, nthreads);
    if (nt <= 1) {
        void *work = aligned_alloc64(J->work_bytes);
        if (!work) return -1;
        for (ptrdiff_t i = 0; i < J->nitems; i++) fn(J, i, work);
        free(work);
        lrn_last_team = 1;
        return 0;
    }
    int failed = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        void *work = aligned_alloc64(J->work_bytes);
#pragma omp master
        lrn_last_team = omp_get_num_threads();
        if (!work) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (ptrdiff_t i = 0; i < J->nitems; i++)
            if (work) fn(J, i, work);
        free(work);
    }
#endif
    return failed ? -1 : 0;
}
