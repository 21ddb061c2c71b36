/* Throughput of the AVX-512 operations of the fast powers on this CPU, alone and in
 * pairs: cycles per operation (or per pair) over 8 independent chains, at the clock
 * measured by a chain of dependent integer adds (one per cycle).  Two operations
 * that share the multiply pipes take the sum of their times together; others
 * overlap.  The evidence for the compute floor quoted in docs/benchmarks.md (sixth
 * run).  x86-64 with AVX-512 only; not built by CI:
 *
 *   gcc -O2 -mavx512f src_c/test/bench_pipes.c -o /tmp/bench_pipes && /tmp/bench_pipes */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define REPS 100000000L
#define CLOBBER "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9"
/* the best of 3 of REPS iterations of 8 copies of OP on registers zmm0..7 */
#define TIME(OP, t)                                                                \
    do {                                                                           \
        t = 1e9;                                                                   \
        for (int r = 0; r < 3; r++) {                                              \
            double t0 = now();                                                     \
            for (long i = 0; i < REPS; i++)                                        \
                __asm__ volatile(OP(zmm0) OP(zmm1) OP(zmm2) OP(zmm3) OP(zmm4)      \
                                 OP(zmm5) OP(zmm6) OP(zmm7)::: CLOBBER);            \
            double d = now() - t0;                                                 \
            if (d < t) t = d;                                                      \
        }                                                                          \
    } while (0)
#define MUL(r) "vmulps %%zmm8, %%zmm9, %%" #r "\n\t"
#define FMA(r) "vfmadd231ps %%zmm8, %%zmm9, %%" #r "\n\t"
#define ADD(r) "vaddps %%zmm8, %%zmm9, %%" #r "\n\t"
#define RSQ(r) "vrsqrt14ps %%zmm8, %%" #r "\n\t"
#define FIX(r) "vfixupimmps $0, %%zmm8, %%zmm9, %%" #r "\n\t"
#define PERM(r) "vpermps %%zmm8, %%zmm9, %%" #r "\n\t"
#define MUL_RSQ(r) MUL(r) RSQ(r)
#define MUL_FIX(r) MUL(r) FIX(r)
#define MUL_ADD(r) MUL(r) ADD(r)
#define MUL_PERM(r) MUL(r) PERM(r)

int main(void)
{
    double t, ghz;
    long x = 0;
    t = 1e9;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        for (long i = 0; i < REPS; i++)
            __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
        double d = now() - t0;
        if (d < t) t = d;
    }
    ghz = 4.0 * REPS / t / 1e9;
    printf("clock: %.2f GHz (dependent adds)\n", ghz);
#define SHOW(name, OP)                                                             \
    TIME(OP, t);                                                                   \
    printf("%-22s %.2f cycles\n", name, t * ghz * 1e9 / REPS / 8);
    SHOW("vmulps", MUL)
    SHOW("vfmadd231ps", FMA)
    SHOW("vaddps", ADD)
    SHOW("vrsqrt14ps", RSQ)
    SHOW("vfixupimmps", FIX)
    SHOW("vpermps", PERM)
    SHOW("vmulps + vrsqrt14ps", MUL_RSQ)
    SHOW("vmulps + vfixupimmps", MUL_FIX)
    SHOW("vmulps + vaddps", MUL_ADD)
    SHOW("vmulps + vpermps", MUL_PERM)
    return x == 0;
}
