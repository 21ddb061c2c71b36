/* Exhaustive (or strided) check of the float32 generic power (lrn_math.h,
 * lrn_simd.h) as the kernels' vpow_generic takes it (lrn_vpowf_fast for a vector
 * whose lanes are all in its range, else lrn_powf_full lane by lane; and
 * lrn_powf_full alone) against double pow(), for every target this file is
 * compiled for, plus a check that all targets give the same bits, and that
 * lrn_vpowf_fast and lrn_powf_full agree bit for bit on every input in the fast
 * version's range (the kernels pick one per vector of 16, 8 or 4 lanes by target:
 * the choice must never show in a result).
 *
 * Build (from the repository root): each target's functions are a translation unit
 * of their own (lrn_simd.h is the vector code of one target), LRN_POW_PART 0
 * (baseline), 1 (AVX2) and 2 (AVX-512, x86-64 only), then the main part:
 *   F="-std=c99 -O3 -fno-math-errno -fno-trapping-math -ffp-contract=off -fopenmp -Isrc_c"
 *   for p in 0 1 2; do gcc $F -DLRN_POW_PART=$p -c src_c/test/test_pow_f32.c -o pow$p.o; done
 *   gcc $F src_c/test/test_pow_f32.c pow?.o -lm -o test_pow_f32
 * Usage: test_pow_f32 [STRIDE [BETA ...]]   (STRIDE 1: all 2^31 positive floats,
 * about 2 minutes per beta and target on one core; default 61 and a list of betas).
 * Reports the largest error in float ulps of the reference (a subnormal result:
 * in units of 2^-149; an overflowing one must be inf) and the largest relative error
 * among normal results; negative s, 0, inf and NaN are checked for the pow rules.
 * Exit status 1 if an error exceeds LIMIT_ULPS ulps, the targets disagree or the
 * two versions do. */
#define _POSIX_C_SOURCE 200112L
#include <stddef.h>

typedef void rowfn(float *, const float *, ptrdiff_t, double, int);
typedef long diffn(const float *, ptrdiff_t, double, int);

#ifdef LRN_POW_PART
/* ---- one target's functions ---------------------------------------------- */
#if LRN_POW_PART == 1
#pragma GCC target("avx2,fma")
#elif LRN_POW_PART == 2
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#endif
#include "lrn_simd.h"
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VWF ((ptrdiff_t)(sizeof(lrn_vf32) / sizeof(float)))

/* t = s^-beta by vectors of VWF lanes, as vpow_generic does (a partial vector's
 * other lanes are 1) */
void CAT(pow_row_, LRN_POW_PART)(float *t, const float *s, ptrdiff_t m, double beta, int parity)
{
    lrn_powf c;
    lrn_powf_init(&c, beta, parity);
    for (ptrdiff_t p0 = 0; p0 < m; p0 += VWF) {
        ptrdiff_t e = m - p0 < VWF ? m - p0 : VWF;
        lrn_vf32 v;
        uint32_t bad = 0;
        for (ptrdiff_t k = 0; k < VWF; k++) {
            v[k] = k < e ? s[p0 + k] : 1.0f;
            bad |= lrn_as_bits32(v[k]) - c.lo > c.span;
        }
        if (bad)
            for (ptrdiff_t k = 0; k < e; k++) t[p0 + k] = lrn_powf_full(s[p0 + k], &c);
        else {
            v = lrn_vpowf_fast(v, &c);
            for (ptrdiff_t k = 0; k < e; k++) t[p0 + k] = v[k];
        }
    }
}
void CAT(pow_full_, LRN_POW_PART)(float *t, const float *s, ptrdiff_t m, double beta, int parity)
{
    lrn_powf c;
    lrn_powf_init(&c, beta, parity);
    for (ptrdiff_t p = 0; p < m; p++) t[p] = lrn_powf_full(s[p], &c);
}
/* how many s in the range of lrn_vpowf_fast get other bits from lrn_powf_full */
long CAT(pow_fastdiff_, LRN_POW_PART)(const float *s, ptrdiff_t m, double beta, int parity)
{
    lrn_powf c;
    long nd = 0;
    lrn_powf_init(&c, beta, parity);
    for (ptrdiff_t p0 = 0; p0 < m; p0 += VWF) {
        ptrdiff_t e = m - p0 < VWF ? m - p0 : VWF;
        lrn_vf32 v;
        int in[64];
        for (ptrdiff_t k = 0; k < VWF; k++) {
            in[k] = k < e && lrn_as_bits32(s[p0 + k]) - c.lo <= c.span;
            v[k] = in[k] ? s[p0 + k] : 1.0f;
        }
        v = lrn_vpowf_fast(v, &c);
        for (ptrdiff_t k = 0; k < e; k++) {
            float a = v[k], b = lrn_powf_full(s[p0 + k], &c);
            nd += in[k] && memcmp(&a, &b, 4) != 0;
        }
    }
    return nd;
}

#else
/* ---- the main part ----------------------------------------------------------- */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_ULPS 8.0

rowfn pow_row_0, pow_full_0;
diffn pow_fastdiff_0;
#if defined(__x86_64__) && defined(__GNUC__)
rowfn pow_row_1, pow_full_1, pow_row_2, pow_full_2;
diffn pow_fastdiff_1, pow_fastdiff_2;
static const char *tname[] = {"baseline", "AVX2", "AVX-512"};
static rowfn *rows[] = {pow_row_0, pow_row_1, pow_row_2}, *fulls[] = {pow_full_0, pow_full_1, pow_full_2};
static diffn *fastdiffs[] = {pow_fastdiff_0, pow_fastdiff_1, pow_fastdiff_2};
static int target_ok(int i)
{
    __builtin_cpu_init();
    return i == 0 || (i == 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
           || (i == 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
               && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"));
}
#define NT 3
#else
static const char *tname[] = {"baseline"};
static rowfn *rows[] = {pow_row_0}, *fulls[] = {pow_full_0};
static diffn *fastdiffs[] = {pow_fastdiff_0};
static int target_ok(int i) { return i == 0; }
#define NT 1
#endif

static float asf(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static int parity_of(double b)
{
    if (rint(b) != b) return 0;
    return fmod(fabs(b), 2.0) == 0 ? 1 : 2;
}

/* |res - ref| in float ulps of ref; an inf result stands for 2^128 */
static double ulp_err(float res, double ref)
{
    if (isnan(ref) || isnan(res)) return isnan(ref) && isnan(res) ? 0 : 1e30;
    if (isinf(ref)) return res == ref ? 0 : 1e30;
    double ar = fabs(ref), x = res, ulp;
    if (isinf(res)) {
        if ((res > 0) != (ref > 0)) return 1e30;
        if (ar >= ldexp(1, 128) - ldexp(1, 103)) return 0;    /* rounds to inf */
        x = copysign(ldexp(1, 128), res);
    }
    else if (ar >= ldexp(1, 128)) return 1e30;                /* must be inf */
    if (ar < ldexp(1, -126)) ulp = ldexp(1, -149);
    else {
        int e;
        frexp(ar, &e);
        ulp = ldexp(1, e - 24);
    }
    return fabs(x - ref) / ulp;
}

static double reference(float s, double beta, int parity)
{
    double r = pow(fabs((double)s), -beta);
    if (s == 0) return beta > 0 ? INFINITY : 0.0;              /* also -0: at0 */
    if (s < 0) return parity == 0 ? NAN : (parity == 2 ? -r : r);
    return r;
}

enum { CH = 1 << 16 };

int main(int argc, char **argv)
{
    static const double dflt[] = {0.6, 0.25, 0.9, 1.5, 2.0, 3.0, 3.7, -0.6, -2.5, 1e-3, 0.7499};
    uint32_t stride = argc > 1 ? (uint32_t)atol(argv[1]) : 61;
    int nb = argc > 2 ? argc - 2 : (int)(sizeof dflt / sizeof dflt[0]), fail = 0;
    for (int bi = 0; bi < nb; bi++) {
        double beta = argc > 2 ? atof(argv[bi + 2]) : dflt[bi];
        int par = parity_of(beta);
        for (int ti = 0; ti < NT; ti++) {
            if (!target_ok(ti)) continue;
            double mx[2] = {0, 0}, rel[2] = {0, 0}, sub[2] = {0, 0};
            float at[2] = {0, 0};
            long ndiff = 0, nfast = 0;
            /* positive s by stride (the last chunk includes inf), then
             * negative s, 0, NaN (a coarser stride over the other half) */
#pragma omp parallel for schedule(dynamic) reduction(+ : ndiff, nfast)
            for (long c0 = 0; c0 < 0x7f800001L / CH / (long)stride + 2; c0++) {
                float s[CH], t[CH], u[CH];
                int n = 0;
                for (long i = 0; i < CH; i++) {
                    long b = (c0 * CH + i) * (long)stride;
                    if (b > 0x7f800000L) break;
                    s[n++] = asf((uint32_t)b);
                }
                if (c0 == 0x7f800001L / CH / (long)stride + 1) {        /* specials */
                    n = 0;
                    for (long i = 0; i < CH / 2; i++) s[n++] = asf(0x80000000u + (uint32_t)(i * 65521u % 0x7f800001u));
                    s[n++] = -0.0f; s[n++] = 0.0f; s[n++] = asf(0x7fc00000u); s[n++] = asf(0xffc00000u);
                    s[n++] = asf(0x7f800001u); s[n++] = -INFINITY; s[n++] = 1.0f; s[n++] = -1.0f;
                }
                if (!n) continue;
                double lmx[2] = {0, 0}, lrel[2] = {0, 0}, lsub[2] = {0, 0};
                float lat[2] = {0, 0};
                for (int k = 0; k < 2; k++) {
                    (k ? fulls : rows)[ti](t, s, n, beta, par);
                    for (int i = 0; i < n; i++) {
                        double ref = reference(s[i], beta, par), e = ulp_err(t[i], ref);
                        if (e > lmx[k]) { lmx[k] = e; lat[k] = s[i]; }
                        if (fabs(ref) >= ldexp(1, -126) && fabs(ref) <= 3.4028234663852886e38) {
                            double re = fabs(t[i] - ref) / fabs(ref);
                            if (re > lrel[k]) lrel[k] = re;
                        }
                        else if (e > lsub[k]) lsub[k] = e;
                    }
                }
                nfast += fastdiffs[ti](s, n, beta, par);
                if (ti > 0) {                 /* the same bits as the baseline */
                    rows[0](u, s, n, beta, par);
                    rows[ti](t, s, n, beta, par);
                    for (int i = 0; i < n; i++) ndiff += memcmp(&t[i], &u[i], 4) != 0;
                }
#pragma omp critical
                for (int k = 0; k < 2; k++) {
                    if (lmx[k] > mx[k]) { mx[k] = lmx[k]; at[k] = lat[k]; }
                    if (lrel[k] > rel[k]) rel[k] = lrel[k];
                    if (lsub[k] > sub[k]) sub[k] = lsub[k];
                }
            }
            for (int k = 0; k < 2; k++)
                printf("beta %-7g %-8s %-4s stride %u: max %.3f ulp (s = %a), max rel %.3e "
                       "(normal results), max %.3f ulp (subnormal results)%s\n",
                       beta, tname[ti], k ? "full" : "row", stride, mx[k], at[k], rel[k], sub[k],
                       ti > 0 && k == 0 ? (ndiff ? "  DIFFERS FROM BASELINE" : "  (= baseline bits)") : "");
            if (nfast)
                printf("beta %-7g %-8s %ld inputs in the fast range where lrn_vpowf_fast and "
                       "lrn_powf_full differ\n", beta, tname[ti], nfast);
            fail |= mx[0] > LIMIT_ULPS || mx[1] > LIMIT_ULPS || ndiff != 0 || nfast != 0;
        }
    }
    printf("%s\n", fail ? "FAILED" : "passed");
    return fail;
}
#endif
