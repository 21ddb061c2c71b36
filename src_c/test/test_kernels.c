/* C-level tests of the LRN kernels in src_c/, without Python.
 *
 * Every case fills small arrays, describes them with an lrn_job (lrn.h) and
 * runs lrn_run for every dispatch target this build and CPU have, with one
 * thread and (built with OpenMP) two.  Results are compared with a naive
 * direct-sum LRN written here in double precision (no running sums, no code
 * shared with the kernels), within a relative tolerance of 1e-5 (float) or
 * 1e-12 (double) of the magnitude of the terms; a few results are also
 * compared with literals computed by lrn_fast.reference (see `known`).
 *
 * Build (from the repository root), e.g.
 *   gcc -std=c99 -O3 -fno-math-errno -fno-trapping-math -ffp-contract=off -fopenmp -Isrc_c \
 *       src_c/test/test_kernels.c src_c/lrn_driver.c src_c/lrn_target_*.c -lm
 * Usage: test_kernels [-v] [GROUP ...]   (groups: known across within big
 * negbase nonfinite; default all).  LRN_TEST_SKIP=g1,g2 skips groups.
 * The last line is "N passed, N failed"; the exit status is 1 on any failure.
 */
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lrn.h"

#define MAXD 5   /* dimensions used here: (N, C) + up to 3 spatial axes */

static int n_pass, n_fail, n_reported, verbose;

/* ---- small helpers ---------------------------------------------------------- */

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;

static double urand(void)   /* uniform in [0, 1), xorshift64 */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static double get(const void *buf, int dtype, ptrdiff_t i)
{
    return dtype == LRN_FLOAT32 ? (double)((const float *)buf)[i] : ((const double *)buf)[i];
}

static void set(void *buf, int dtype, ptrdiff_t i, double v)
{
    if (dtype == LRN_FLOAT32)
        ((float *)buf)[i] = (float)v;
    else
        ((double *)buf)[i] = v;
}

static int same_value(double a, double b)   /* bitwise-equal doubles (NaN == NaN) */
{
    return memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b);
}

static void check(int ok, const char *what)
{
    if (ok)
        n_pass++;
    else
        n_fail++;
    if (!ok || verbose > 1) printf("%s: %s\n", ok ? "ok" : "FAIL", what);
}

/* ---- a test case ------------------------------------------------------------ */

enum { LAY_C = 0,        /* C order: inner / spatial stride 1 (NCHW-like) */
       LAY_LAST = 1,     /* channels last: channel stride 1 (NHWC-like) */
       LAY_REV = 2 };    /* C order, last axis reversed with stride -2 (gaps between) */
static const char *lay_name[] = {"C-order", "channels-last", "reversed-strided"};

typedef struct {
    const char *group;
    int region, backward, dtype;
    int ndim;
    ptrdiff_t shape[MAXD];    /* across: (outer, C, inner); within: (N, C, spatial...) */
    ptrdiff_t before, after;  /* window taps (the same on every spatial axis) */
    double alpha_d, beta, k;
    int pow_mode, parity;
    int xlay, ylay;           /* layouts of x (and g) and of y */
    int alias;                /* 0: y separate, 1: y is x, 2: y is g (backward) */
    int check_team;           /* with 2 threads, expect lrn_last_team_size() == 2 */
    const double *xvals, *gvals;   /* fixed inputs (logical C order), or NULL: random */
    const double *expect;          /* known results (logical C order), or NULL */
} tcase;

typedef struct {
    ptrdiff_t st[MAXD];   /* strides in elements */
    ptrdiff_t base;       /* buffer offset of element (0, 0, ...) */
    ptrdiff_t size;       /* buffer length in elements, gaps included */
} layout;

static void make_layout(layout *L, int kind, int ndim, const ptrdiff_t *shape)
{
    int perm[MAXD];   /* axes from outermost to innermost in memory */
    for (int d = 0; d < ndim; d++) perm[d] = d;
    if (kind == LAY_LAST) {
        for (int d = 1; d < ndim - 1; d++) perm[d] = d + 1;
        perm[ndim - 1] = 1;
    }
    ptrdiff_t acc = kind == LAY_REV ? 2 : 1;
    for (int i = ndim - 1; i >= 0; i--) {
        L->st[perm[i]] = acc;
        acc *= shape[perm[i]];
    }
    L->size = acc;
    L->base = 0;
    if (kind == LAY_REV) {
        int a = ndim - 1;
        L->base = (shape[a] - 1) * L->st[a];
        L->st[a] = -L->st[a];
    }
}

static ptrdiff_t nelems(const tcase *tc)
{
    ptrdiff_t n = 1;
    for (int d = 0; d < tc->ndim; d++) n *= tc->shape[d];
    return n;
}

/* buffer offsets of every logical element, in C order */
static void offsets(const layout *L, const tcase *tc, ptrdiff_t *off)
{
    ptrdiff_t n = nelems(tc);
    for (ptrdiff_t i = 0; i < n; i++) {
        ptrdiff_t rem = i, o = L->base;
        for (int d = tc->ndim - 1; d >= 0; d--) {
            o += (rem % tc->shape[d]) * L->st[d];
            rem /= tc->shape[d];
        }
        off[i] = o;
    }
}

static void describe(const tcase *tc, char *buf, size_t len)
{
    char shp[96];
    int p = 0;
    for (int d = 0; d < tc->ndim; d++)
        p += snprintf(shp + p, sizeof shp - (size_t)p, "%s%td", d ? "x" : "", tc->shape[d]);
    snprintf(buf, len,
             "[%s] %s %s %s shape %s window (%td,%td) alpha/D %g beta %g (mode %d parity %d) "
             "k %g x %s y %s%s",
             tc->group, tc->region == LRN_ACROSS ? "across" : "within",
             tc->backward ? "backward" : "forward", tc->dtype == LRN_FLOAT32 ? "float" : "double",
             shp, tc->before, tc->after, tc->alpha_d, tc->beta, tc->pow_mode, tc->parity, tc->k,
             lay_name[tc->xlay], lay_name[tc->ylay],
             tc->alias == 1 ? " (y is x)" : tc->alias == 2 ? " (y is g)" : "");
}

/* ---- the naive reference, in double ------------------------------------------
 * Window along axis a: [i - before, i + after], skipping positions outside the
 * axis.  across sums over axis 1, within over every axis from 2 on. */

typedef struct {
    const tcase *tc;
    const double *v;
    ptrdiff_t cst[MAXD];   /* C-order strides of the logical arrays */
    ptrdiff_t idx[MAXD];
    int axes[MAXD], na;
    int square;
    double sum, asum;
} boxsum;

static void box_rec(boxsum *b, int level, ptrdiff_t off, ptrdiff_t lo, ptrdiff_t hi)
{
    if (level == b->na) {
        double w = b->v[off];
        if (b->square) w = w * w;
        b->sum += w;
        b->asum += fabs(w);
        return;
    }
    int a = b->axes[level];
    for (ptrdiff_t o = -lo; o <= hi; o++) {
        ptrdiff_t j = b->idx[a] + o;
        if (j < 0 || j >= b->tc->shape[a]) continue;
        box_rec(b, level + 1, off + o * b->cst[a], lo, hi);
    }
}

/* sum of v (squared if square) over the box [-lo, hi] around element i */
static double box(boxsum *b, const double *v, int square, ptrdiff_t i,
                  ptrdiff_t lo, ptrdiff_t hi, double *asum)
{
    ptrdiff_t rem = i;
    for (int d = b->tc->ndim - 1; d >= 0; d--) {
        b->idx[d] = rem % b->tc->shape[d];
        rem /= b->tc->shape[d];
    }
    b->v = v;
    b->square = square;
    b->sum = b->asum = 0.0;
    box_rec(b, 0, i, lo, hi);
    if (asum) *asum = b->asum;
    return b->sum;
}

/* y = lrn(x) or dx = lrn_backward(g, x); mag[i]: sum of the magnitudes of the terms */
static void naive(const tcase *tc, const double *x, const double *g, double *y, double *mag)
{
    ptrdiff_t n = nelems(tc);
    boxsum b;
    memset(&b, 0, sizeof b);
    b.tc = tc;
    ptrdiff_t acc = 1;
    for (int d = tc->ndim - 1; d >= 0; d--) {
        b.cst[d] = acc;
        acc *= tc->shape[d];
    }
    if (tc->region == LRN_ACROSS) {
        b.axes[0] = 1;
        b.na = 1;
    }
    else {
        for (int d = 2; d < tc->ndim; d++) b.axes[b.na++] = d;
    }
    double *s = xmalloc((size_t)n * sizeof *s);
    double *r = xmalloc((size_t)n * sizeof *r);
    for (ptrdiff_t i = 0; i < n; i++) {
        s[i] = tc->k + tc->alpha_d * box(&b, x, 1, i, tc->before, tc->after, NULL);
        double t = pow(s[i], -tc->beta);
        y[i] = x[i] * t;
        mag[i] = fabs(y[i]);
    }
    if (tc->backward) {
        double coef = 2.0 * tc->alpha_d * tc->beta;
        for (ptrdiff_t i = 0; i < n; i++) r[i] = g[i] * y[i] / s[i];
        for (ptrdiff_t i = 0; i < n; i++) {
            double asum, t = pow(s[i], -tc->beta);
            /* the transposed window: j with i in [j - before, j + after] */
            double back = box(&b, r, 0, i, tc->after, tc->before, &asum);
            y[i] = g[i] * t - coef * x[i] * back;
            mag[i] = fabs(g[i] * t) + fabs(coef * x[i]) * asum;
        }
    }
    free(s);
    free(r);
}

/* ---- running one case on every target and thread count ----------------------- */

static int close_enough(double got, double want, double mag, double tol)
{
    if (want != want) return got != got;
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol * mag;   /* false for a NaN or inf got */
}

static void run_case(const tcase *tc)
{
    char desc[400], what[600];
    describe(tc, desc, sizeof desc);
    int dt = tc->dtype;
    size_t esz = dt == LRN_FLOAT32 ? 4 : 8;
    double tol = dt == LRN_FLOAT32 ? 1e-5 : 1e-12;
    ptrdiff_t n = nelems(tc);
    layout lx, ly;
    make_layout(&lx, tc->xlay, tc->ndim, tc->shape);
    make_layout(&ly, tc->alias ? tc->xlay : tc->ylay, tc->ndim, tc->shape);
    ptrdiff_t *ox = xmalloc((size_t)n * sizeof *ox), *oy = xmalloc((size_t)n * sizeof *oy);
    offsets(&lx, tc, ox);
    offsets(&ly, tc, oy);

    /* logical inputs, rounded to the element type */
    double *x = xmalloc((size_t)n * sizeof *x), *g = xmalloc((size_t)n * sizeof *g);
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = tc->xvals ? tc->xvals[i] : 4.0 * urand() - 2.0;
        g[i] = tc->gvals ? tc->gvals[i] : 4.0 * urand() - 2.0;
        if (dt == LRN_FLOAT32) {
            x[i] = (double)(float)x[i];
            g[i] = (double)(float)g[i];
        }
    }
    double *want = xmalloc((size_t)n * sizeof *want), *mag = xmalloc((size_t)n * sizeof *mag);
    naive(tc, x, g, want, mag);
    if (tc->expect) {   /* the naive sums against lrn_fast.reference's literals */
        ptrdiff_t bad = -1;
        for (ptrdiff_t i = 0; i < n && bad < 0; i++)
            if (!close_enough(want[i], tc->expect[i], mag[i], 1e-13)) bad = i;
        snprintf(what, sizeof what, "%s: naive sums vs lrn_fast.reference%s", desc,
                 bad < 0 ? "" : " (the test's own oracle disagrees)");
        check(bad < 0, what);
        if (bad >= 0)
            printf("    element %td: naive %.17g, reference %.17g\n", bad, want[bad], tc->expect[bad]);
    }

    /* physical buffers: pristine copies, and working copies refilled per run */
    char *xb0 = xmalloc((size_t)lx.size * esz), *gb0 = xmalloc((size_t)lx.size * esz);
    char *xb = xmalloc((size_t)lx.size * esz), *gb = xmalloc((size_t)lx.size * esz);
    char *yb = xmalloc((size_t)ly.size * esz);
    const double sentinel = 12345.5;
    for (ptrdiff_t i = 0; i < lx.size; i++) {
        set(xb0, dt, i, sentinel);
        set(gb0, dt, i, sentinel);
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        set(xb0, dt, ox[i], x[i]);
        set(gb0, dt, ox[i], g[i]);
    }
    /* first: the one-thread result of the current target; more threads must
     * give the same bits (targets may differ in the last ulp) */
    double *first = xmalloc((size_t)n * sizeof *first), *got = xmalloc((size_t)n * sizeof *got);
    int identical = 1;
    char differ[200] = "";

    int threads[2] = {1, 2}, nthr = lrn_openmp_enabled() ? 2 : 1;
    for (int target = 0; target < LRN_NTARGETS; target++) {
        if (!lrn_target_compiled(target) || !lrn_cpu_supports(target)) continue;
        lrn_set_target(target);
        for (int ti = 0; ti < nthr; ti++) {
            memcpy(xb, xb0, (size_t)lx.size * esz);
            memcpy(gb, gb0, (size_t)lx.size * esz);
            char *ybuf = tc->alias == 1 ? xb : tc->alias == 2 ? gb : yb;
            if (!tc->alias)
                for (ptrdiff_t i = 0; i < ly.size; i++) set(yb, dt, i, sentinel);
            lrn_job J;
            memset(&J, 0, sizeof J);
            J.dtype = dt;
            J.region = tc->region;
            J.backward = tc->backward;
            J.x = xb + (size_t)lx.base * esz;
            J.g = tc->backward ? (const void *)(gb + (size_t)lx.base * esz) : NULL;
            J.y = ybuf + (size_t)ly.base * esz;
            J.ndim = tc->ndim;
            for (int d = 0; d < tc->ndim; d++) {
                J.shape[d] = tc->shape[d];
                J.xs[d] = lx.st[d];
                J.gs[d] = tc->backward ? lx.st[d] : 0;
                J.ys[d] = ly.st[d];
            }
            if (tc->region == LRN_ACROSS) {   /* clipped to the axis, as lrn_run wants */
                ptrdiff_t C = tc->shape[1];
                J.lo[0] = tc->before < C - 1 ? tc->before : C - 1;
                J.hi[0] = tc->after < C - 1 ? tc->after : C - 1;
            }
            else {
                for (int d = 2; d < tc->ndim; d++) {
                    ptrdiff_t L = tc->shape[d];
                    J.lo[d - 2] = tc->before < L - 1 ? tc->before : L - 1;
                    J.hi[d - 2] = tc->after < L - 1 ? tc->after : L - 1;
                }
            }
            J.alpha_d = tc->alpha_d;
            J.beta = tc->beta;
            J.k = tc->k;
            J.pow_mode = tc->pow_mode;
            J.beta_parity = tc->parity;

            int rc = lrn_run(&J, threads[ti]);
            int team = lrn_last_team_size();
            ptrdiff_t bad = -1, bad_known = -1, bad_pad = -1, bad_in = -1;
            double worst = 0.0;
            for (ptrdiff_t i = 0; i < n; i++) {
                got[i] = get(ybuf, dt, oy[i]);
                if (!close_enough(got[i], want[i], mag[i], tol)) {
                    if (bad < 0) bad = i;
                }
                else if (mag[i] > 0 && want[i] == want[i] && !isinf(want[i])) {
                    double e = fabs(got[i] - want[i]) / (tol * mag[i]);
                    if (e > worst) worst = e;
                }
                if (tc->expect && bad_known < 0 && !close_enough(got[i], tc->expect[i], mag[i], tol))
                    bad_known = i;
                if (ti > 0 && !same_value(got[i], first[i]) && identical) {
                    identical = 0;
                    snprintf(differ, sizeof differ, "%s, element %td: %.9g with 1 thread, %.9g with %d",
                             lrn_target_name(target), i, first[i], got[i], threads[ti]);
                }
            }
            /* gaps of y untouched; x and g unchanged (unless y is one of them) */
            if (!tc->alias) {
                char *mark = xmalloc((size_t)ly.size);
                memset(mark, 0, (size_t)ly.size);
                for (ptrdiff_t i = 0; i < n; i++) mark[oy[i]] = 1;
                for (ptrdiff_t i = 0; i < ly.size && bad_pad < 0; i++)
                    if (!mark[i] && get(yb, dt, i) != sentinel) bad_pad = i;
                free(mark);
            }
            if (tc->alias != 1 && memcmp(xb, xb0, (size_t)lx.size * esz) != 0) bad_in = 0;
            if (tc->backward && tc->alias != 2 && memcmp(gb, gb0, (size_t)lx.size * esz) != 0)
                bad_in = 1;
            if (ti == 0) memcpy(first, got, (size_t)n * sizeof *got);
            snprintf(what, sizeof what, "%s on %s, %d thread(s)", desc, lrn_target_name(target),
                     threads[ti]);
            int ok = rc == 0 && lrn_get_target() == target && bad < 0 && bad_known < 0 &&
                     bad_pad < 0 && bad_in < 0;
            if (verbose && ok) printf("ok: %s (worst error %.3g of the tolerance)\n", what, worst);
            check(ok, what);
            if (!ok && n_reported++ < 40) {
                if (rc != 0) printf("    lrn_run returned %d\n", rc);
                if (lrn_get_target() != target)
                    printf("    lrn_set_target(%d) left target %d\n", target, lrn_get_target());
                if (bad >= 0)
                    printf("    element %td: got %.17g, want %.17g (tolerance %.3g)\n", bad,
                           got[bad], want[bad], tol * mag[bad]);
                if (bad_known >= 0)
                    printf("    element %td: got %.17g, lrn_fast.reference %.17g\n", bad_known,
                           got[bad_known], tc->expect[bad_known]);
                if (bad_pad >= 0) printf("    y buffer offset %td outside the array was written\n", bad_pad);
                if (bad_in >= 0) printf("    input %s was modified\n", bad_in ? "g" : "x");
            }
            if (tc->check_team && threads[ti] == 2) {
                snprintf(what, sizeof what, "%s on %s: 2 threads requested, %d used", desc,
                         lrn_target_name(target), team);
                check(team == 2, what);
            }
        }
    }
    if (nthr > 1) {
        snprintf(what, sizeof what, "%s: 1 and 2 threads bitwise identical on every target", desc);
        check(identical, what);
        if (!identical && n_reported++ < 40) printf("    %s\n", differ);
    }
    free(ox); free(oy); free(x); free(g); free(want); free(mag);
    free(xb0); free(gb0); free(xb); free(gb); free(yb); free(first); free(got);
}

/* ---- the groups of cases ----------------------------------------------------- */

typedef struct { double beta; int mode; } beta_mode;

/* the fast paths, the generic path (also for a fast-path value), even and odd integers */
static const beta_mode betas[] = {
    {0.75, LRN_POW_075}, {0.5, LRN_POW_05}, {1.0, LRN_POW_1}, {0.6, LRN_POW_GENERIC},
    {2.0, LRN_POW_GENERIC}, {0.75, LRN_POW_GENERIC}, {3.0, LRN_POW_GENERIC},
};
#define NBETAS ((int)(sizeof betas / sizeof betas[0]))

static int parity_of(double beta)
{
    if (beta != floor(beta)) return 0;
    return fmod(beta, 2.0) == 0.0 ? 1 : 2;
}

static void set_beta(tcase *tc, int bi)
{
    tc->beta = betas[bi].beta;
    tc->pow_mode = betas[bi].mode;
    tc->parity = parity_of(tc->beta);
}

static void set_shape(tcase *tc, int ndim, const ptrdiff_t *shape)
{
    tc->ndim = ndim;
    for (int d = 0; d < ndim; d++) tc->shape[d] = shape[d];
}

/* every dtype x direction x layout x window x beta, rotating through shapes,
 * y layouts and aliasing so that all of them meet all the others somewhere */
static void sweep(const char *group, int region, int nshapes, const int *ndims,
                  const ptrdiff_t (*shapes)[MAXD], int nwin, const ptrdiff_t (*wins)[2],
                  double alpha_d, double k)
{
    int counter = 0;
    for (int dt = 0; dt < 2; dt++)
        for (int bwd = 0; bwd < 2; bwd++)
            for (int lay = 0; lay < 3; lay++)
                for (int w = 0; w < nwin; w++)
                    for (int bi = 0; bi < NBETAS; bi++, counter++) {
                        tcase tc;
                        memset(&tc, 0, sizeof tc);
                        tc.group = group;
                        tc.region = region;
                        tc.backward = bwd;
                        tc.dtype = dt;
                        int si = (counter + lay + w) % nshapes;
                        set_shape(&tc, ndims[si], shapes[si]);
                        tc.before = wins[w][0];
                        tc.after = wins[w][1];
                        tc.alpha_d = alpha_d;
                        tc.k = k;
                        set_beta(&tc, bi);
                        tc.xlay = lay;
                        tc.ylay = counter % 4 == 3 ? (lay + 1) % 3 : lay;
                        tc.alias = counter % 5 == 1 ? 1 : (bwd && counter % 5 == 2) ? 2 : 0;
                        run_case(&tc);
                    }
}

/* (before, after); up to 16 taps the across kernel has a channels-last path
 * (LRN_CL_MAXN), past it another: (8, 7) and (9, 8) sit on both sides */
static const ptrdiff_t wins[][2] = {
    {2, 2}, {1, 1}, {2, 1}, {1, 2}, {0, 0}, {0, 3}, {3, 0}, {5, 5}, {4, 3}, {8, 7}, {9, 8},
};
#define NWINS ((int)(sizeof wins / sizeof wins[0]))

static void group_across(void)
{
    static const ptrdiff_t shapes[][MAXD] = {{2, 11, 37}, {3, 4, 5}, {1, 1, 9}, {2, 16, 300}, {1, 7, 1}};
    static const int ndims[] = {3, 3, 3, 3, 3};
    sweep("across", LRN_ACROSS, 5, ndims, shapes, NWINS, wins, 0.3, 1.5);
}

static void group_within(void)
{
    static const ptrdiff_t shapes[][MAXD] = {
        {2, 3, 9}, {2, 5, 6, 7}, {1, 3, 4, 5, 3}, {2, 2, 1, 8}, {1, 70, 3, 4},
        {2, 3, 6, 19},     /* lines of 16 or more: planes streamed row by row */
    };
    static const int ndims[] = {3, 4, 5, 4, 4, 4};
    sweep("within", LRN_WITHIN, 6, ndims, shapes, NWINS, wins, 0.05, 1.5);
}

/* inputs big enough for two threads (>= 32768 elements), several tiles */
static void group_big(void)
{
    static const ptrdiff_t shapes[][MAXD] = {{2, 16, 2100}, {2, 8, 48, 48}, {1, 70, 30, 17}};
    static const int ndims[] = {3, 4, 4};
    static const int regions[] = {LRN_ACROSS, LRN_WITHIN, LRN_WITHIN};
    static const ptrdiff_t bw[][2] = {{2, 2}, {2, 1}};
    for (int s = 0; s < 3; s++)
        for (int dt = 0; dt < 2; dt++)
            for (int bwd = 0; bwd < 2; bwd++)
                for (int lay = 0; lay < 3; lay++)
                    for (int w = 0; w < 2; w++) {
                        tcase tc;
                        memset(&tc, 0, sizeof tc);
                        tc.group = "big";
                        tc.region = regions[s];
                        tc.backward = bwd;
                        tc.dtype = dt;
                        set_shape(&tc, ndims[s], shapes[s]);
                        tc.before = bw[w][0];
                        tc.after = bw[w][1];
                        tc.alpha_d = regions[s] == LRN_ACROSS ? 0.3 : 0.05;
                        tc.k = 1.0;
                        set_beta(&tc, w ? 3 : 0);   /* 0.6 generic, 0.75 fast */
                        tc.xlay = tc.ylay = lay;
                        tc.check_team = 1;
                        run_case(&tc);
                    }
}

/* k < 0 makes the base negative: NaN for non-integer beta, the sign rule of pow
 * for integer beta (even: positive, odd: negative) */
static void group_negbase(void)
{
    static const ptrdiff_t shapes[][MAXD] = {{2, 9, 13}, {1, 3, 5, 6}};
    static const int ndims[] = {3, 4};
    static const int regions[] = {LRN_ACROSS, LRN_WITHIN};
    for (int s = 0; s < 2; s++)
        for (int dt = 0; dt < 2; dt++)
            for (int bwd = 0; bwd < 2; bwd++)
                for (int bi = 0; bi < NBETAS; bi++) {
                    tcase tc;
                    memset(&tc, 0, sizeof tc);
                    tc.group = "negbase";
                    tc.region = regions[s];
                    tc.backward = bwd;
                    tc.dtype = dt;
                    set_shape(&tc, ndims[s], shapes[s]);
                    tc.before = 2;
                    tc.after = 1;
                    tc.alpha_d = 0.01;
                    tc.k = -3.0;
                    set_beta(&tc, bi);
                    tc.xlay = tc.ylay = bi % 3;
                    run_case(&tc);
                }
}

/* NaN and inf in x: only the outputs whose window holds them may change
 * (the running sums must not carry them past the window). */
static void group_nonfinite(void)
{
    static const ptrdiff_t shapes[][MAXD] = {{1, 12, 3}, {1, 2, 9, 7}};
    static const int ndims[] = {3, 4};
    static const int regions[] = {LRN_ACROSS, LRN_WITHIN};
    for (int s = 0; s < 2; s++)
        for (int dt = 0; dt < 2; dt++)
            for (int bwd = 0; bwd < 2; bwd++)
                for (int bi = 0; bi < NBETAS; bi++)
                    for (int lay = 0; lay < 2; lay++) {
                        tcase tc;
                        memset(&tc, 0, sizeof tc);
                        tc.group = "nonfinite";
                        tc.region = regions[s];
                        tc.backward = bwd;
                        tc.dtype = dt;
                        set_shape(&tc, ndims[s], shapes[s]);
                        tc.before = 1;
                        tc.after = 1;
                        tc.alpha_d = 0.3;
                        tc.k = 1.0;
                        set_beta(&tc, bi);
                        tc.xlay = tc.ylay = lay;
                        ptrdiff_t n = nelems(&tc);
                        double *xv = xmalloc((size_t)n * sizeof *xv);
                        double *gv = xmalloc((size_t)n * sizeof *gv);
                        for (ptrdiff_t i = 0; i < n; i++) {
                            xv[i] = 4.0 * urand() - 2.0;
                            gv[i] = 4.0 * urand() - 2.0;
                        }
                        xv[n / 8] = NAN;           /* early: must not reach the end */
                        xv[n / 2 + 1] = INFINITY;
                        xv[n - 2] = -INFINITY;
                        tc.xvals = xv;
                        tc.gvals = gv;
                        run_case(&tc);
                        free(xv);
                        free(gv);
                    }
}

/* ---- known values ------------------------------------------------------------
 * Computed independently with lrn_fast.reference (float64 NumPy, direct sums)
 * by src_c/test/gen_known_values.py, whose output is pasted here:
 *   PYTHONPATH=. python src_c/test/gen_known_values.py
 * Inputs are the first N values of KX and KG (exact in float and double). */
static const double KX[12] = {0.5, -1.0, 1.5, 2.0, -2.5, 3.0, 0.25, -0.75, 1.25, -1.75, 2.25, -0.5};
static const double KG[12] = {1.0, -0.5, 0.25, 2.0, -1.5, 0.75, -1.25, 0.5, 1.5, -2.0, 0.125, 1.75};

typedef struct {
    const char *name;
    int region, backward, ndim;
    ptrdiff_t shape[MAXD];
    ptrdiff_t before, after;
    int size;
    double alpha, beta, k;
    double y[12];
} known_case;

static const known_case known[] = {
    {"across fwd n=5 beta=0.75", LRN_ACROSS, 0, 3, {1, 6, 2, 1, 1}, 2, 2, 5, 2.0, 0.75, 1.0,
     {0.16183059056910781, -0.24285220348909603, 0.48347867296290092, 0.47364505105464533,
      -0.73128150022538041, 0.62773211003259455, 0.057629542982466787, -0.16146744994265394,
      0.31910403189437558, -0.44810698313800362, 0.84769478334273474, -0.24777921289260996}},
    {"across fwd n=4 beta=0.6", LRN_ACROSS, 0, 3, {2, 6, 1, 1, 1}, 2, 1, 4, 1.5, 0.6, 2.0,
     {0.29072590864575121, -0.48742350445869098, 0.58434430199750242, 0.61894907632967555,
      -0.62562842539383845, 0.79125785087509892, 0.15432858369066818, -0.40260848555946555,
      0.54666059211357232, -0.6067685631193932, 0.78967086527829922, -0.18722353887247095}},
    {"across fwd window(0,2) beta=0.5", LRN_ACROSS, 0, 3, {1, 12, 1, 1, 1}, 0, 2, 3, 1.0, 0.5, 1.0,
     {0.33968311024337872, -0.54100178080045935, 0.65991201759608986, 0.73438807363452552,
      -1.0118748860323272, 1.4624000346642976, 0.19011727515734339, -0.45398994507478641,
      0.60783067385483092, -0.89871703427291705, 1.351690670668749, -0.48038446141526142}},
    {"across bwd n=3 beta=0.75", LRN_ACROSS, 1, 3, {1, 6, 2, 1, 1}, 1, 1, 3, 2.0, 0.75, 1.0,
     {0.42778940647621227, -0.060894579043021882, -0.29626474366965294, 0.056409511217265285,
      -0.023748124833845807, -0.16547663329540568, -0.37064096335021107, 0.39852063264968024,
      0.29733497827832589, -0.3236736914948965, -0.21413369941161209, 0.86064027403052346}},
    {"across bwd n=4 beta=2", LRN_ACROSS, 1, 3, {1, 12, 1, 1, 1}, 2, 1, 4, 0.5, 2.0, 1.5,
     {0.31337002465758362, 0.03090648189155018, -0.15983867551569889, -0.04115186057801179,
      0.17035532274222398, -0.049752225862317472, -0.12817830735004926, 0.18211373206778322,
      0.10515196928232515, 0.013035460441651436, -0.12215700118133946, 0.2599568609555189}},
    {"within fwd 3x4 n=3 beta=0.5", LRN_WITHIN, 0, 4, {1, 1, 3, 4, 1}, 1, 1, 3, 1.0, 0.5, 1.0,
     {0.29704426289300229, -0.56885455576797272, 0.88465173692938281, 1.5058939323315805,
      -1.3664625560228307, 1.4696938456699069, 0.12815364865751414, -0.48881290193421162,
      0.69786315779885322, -0.90036757199817152, 1.299038105676658, -0.3881077364118905}},
    {"within bwd 3x4 n=2 beta=1", LRN_WITHIN, 1, 4, {1, 1, 3, 4, 1}, 1, 0, 2, 3.0, 1.0, 1.0,
     {0.38536337055897868, 0.0037216859622549725, -0.24792918050209309, 0.010362498220899685,
      0.40058521052720802, -0.055908434129414611, -0.10682033030624662, 0.036983659035037642,
      0.11802156833859406, -0.085597477577349618, 0.10338888457589721, 0.29884812111559017}},
    {"within bwd 12 n=4 beta=0.6", LRN_WITHIN, 1, 3, {1, 1, 12, 1, 1}, 2, 1, 4, 2.0, 0.6, 1.0,
     {0.63928084859418566, 0.034153571741369237, -0.2203809122265159, 0.21832433418445646,
      0.056216416306609229, 0.0083812086591952828, -0.37520065037912109, 0.34292210836487474,
      0.37070055780540567, -0.27015213003078575, -0.15421664630901458, 0.63771769267835587}},
};

static void group_known(void)
{
    for (size_t c = 0; c < sizeof known / sizeof known[0]; c++)
        for (int dt = 0; dt < 2; dt++) {
            const known_case *kc = &known[c];
            tcase tc;
            memset(&tc, 0, sizeof tc);
            tc.group = kc->name;
            tc.region = kc->region;
            tc.backward = kc->backward;
            tc.dtype = dt;
            set_shape(&tc, kc->ndim, kc->shape);
            tc.before = kc->before;
            tc.after = kc->after;
            double divisor = kc->region == LRN_ACROSS ? kc->size : pow(kc->size, kc->ndim - 2);
            tc.alpha_d = kc->alpha / divisor;
            tc.beta = kc->beta;
            tc.k = kc->k;
            tc.pow_mode = kc->beta == 0.75 ? LRN_POW_075 : kc->beta == 0.5 ? LRN_POW_05
                        : kc->beta == 1.0 ? LRN_POW_1 : LRN_POW_GENERIC;
            tc.parity = parity_of(kc->beta);
            tc.xvals = KX;
            tc.gvals = KG;
            tc.expect = kc->y;
            run_case(&tc);
        }
}

/* ---- main ---------------------------------------------------------------------- */

typedef struct { const char *name; void (*fn)(void); } group;

static const group groups[] = {
    {"known", group_known}, {"across", group_across}, {"within", group_within},
    {"big", group_big}, {"negbase", group_negbase}, {"nonfinite", group_nonfinite},
};

static int listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int nsel = 0;
    const char *sel[16];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose++;
        else if (nsel < 16)
            sel[nsel++] = argv[i];
    }
    const char *skip = getenv("LRN_TEST_SKIP");
    printf("lrn kernels: OpenMP %s, max threads %d; targets:", lrn_openmp_enabled() ? "on" : "off",
           lrn_max_threads());
    for (int t = 0; t < LRN_NTARGETS; t++)
        printf(" %s%s", lrn_target_name(t),
               !lrn_target_compiled(t) ? " (not compiled)" : !lrn_cpu_supports(t) ? " (CPU lacks)" : "");
    printf("\n");
    for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
        int run = nsel == 0;
        for (int i = 0; i < nsel; i++)
            if (strcmp(sel[i], groups[gi].name) == 0) run = 1;
        if (!run) continue;
        if (listed(skip, groups[gi].name)) {
            printf("group %s: skipped (LRN_TEST_SKIP)\n", groups[gi].name);
            continue;
        }
        int p0 = n_pass, f0 = n_fail;
        groups[gi].fn();
        printf("group %s: %d passed, %d failed\n", groups[gi].name, n_pass - p0, n_fail - f0);
    }
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
