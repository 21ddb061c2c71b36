/* Exhaustive (or strided) check of the float32 generic power (lrn_math.h,
 * lrn_simd.h) as the kernels' vpow_generic takes it (lrn_vpowf_fast for a vector
 * whose lanes are all in its range, else lrn_powf_full lane by lane; and
 * lrn_powf_full alone) against double pow(), for every target this file is
 * compiled for, plus a check that all targets give the same bits, and that
 * lrn_vpowf_fast and lrn_powf_full agree bit for bit on every input in the fast
 * version's range (the kernels pick one per vector of 16, 8 or 4 lanes by target:
 * the choice must never show in a result).
 * Then the fast powers of beta 0.75, 0.5 and 1 (lrn_vpow_f32/_f64 and their _rcp,
 * which gives 1/s beside s^-beta for the backward) on every target, float32 over
 * the same inputs and float64 over 2^20 values: within LIMIT_FAST_ULPS, and the two
 * functions' s^-beta the same bits (check_fast).
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
 * Exit status 1 if an error exceeds LIMIT_ULPS ulps (the fast powers:
 * LIMIT_FAST_ULPS), the targets disagree or the two versions do. */
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

/* The fast powers (beta 0.75, 0.5, 1: mode LRN_POW_075, _05, _1) as the kernels take
 * them: s^-beta from lrn_vpow (the forward) and s^-beta with 1/s from lrn_vpow_rcp
 * (the backward), a partial vector's other lanes 1.  Returns how many s^-beta from
 * the two differ in their bits (they must not). */
#define FAST_ROW(NAME, T, VT, VPOW)                                                \
long CAT(NAME, LRN_POW_PART)(T *t, T *iv, const T *s, ptrdiff_t m, int mode)       \
{                                                                                  \
    enum { W = sizeof(VT) / sizeof(T) };                                           \
    long nd = 0;                                                                   \
    for (ptrdiff_t p0 = 0; p0 < m; p0 += W) {                                      \
        ptrdiff_t e = m - p0 < W ? m - p0 : W;                                     \
        VT v, a, b, r;                                                             \
        for (ptrdiff_t k = 0; k < W; k++) v[k] = k < e ? s[p0 + k] : (T)1;        \
        a = VPOW(v, mode);                                                         \
        b = CAT(VPOW, _rcp)(v, mode, &r);                                          \
        for (ptrdiff_t k = 0; k < e; k++) {                                        \
            t[p0 + k] = b[k];                                                      \
            iv[p0 + k] = r[k];                                                     \
            nd += memcmp(&a[k], &b[k], sizeof(T)) != 0;                            \
        }                                                                          \
    }                                                                              \
    return nd;                                                                     \
}
FAST_ROW(fast_row_, float, lrn_vf32, lrn_vpow_f32)
FAST_ROW(fast64_row_, double, lrn_vf64, lrn_vpow_f64)

#else
/* ---- the main part ----------------------------------------------------------- */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lrn.h"

#define LIMIT_ULPS 8.0

typedef long fastfn(float *, float *, const float *, ptrdiff_t, int);
typedef long fast64fn(double *, double *, const double *, ptrdiff_t, int);
rowfn pow_row_0, pow_full_0;
diffn pow_fastdiff_0;
fastfn fast_row_0;
fast64fn fast64_row_0;
#if defined(__x86_64__) && defined(__GNUC__)
rowfn pow_row_1, pow_full_1, pow_row_2, pow_full_2;
diffn pow_fastdiff_1, pow_fastdiff_2;
fastfn fast_row_1, fast_row_2;
fast64fn fast64_row_1, fast64_row_2;
static const char *tname[] = {"baseline", "AVX2", "AVX-512"};
static rowfn *rows[] = {pow_row_0, pow_row_1, pow_row_2}, *fulls[] = {pow_full_0, pow_full_1, pow_full_2};
static diffn *fastdiffs[] = {pow_fastdiff_0, pow_fastdiff_1, pow_fastdiff_2};
static fastfn *fasts[] = {fast_row_0, fast_row_1, fast_row_2};
static fast64fn *fasts64[] = {fast64_row_0, fast64_row_1, fast64_row_2};
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
static fastfn *fasts[] = {fast_row_0};
static fast64fn *fasts64[] = {fast64_row_0};
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

/* The inputs in chunks of at most CH: every STRIDE-th positive float, then (the
 * last chunk) negative s, around 2^-128 and 2^126 (where 1/s overflows or is
 * subnormal), 0, infinities, NaNs, +-1, and -0 unless fast (the fast powers' -0 is
 * left out: the signs of their infinities there differ by target, and a window sum
 * is -0 only from k = -0). */
static long nchunks(uint32_t stride) { return 0x7f800001L / CH / (long)stride + 2; }
static int chunk(float *s, long c0, uint32_t stride, int fast)
{
    int n = 0;
    if (c0 == nchunks(stride) - 1) {
        for (long i = 0; i < CH / 2; i++) s[n++] = asf(0x80000000u + (uint32_t)((i + 1) * 65521u % 0x7f800001u));
        for (int i = -300; i < 300; i++) {
            s[n++] = asf((uint32_t)(0x00200000 + i));
            s[n++] = asf((uint32_t)(0x7e800000 + i));
        }
        s[n++] = 0.0f; s[n++] = INFINITY; s[n++] = -INFINITY; s[n++] = asf(0x7fc00000u);
        s[n++] = asf(0xffc00000u); s[n++] = asf(0x7f800001u); s[n++] = 1.0f; s[n++] = -1.0f;
        if (!fast) s[n++] = -0.0f;
        return n;
    }
    for (long i = 0; i < CH; i++) {
        long b = (c0 * CH + i) * (long)stride;
        if (b > 0x7f800000L) break;
        s[n++] = asf((uint32_t)b);
    }
    return n;
}

/* The fast powers, every target: s^-beta for beta 0.75, 0.5 and 1 and the 1/s that
 * lrn_vpow_rcp gives beside it (the backward), float32 over chunk()'s inputs (-0
 * left out), float64 over 2^20 positive doubles spread over every exponent (and 0,
 * inf, NaN).  1/s is not checked where s^-beta is NaN (s < 0: AVX-512 takes 1/s as
 * (s^-0.5)^2 there).  Errors in units of the reference's last place (float64:
 * against long double pow). */
#define LIMIT_FAST_ULPS 4.0
#define LIMIT_FAST64_ULPS 4.0
static const int fmode[3] = {LRN_POW_075, LRN_POW_05, LRN_POW_1};
static const double fbeta[3] = {0.75, 0.5, 1.0};

static double ulp_err64(double res, long double ref)
{
    if (isnan(ref) || isnan(res)) return isnan(ref) && isnan(res) ? 0 : 1e30;
    if (isinf(ref) || ref == 0) return res == ref ? 0 : 1e30;
    if (fabsl(ref) >= ldexpl(1, 1024) - ldexpl(1, 970))          /* rounds to inf */
        return isinf(res) && (res > 0) == (ref > 0) ? 0 : 1e30;
    if (isinf(res)) return 1e30;
    int e;
    frexpl(fabsl(ref), &e);
    return (double)(fabsl((long double)res - ref) / ldexpl(1, (e < -1021 ? -1021 : e) - 53));
}

static int check_fast(uint32_t stride)
{
    /* float64: 2^20 positive s, bits i 2^43 - i 2^32 (every exponent) plus a
     * scrambled mantissa below 2^42, then 0, inf, NaN and 1 */
    enum { N64 = 1 << 20 };
    static double s6[N64 + 4], t6[N64 + 4], iv6[N64 + 4];
    int n6 = 0, fail = 0;
    for (uint64_t i = 0; i < N64; i++) {
        uint64_t b = i * 0x7ff00000000ULL + ((i * 0x9e3779b97f4a7c15ULL) >> 22);
        memcpy(&s6[n6++], &b, 8);
    }
    s6[n6++] = 0.0; s6[n6++] = INFINITY; s6[n6++] = NAN; s6[n6++] = 1.0;
    for (int ti = 0; ti < NT; ti++) {
        if (!target_ok(ti)) continue;
        for (int mi = 0; mi < 3; mi++) {
            double mx[2] = {0, 0};
            float at[2] = {0, 0};
            long nd = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : nd)
            for (long c0 = 0; c0 < nchunks(stride); c0++) {
                float s[CH + 2048], t[CH + 2048], iv[CH + 2048];
                int n = chunk(s, c0, stride, 1);
                if (!n) continue;
                double lmx[2] = {0, 0};
                float lat[2] = {0, 0};
                nd += fasts[ti](t, iv, s, n, fmode[mi]);
                for (int i = 0; i < n; i++) {
                    double ref = reference(s[i], fbeta[mi], mi == 2 ? 2 : 0), e = ulp_err(t[i], ref);
                    if (e > lmx[0]) { lmx[0] = e; lat[0] = s[i]; }
                    if (isnan(ref)) continue;
                    e = ulp_err(iv[i], 1.0 / (double)s[i]);
                    if (e > lmx[1]) { lmx[1] = e; lat[1] = s[i]; }
                }
#pragma omp critical
                for (int k = 0; k < 2; k++)
                    if (lmx[k] > mx[k]) { mx[k] = lmx[k]; at[k] = lat[k]; }
            }
            printf("fast beta %-4g %-8s float32 stride %u: s^-beta max %.3f ulp (s = %a), "
                   "1/s max %.3f ulp (s = %a)%s\n", fbeta[mi], tname[ti], stride, mx[0], at[0],
                   mx[1], at[1], nd ? "  lrn_vpow AND lrn_vpow_rcp DIFFER" : "");
            fail |= mx[0] > LIMIT_FAST_ULPS || mx[1] > LIMIT_FAST_ULPS || nd != 0;

            double mx6[2] = {0, 0}, at6[2] = {0, 0};
            nd = fasts64[ti](t6, iv6, s6, n6, fmode[mi]);
            for (int i = 0; i < n6; i++) {
                long double sl = s6[i], ref = s6[i] == 0 ? INFINITY : powl(sl, -(long double)fbeta[mi]);
                double e = ulp_err64(t6[i], ref);
                if (e > mx6[0]) { mx6[0] = e; at6[0] = s6[i]; }
                e = ulp_err64(iv6[i], s6[i] == 0 ? INFINITY : 1 / sl);
                if (e > mx6[1]) { mx6[1] = e; at6[1] = s6[i]; }
            }
            printf("fast beta %-4g %-8s float64 2^20 s: s^-beta max %.3f ulp (s = %a), "
                   "1/s max %.3f ulp (s = %a)%s\n", fbeta[mi], tname[ti], mx6[0], at6[0],
                   mx6[1], at6[1], nd ? "  lrn_vpow AND lrn_vpow_rcp DIFFER" : "");
            fail |= mx6[0] > LIMIT_FAST64_ULPS || mx6[1] > LIMIT_FAST64_ULPS || nd != 0;
        }
    }
    return fail;
}

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
#pragma omp parallel for schedule(dynamic) reduction(+ : ndiff, nfast)
            for (long c0 = 0; c0 < nchunks(stride); c0++) {
                float s[CH + 2048], t[CH + 2048], u[CH + 2048];
                int n = chunk(s, c0, stride, 0);
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
    fail |= check_fast(stride);
    printf("%s\n", fail ? "FAILED" : "passed");
    return fail;
}
#endif
