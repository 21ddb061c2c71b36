/* How much faster this machine copies memory with 2 threads than with 1: the
 * bound on what a second thread can give an LRN that runs at memory speed with
 * one (issue 3 asks 2 threads to be 1.5x faster than 1 on the N = 32 cases).
 * memcpy of a buffer of N floats (default 32x96x55x55) by 1 thread, then by 2
 * OpenMP threads each copying one half, alternated; medians of 61 pairs.
 * Not built by CI:
 *
 *   gcc -O2 -fopenmp src_c/test/bench_copy_threads.c -o /tmp/bct && /tmp/bct [N] */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>

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

#define R 61

int main(int argc, char **argv)
{
    size_t n = (argc > 1 ? (size_t)atol(argv[1]) : (size_t)32 * 96 * 55 * 55) * sizeof(float);
    char *a, *b;
    if (posix_memalign((void **)&a, 64, n) || posix_memalign((void **)&b, 64, n)) return 2;
    memset(a, 1, n);
    memset(b, 2, n);
    double t1[R], t2[R];
    for (int r = 0; r < R; r++) {
        double t = now();
        memcpy(b, a, n);
        t1[r] = now() - t;
        t = now();
#pragma omp parallel num_threads(2)
        {
            size_t h = n / 2 / 64 * 64, o = omp_get_thread_num() ? h : 0;
            memcpy(b + o, a + o, omp_get_thread_num() ? n - h : h);
        }
        t2[r] = now() - t;
    }
    qsort(t1, R, sizeof t1[0], cmp);
    qsort(t2, R, sizeof t2[0], cmp);
    printf("%.1f MB: 1 thread %.3f ms, 2 threads %.3f ms: %.2fx faster\n", n / 1e6,
           t1[R / 2] * 1e3, t2[R / 2] * 1e3, t1[R / 2] / t2[R / 2]);
    free(a);
    free(b);
    return 0;
}
