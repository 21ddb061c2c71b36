/* How fast C channel rows are read in the order of the across-channel strips (every
 * row in turn, P bytes a visit), with a software prefetch D bytes ahead into L1
 * (locality 3) or L2 (locality 2) for each 64-byte line, or none; and the same bytes read row by row.
 * The evidence for LRN_PFR in lrn_kernels.h.  Not built by CI; run by hand:
 *
 *   gcc -O3 -std=c99 src_c/test/bench_row_reads.c -o /tmp/bench_row_reads
 *   /tmp/bench_row_reads [N C H*W]        (default 32 96 3025: AlexNet norm1)
 *
 * Prints the best of 5 passes in ms for each (P, prefetch). */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* integer sum (vectorised, no float dependency chain) of every row's words [o, e),
 * rows visited in turn, P / 4 words at a time */
#define PASS(LOC)                                                                  \
    for (size_t n = 0; n < N; n++)                                                 \
        for (size_t o = 0; o < row; o += P / 4)                                    \
            for (size_t c = 0; c < C; c++) {                                       \
                const unsigned *r = x + (n * C + c) * row;                            \
                size_t e = o + P / 4 < row ? o + P / 4 : row;                      \
                if (LOC >= 0)                              /* each line, as the strips */ \
                    for (size_t l = o; l < e; l += 16)                                     \
                        __builtin_prefetch(r + l + D / 4, 0, LOC < 0 ? 0 : LOC);           \
                for (size_t i = o; i < e; i++) acc += r[i];                        \
            }

int main(int argc, char **argv)
{
    size_t N = argc > 3 ? (size_t)atol(argv[1]) : 32, C = argc > 3 ? (size_t)atol(argv[2]) : 96;
    size_t row = argc > 3 ? (size_t)atol(argv[3]) : 3025, D = 512;
    size_t bytes = N * C * row * sizeof(unsigned);
    unsigned *x = malloc(bytes + 4096);
    if (!x) return 1;
    memset(x, 1, bytes + 4096);   /* not zeros: pages of zeros may be shared */
    volatile unsigned sink;
    printf("%zu x %zu rows of %zu words (%.1f MB), prefetch %zu bytes ahead\n", N, C, row,
           bytes / 1e6, D);
    size_t Ps[] = {128, 256, 512};
    const char *names[] = {"no prefetch", "into L1 (3)", "into L2 (2)"};
    for (int k = 0; k < 3; k++) {
        printf("%-12s", names[k]);
        for (int q = 0; q < 3; q++) {
            size_t P = Ps[q];
            double best = 1e9;
            for (int it = 0; it < 5; it++) {
                unsigned acc = 0;
                double t0 = now();
                if (k == 0) { PASS(-1) }
                else if (k == 1) { PASS(3) }
                else { PASS(2) }
                double t = now() - t0;
                sink = acc;
                if (t < best) best = t;
            }
            printf("  P=%zu: %.2f ms", P, best * 1e3);
        }
        printf("\n");
    }
    double best = 1e9;
    for (int it = 0; it < 5; it++) {
        unsigned acc = 0;
        double t0 = now();
        for (size_t i = 0; i < N * C * row; i++) acc += x[i];
        double t = now() - t0;
        sink = acc;
        if (t < best) best = t;
    }
    printf("%-12s  %.2f ms\n", "row by row", best * 1e3);
    (void)sink;
    free(x);
    return 0;
}
