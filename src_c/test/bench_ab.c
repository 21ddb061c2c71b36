/* Two builds of the kernels timed against each other in one process: lrn_run of
 * build A and B_lrn_run of build B (the same sources renamed by bench_ab.sh), called
 * alternately on the same data, best and first-quartile times of each.  Between
 * processes, this machine's timings of the same build vary by 10-30% (memory
 * placement, the neighbours of a shared VM); alternated in one process, two
 * identical builds agree within about 1.5%.  Across-channel NCHW, SIZE taps (5
 * unless given; the PyTorch window), k 1 and alpha 1e-4 unless given, data in
 * [-1, 1), buffers
 * 2 MiB-aligned with transparent huge pages asked for (as numpy does for large arrays) and numpy's 16-byte offset.
 *
 * Usage (bench_ab.sh builds and runs it):
 *   [LRN_AB_TARGET=AVX2|baseline] [LRN_AB_LAYOUT=xgy] bench_ab N C HW [fwd|bwd] [beta] [threads] [reps] [f32|f64] [SIZE] [K ALPHA]
 * With k 1 and alpha 1e-4 every window's s is within 1e-4 of 1, where two power
 * functions of similar accuracy mostly round to the same float; K 0.01 ALPHA 10 spreads
 * s over several octaves, so that "same bits" also speaks for the power.
 * LRN_AB_LAYOUT gives the memory order of x, g and y, each c (NCHW, the default)
 * or h (NHWC): "hhh" channels-last, "hcc" an NHWC x with NCHW grad and output.
 * Prints the two times, B/A and whether the results are bitwise equal.  Both builds
 * run the best target this CPU has, or the one LRN_AB_TARGET names. */
#define _DEFAULT_SOURCE
#define _ISOC11_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include "lrn.h"

int B_lrn_run(lrn_job *job, int nthreads);
void B_lrn_set_target(int target);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

static void *buffer(size_t bytes)
{
    size_t al = (size_t)2 << 20, sz = (bytes + 64 + al - 1) / al * al;
    char *p = aligned_alloc(al, sz);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    madvise(p, sz, MADV_HUGEPAGE);
    return p + 16;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s N C HW [fwd|bwd] [beta] [threads] [reps] [f32|f64] [size] [k alpha]\n",
                argv[0]);
        return 2;
    }
    long N = atol(argv[1]), C = atol(argv[2]), M = atol(argv[3]);
    int bwd = argc > 4 && strcmp(argv[4], "bwd") == 0;
    double beta = argc > 5 ? atof(argv[5]) : 0.75;
    int nth = argc > 6 ? atoi(argv[6]) : 1, reps = argc > 7 ? atoi(argv[7]) : 30;
    int f64 = argc > 8 && strcmp(argv[8], "f64") == 0;
    long size = argc > 9 ? atol(argv[9]) : 5;
    double k = argc > 10 ? atof(argv[10]) : 1.0, alpha = argc > 11 ? atof(argv[11]) : 1e-4;
    size_t n = (size_t)N * C * M, esz = f64 ? 8 : 4;
    if (reps < 1 || reps > 10000) reps = 30;
    const char *tn = getenv("LRN_AB_TARGET");
    if (tn && *tn) {
        int t = strcmp(tn, "AVX2") == 0 ? LRN_TARGET_AVX2
                : strcmp(tn, "baseline") == 0 ? LRN_TARGET_BASELINE : -1;
        if (t < 0) {
            fprintf(stderr, "LRN_AB_TARGET: AVX2 or baseline, not %s\n", tn);
            return 2;
        }
        lrn_set_target(t);
        B_lrn_set_target(t);
    }
    char *x = buffer(n * esz), *g = buffer(n * esz), *ya = buffer(n * esz), *yb = buffer(n * esz);
    for (size_t i = 0; i < n; i++) {
        double xv = (double)((i * 2654435761u) % 1000) / 500 - 1, gv = (double)((i * 40503u) % 1000) / 500 - 1;
        if (f64) { ((double *)x)[i] = xv; ((double *)g)[i] = gv; }
        else { ((float *)x)[i] = (float)xv; ((float *)g)[i] = (float)gv; }
    }
    memset(ya, 0, n * esz);
    memset(yb, 0, n * esz);
    lrn_job A;
    memset(&A, 0, sizeof A);
    A.dtype = f64 ? LRN_FLOAT64 : LRN_FLOAT32;
    A.region = LRN_ACROSS;
    A.backward = bwd;
    A.x = x;
    A.g = bwd ? g : NULL;
    A.y = ya;
    A.ndim = 3;
    A.shape[0] = N; A.shape[1] = C; A.shape[2] = M;
    /* memory orders of x, g and y: c NCHW-like, h NHWC-like ("hhh", "hcc", ...) */
    const char *lay = getenv("LRN_AB_LAYOUT");
    if (!lay || !*lay) lay = "ccc";
    if (strlen(lay) != 3 || strspn(lay, "ch") != 3) {
        fprintf(stderr, "LRN_AB_LAYOUT: three of c or h (x, g, y), not %s\n", lay);
        return 2;
    }
    ptrdiff_t *st[3] = {A.xs, A.gs, A.ys};
    for (int i = 0; i < 3; i++) {
        st[i][0] = C * M;
        st[i][1] = lay[i] == 'h' ? 1 : M;
        st[i][2] = lay[i] == 'h' ? C : 1;
    }
    A.lo[0] = size / 2 < C - 1 ? size / 2 : C - 1;
    A.hi[0] = (size - 1) / 2 < C - 1 ? (size - 1) / 2 : C - 1;
    A.alpha_d = alpha / (double)size;
    A.beta = beta;
    A.k = k;
    A.pow_mode = beta == 0.75 ? LRN_POW_075 : beta == 0.5 ? LRN_POW_05 : beta == 1.0 ? LRN_POW_1
                                                                                   : LRN_POW_GENERIC;
    A.beta_parity = beta == (long)beta ? ((long)beta % 2 == 0 ? 1 : 2) : 0;
    lrn_job B = A;
    B.y = yb;
    double *ta = malloc(reps * sizeof *ta), *tb = malloc(reps * sizeof *tb);
    if (!ta || !tb) return 2;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (lrn_run(&A, nth)) return 3;
        ta[r] = now() - t0;
        t0 = now();
        if (B_lrn_run(&B, nth)) return 3;
        tb[r] = now() - t0;
    }
    qsort(ta, reps, sizeof *ta, cmp);
    qsort(tb, reps, sizeof *tb, cmp);
    printf("%s%s%s%s%ldx%ldx%ld %s %s size %ld beta %g%s, %d thread%s: A %.3f ms (q1 %.3f)  "
           "B %.3f ms (q1 %.3f)  B/A %.3f  %s\n", tn && *tn ? tn : "", tn && *tn ? " " : "",
           strcmp(lay, "ccc") ? lay : "", strcmp(lay, "ccc") ? " " : "", N, C, M,
           f64 ? "f64" : "f32", bwd ? "bwd" : "fwd", size, beta, argc > 10 ? " (k, alpha given)" : "", nth,
           nth == 1 ? "" : "s", ta[0] * 1e3, ta[reps / 4] * 1e3, tb[0] * 1e3, tb[reps / 4] * 1e3,
           tb[0] / ta[0], memcmp(ya, yb, n * esz) ? "results differ" : "same bits");
    return 0;
}
