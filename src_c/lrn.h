/* lrn_fast: C kernels for Local Response Normalization.
 *
 * Plain C99, no Python.h: the kernels only do arithmetic on strided arrays
 * described by an lrn_job.  Python validates everything before a job reaches
 * this code.  Strides are in elements (not bytes).
 */
#ifndef LRN_FAST_LRN_H
#define LRN_FAST_LRN_H

#include <stddef.h>

#define LRN_MAXDIM 64

enum { LRN_FLOAT32 = 0, LRN_FLOAT64 = 1 };
enum { LRN_ACROSS = 0, LRN_WITHIN = 1 };
/* how s^-beta is computed */
enum { LRN_POW_GENERIC = 0, LRN_POW_075 = 1, LRN_POW_05 = 2, LRN_POW_1 = 3 };
/* dispatch targets, lowest first */
enum { LRN_TARGET_BASELINE = 0, LRN_TARGET_AVX2 = 1, LRN_TARGET_AVX512 = 2, LRN_NTARGETS = 3 };

typedef struct {
    int dtype;      /* LRN_FLOAT32 or LRN_FLOAT64 */
    int region;     /* LRN_ACROSS or LRN_WITHIN */
    int backward;   /* 0: y = lrn(x); 1: y = d lrn / dx applied to g */
    const void *x;
    const void *g;  /* grad_y, backward only */
    void *y;
    /* Dimensions.
     *   across: ndim = 3, shape = (outer, C, inner).
     *   within: ndim >= 3, shape = (batch, C, spatial...).
     * Strides per array, in elements; any sign, zero allowed for inputs. */
    int ndim;
    ptrdiff_t shape[LRN_MAXDIM];
    ptrdiff_t xs[LRN_MAXDIM], gs[LRN_MAXDIM], ys[LRN_MAXDIM];
    /* Window taps before/after the centre, along the channel axis (across,
     * index 0) or along each spatial axis (within, index 0 = first spatial).
     * Already clipped to the axis length by the caller of lrn_run. */
    ptrdiff_t lo[LRN_MAXDIM], hi[LRN_MAXDIM];
    double alpha_d;   /* alpha / divisor */
    double beta, k;
    int pow_mode;     /* LRN_POW_* */
    int beta_parity;  /* 0: beta not an integer, 1: even integer, 2: odd integer */
    /* filled by lrn_plan */
    ptrdiff_t tile;      /* across: pixels per tile; within: channels per chunk */
    ptrdiff_t ntiles;    /* tiles per outer index (across) or chunks per batch (within) */
    ptrdiff_t nitems;    /* work items in all */
    size_t work_bytes;   /* scratch one thread needs */
    int stream;          /* across strips: whole output lines by non-temporal stores */
} lrn_job;

/* How the across region runs: on rows of contiguous pixels (NCHW-like), on
 * contiguous channels (NHWC-like, windows up to LRN_CL_MAXN taps), or packed:
 * the arrays whose pixels are not contiguous go through channel rows of a tile
 * of pixels (anything else: few channels, mixed memory orders, strided views). */
enum { LRN_MODE_ROWS = 0, LRN_MODE_CL = 1, LRN_MODE_PACK = 2 };
#define LRN_CL_MAXN 16
/* Channels-last needs at least this many bytes of channels per pixel; with fewer
 * the contiguous-channel kernels' vectors are mostly padding and packed rows run
 * faster (32 images, size 5, 1 thread, forward / backward ms: float32 3 channels
 * 37 / 78 -> 12 / 27; float64 3 channels 21 / 42 -> 11 / 24).  Since the register
 * windows (sizes 3-11, ef1aa99 and 4d21516) 8 float32 channels are faster
 * channels-last (src_c/test/bench_ab.sh, LRN_AB_LAYOUT=hhh, 32x8x3025 against
 * packed, AVX-512: forward beta 0.75 0.97 -> 0.62 ms, 2 threads 0.49 -> 0.31,
 * size 3 0.94 -> 0.52, size 11 0.98x, backward 1.80 -> 1.24 ms, beta 0.6
 * backward 0.94x but forward 1.11x (the power on half-empty vectors); AVX2 0.75x,
 * 0.95x), 4 float64 channels the same either way, 6 and 5 float32 channels
 * slower (backward 1.11x, forward 1.19x). */
#define LRN_CL_MINBYTES 32
#define LRN_STRIP_MAXN 8      /* across windows the strip kernels keep in registers */
#define LRN_HALF_MAXN 16      /* across backward windows summed directly in two parts */
#define LRN_ROW_SLACK 64       /* bytes past whole vectors in the backward's scratch rows */
#define LRN_CL_BLOCK 2048     /* elements per channels-last block */
#define LRN_BOX_COLS 1024     /* values per running-sum row in the within region */

/* bytes per element of the job's dtype */
static inline size_t lrn_esz(const lrn_job *J) { return J->dtype == LRN_FLOAT32 ? 4 : 8; }

static inline int lrn_across_mode(const lrn_job *J)
{
    if (J->xs[2] == 1 && J->ys[2] == 1 && (!J->backward || J->gs[2] == 1))
        return LRN_MODE_ROWS;
    if (J->xs[1] == 1 && J->ys[1] == 1 && (!J->backward || J->gs[1] == 1) &&
        J->lo[0] + J->hi[0] + 1 <= LRN_CL_MAXN &&
        J->shape[1] * (ptrdiff_t)lrn_esz(J) >= LRN_CL_MINBYTES)
        return LRN_MODE_CL;
    return LRN_MODE_PACK;
}

/* Scratch rows per tile row that the across backward on rows takes, each
 * LRN_ROW_SLACK bytes longer than the row in whole vectors: 3 rings of n rows (up
 * to LRN_STRIP_MAXN taps: across_bwd_rows), those and rings of hi + 1 and lo + 1
 * rows (to LRN_HALF_MAXN: across_bwd_rows_half, 4n + 1), or 2 rings and 4 running
 * sums of at most n + 8 rows in all (longer: across_bwd_rows_long).  lrn_plan
 * sizes the scratch by it, across_item places the gathered tile after it. */
static inline ptrdiff_t lrn_bwd_rows(ptrdiff_t n)
{
    return n > LRN_STRIP_MAXN ? 4 * n + 8 : 3 * n;
}

/* The strip kernels walk all C channel rows at one column.  When the rows' byte
 * stride maps them onto very few L1 sets (a stride of 4 KiB as with 32x32 planes,
 * of 6 KiB, ...), the walk ran 3x slower than the rows kernel (0.70 against 0.24 ns
 * per element for (8,96,32,32) on Zen 4).  This counts the distinct 64-byte line
 * positions in a 4 KiB page that the rows start at.  Measured: 1 or 2 positions
 * are bad, 4 about even, 8 and more fine (56x56 planes have 16: strips 0.28 against
 * rows 0.45 ns per element at C = 192); a few channels are fine anyway. */
static inline int lrn_strip_stride_ok(ptrdiff_t stride, ptrdiff_t C, size_t esz)
{
    size_t b = (size_t)(stride < 0 ? -stride : stride) * esz % 4096, off = 0;
    unsigned long long seen = 0;
    int positions = 0;
    for (ptrdiff_t r = 0; r < C && r < 64; r++, off = (off + b) % 4096) {
        unsigned long long bit = 1ULL << (off / 64);
        positions += !(seen & bit);
        seen |= bit;
    }
    return positions >= 8 || C <= 8 * (ptrdiff_t)positions;
}

/* Within: planar buffer [lines][channels][last axis] when the last spatial axis
 * has the smaller stride in x, else interleaved [positions][channels]. */
static inline int lrn_within_planar(const lrn_job *J)
{
    ptrdiff_t lx = J->xs[J->ndim - 1], cx = J->xs[1];
    ptrdiff_t nl = J->lo[J->ndim - 3] + J->hi[J->ndim - 3] + 1;
    /* the planar layout sums the last axis with shifted sums only: short windows,
     * so that the cost per element stays bounded; longer ones go interleaved,
     * where every axis can have running sums */
    return (lx < 0 ? -lx : lx) <= (cx < 0 ? -cx : cx) && nl <= LRN_CL_MAXN;
}

/* Within: the axis of smaller stride (last spatial axis planar, channels
 * interleaved) has unit stride in x, y (and g): the buffer passes can run in
 * contiguous runs. */
static inline int lrn_within_unit(const lrn_job *J, int planar)
{
    int d = planar ? J->ndim - 1 : 1;
    return J->xs[d] == 1 && J->ys[d] == 1 && (!J->backward || J->gs[d] == 1);
}

/* Across, packed: an array with unit stride along the pixels is used where it
 * is, one with unit stride along the channels goes through blocks transposed in
 * registers (lrn_kernels.h, F(pack)); any other element by element. */
static inline int lrn_pack_unit(ptrdiff_t sc, ptrdiff_t sp) { return sc == 1 || sp == 1; }

/* 1 when the kernels would read and write this job element by element: across,
 * packed with an array that has neither unit stride; within, no unit stride
 * shared by x, y (and g) along the axis the buffer runs over.  Python then runs
 * it on dense copies in blocks (lrn_fast/_api.py). */
static inline int lrn_gathers(const lrn_job *J)
{
    if (J->region == LRN_ACROSS)
        return lrn_across_mode(J) == LRN_MODE_PACK &&
               !(lrn_pack_unit(J->xs[1], J->xs[2]) && lrn_pack_unit(J->ys[1], J->ys[2]) &&
                 (!J->backward || lrn_pack_unit(J->gs[1], J->gs[2])));
    return !lrn_within_unit(J, lrn_within_planar(J));
}

/* Within, the last spatial axis summed by shifted sums over a zero-padded
 * buffer (windows up to LRN_CL_MAXN taps), else by running sums like the others. */
static inline int lrn_within_shifted(const lrn_job *J)
{
    return J->lo[J->ndim - 3] + J->hi[J->ndim - 3] + 1 <= LRN_CL_MAXN;
}

/* Values in one within-channel plane buffer for a chunk of cc channels: the
 * positions, n - 1 zero positions after every line of the last axis and in front
 * (when shifted), and a vector of slack at the end. */
static inline ptrdiff_t lrn_within_plane(const lrn_job *J, ptrdiff_t cc)
{
    ptrdiff_t P = 1, last = J->shape[J->ndim - 1];
    for (int d = 2; d < J->ndim; d++) P *= J->shape[d];
    if (!lrn_within_shifted(J)) return P * cc + 16;
    ptrdiff_t nl = J->lo[J->ndim - 3] + J->hi[J->ndim - 3] + 1;
    return 2 * (nl - 1) * cc + P / last * cc * (last + nl - 1) + 16;
}

/* Within over two spatial axes with windows of up to 16 taps along both, and
 * either planar with unit stride along the last axis and lines of at least
 * LRN_STREAM_MIN values, or interleaved with unit channel stride and at least
 * LRN_STREAM_MIN channels: the planes are streamed line by line, their row sums
 * kept in rings of rows (within_stream in lrn_kernels.h), instead of going through
 * buffered planes.  Decided from the job alone (never from the chunk of channels
 * or the target), so the bits never depend on the target or the threads. */
#define LRN_STREAM_MIN 16
static inline int lrn_within_stream(const lrn_job *J)
{
    if (J->ndim != 4 || J->lo[0] + J->hi[0] + 1 > LRN_CL_MAXN ||
        J->lo[1] + J->hi[1] + 1 > LRN_CL_MAXN)
        return 0;
    if (lrn_within_planar(J)) return lrn_within_unit(J, 1) && J->shape[3] >= LRN_STREAM_MIN;
    return lrn_within_unit(J, 0) && J->shape[1] >= LRN_STREAM_MIN;
}
/* values between neighbours along the last axis in a line buffer for a chunk of
 * cc channels: 1 planar (one channel a pass), cc interleaved */
static inline ptrdiff_t lrn_stream_unit(const lrn_job *J, ptrdiff_t cc)
{
    return lrn_within_planar(J) ? 1 : cc;
}
/* a line buffer and a row of the rings: the line rounded up to 16 values (whole
 * vectors on every target) */
static inline ptrdiff_t lrn_stream_pitch(const lrn_job *J, ptrdiff_t cc)
{
    return (J->shape[3] * lrn_stream_unit(J, cc) + 15) / 16 * 16;
}
/* zeros before and after each line buffer: the farthest shifted load, and a vector */
static inline ptrdiff_t lrn_stream_margin(const lrn_job *J, ptrdiff_t cc)
{
    ptrdiff_t e = J->lo[1] > J->hi[1] ? J->lo[1] : J->hi[1];
    return (e * lrn_stream_unit(J, cc) + 15) / 16 * 16 + 16;
}
/* its scratch in elements: four padded line buffers and the rings (row sums of
 * squares; backward: of r, self, and the row sums of squares and r without the centre) */
static inline ptrdiff_t lrn_stream_elems(const lrn_job *J, ptrdiff_t cc)
{
    ptrdiff_t Wv = lrn_stream_pitch(J, cc), M = lrn_stream_margin(J, cc);
    ptrdiff_t nh = J->lo[0] + J->hi[0] + 1;
    ptrdiff_t rows = nh + (J->backward ? 3 * nh + J->lo[0] + 2 : 0);
    return M + 4 * (Wv + M) + rows * Wv;
}

/* Per-target kernel: compute work item `item` of `job` using `work`
 * (job->work_bytes bytes, 64-byte aligned). */
typedef void (*lrn_item_fn)(const lrn_job *job, ptrdiff_t item, void *work);

/* One per compiled target (lrn_target_*.c). */
void lrn_item_baseline(const lrn_job *job, ptrdiff_t item, void *work);
void lrn_item_avx2(const lrn_job *job, ptrdiff_t item, void *work);
void lrn_item_avx512(const lrn_job *job, ptrdiff_t item, void *work);

/* Driver (lrn_driver.c). */
int lrn_plan(lrn_job *job, int nthreads);
/* Runs the job. nthreads <= 0: the OpenMP default (omp_get_max_threads()).
 * Returns 0, or -1 when scratch memory could not be allocated. */
int lrn_run(lrn_job *job, int nthreads);
int lrn_cpu_supports(int target);   /* 1 if this CPU can run target */
int lrn_target_compiled(int target);/* 1 if target was compiled in */
void lrn_set_target(int target);
int lrn_get_target(void);
const char *lrn_target_name(int target);
int lrn_openmp_enabled(void);
int lrn_max_threads(void);
double lrn_stream_above(void);   /* output bytes from which the strips stream (lrn_plan) */
/* Threads a call with this many work items and elements would use. */
int lrn_effective_threads(const lrn_job *job, int nthreads);
void lrn_after_fork_child(void);
int lrn_in_forked_child(void);
/* Threads the last lrn_run used (for tests; not synchronised). */
int lrn_last_team_size(void);

#endif
