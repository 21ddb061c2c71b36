/* What one store to a row's first line costs among the non-temporal stores of the
 * strip kernels (vst_lines): 8192 rows of 46 lines (32x256 rows of a 27x27 float32
 * plane, rounded to lines), 34 MiB, written in the strips' order (every row in turn,
 * two lines a visit) by non-temporal stores, except that the first line of every
 * row gets, at the row's first visit:
 *   nt       a non-temporal store, like the others
 *   partial  a masked store of 12 of its 16 floats (a row that starts 16 bytes in)
 *   full     an ordinary store of the whole line
 * The extra time over "nt", per row, in cycles at the clock measured by a chain of
 * dependent integer adds.  A partial store misses the cache and waits for its line
 * (about 50 cycles here); the evidence for F(vst_heads) in lrn_kernels.h.  x86-64
 * with AVX-512 only; not built by CI:
 *
 *   gcc -O2 -mavx512f src_c/test/bench_partial_stores.c -o /tmp/bps && /tmp/bps */
#define _DEFAULT_SOURCE
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { ROWS = 8192, LINES = 46 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double ghz(void)
{
    long x = 0, reps = 100000000;
    double t0 = now();
    for (long i = 0; i < reps; i++)
        __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
    return 4.0 * reps / (now() - t0) / 1e9;
}

/* the best of 7 passes over the rows, first lines written by mode 0, 1 or 2 */
static double pass(float *y, int mode)
{
    const __m512 v = _mm512_set1_ps(1.0f);
    double best = 1e9;
    for (int it = 0; it < 7; it++) {
        double t0 = now();
        for (int l = 0; l < LINES; l += 2) {
            for (int r = 0; r < ROWS; r++) {
                float *row = y + (size_t)r * LINES * 16;
                if (l == 0 && mode == 1) _mm512_mask_storeu_ps(row + 4, 0x0fff, v);
                else if (l == 0 && mode == 2) _mm512_storeu_ps(row, v);
                else _mm512_stream_ps(row + 16 * l, v);
                _mm512_stream_ps(row + 16 * l + 16, v);
            }
        }
        _mm_sfence();
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(void)
{
    size_t bytes = (size_t)ROWS * LINES * 64, al = (size_t)2 << 20;
    float *y = aligned_alloc(al, (bytes + al - 1) / al * al);
    if (!y) return 2;
    madvise(y, bytes, MADV_HUGEPAGE);
    memset(y, 1, bytes);
    double f = ghz();
    static const char *name[] = {"nt", "partial", "full"};
    double t0 = pass(y, 0);
    printf("clock %.2f GHz; %d rows of %d lines by non-temporal stores: %.3f ms\n", f, ROWS,
           LINES, t0 * 1e3);
    for (int mode = 1; mode < 3; mode++) {
        double t = pass(y, mode);
        printf("first line %-8s %.3f ms, %+.0f cycles per row\n", name[mode], t * 1e3,
               (t - t0) * f * 1e9 / ROWS);
    }
    return 0;
}
