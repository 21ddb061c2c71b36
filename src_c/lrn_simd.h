/* The vector width of each target, and s^-beta on one vector for the fast
 * betas (0.75, 0.5, 1).
 *
 * The kernels are written once with GCC vector extensions (lrn_vf32/lrn_vf64,
 * LRN_VBYTES wide); only this power function differs per instruction set:
 *   AVX-512   reciprocal (square root) estimates + Newton steps, float and double
 *   AVX2      float: 12-bit estimates and one second-order step for positive
 *             normal s, IEEE sqrt and division for any other vector;
 *             IEEE sqrt and division for double
 *   others    IEEE sqrt and division, lane by lane (SSE2, NEON, ...)
 * 0 and inf map exactly (0 -> inf, inf -> 0); negative and NaN give NaN.
 * Also per instruction set: the first n < width lanes of a vector loaded or
 * stored (lrn_vldp_*, lrn_vstp_*; the other lanes read as 0 and are not
 * written): masked loads and stores on AVX-512 and AVX2, lane by lane else;
 * and lrn_vany, whether a comparison holds in some lane; and lrn_vlut16_f32, 16
 * floats looked up by the low 4 bits of each lane (a permute on AVX-512, two and a
 * blend on AVX2, lane by lane else), for lrn_vpowf_fast at the end.
 * Non-temporal (streaming) stores of a whole vector to a vector-aligned address,
 * lrn_vstream_*, and lrn_sfence, which orders them before later stores: x86
 * with AVX-512 (LRN_STREAM 1: a vector is a cache line); elsewhere ordinary
 * stores and no fence (LRN_STREAM 0, and the kernels never ask for them; AVX2:
 * see there). */
#ifndef LRN_FAST_SIMD_H
#define LRN_FAST_SIMD_H

#include <stddef.h>
#include "lrn.h"
#include "lrn_math.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#define LRN_VBYTES 64
#elif defined(__AVX2__) && defined(__FMA__)
#define LRN_VBYTES 32
#else
#define LRN_VBYTES 16
#endif

typedef float lrn_vf32 __attribute__((vector_size(LRN_VBYTES)));
typedef double lrn_vf64 __attribute__((vector_size(LRN_VBYTES)));
typedef unsigned int lrn_vu32 __attribute__((vector_size(LRN_VBYTES)));
typedef int lrn_vi32 __attribute__((vector_size(LRN_VBYTES)));
typedef unsigned long long lrn_vu64 __attribute__((vector_size(LRN_VBYTES)));

#if LRN_VBYTES == 64
#include <immintrin.h>

/* Subnormal s stay exact: no s / 2 is formed (it would round; q / 2 never does).
 * s^-0.5: q = rsqrt14(s) (relative error < 2^-14) and Newton steps
 * q += q (1/2 - (s q/2) q), each squaring the error (times 1.5).
 * s^-0.75: q sqrt(q) from that q.  vsqrtps runs beside the multiply pipes (Zen 4:
 * one 512-bit vsqrtps per 10 cycles, overlapping vmulps), so the power takes 7
 * operations on them instead of the 11 of two rsqrt14 estimates and a Newton step
 * on y^4 s^3 = 1 (float32, beta 0.75, 1 and 2 threads: forward 6% faster, 9% in
 * cache; float64 12%).  Measured on Zen 4 only: a core whose 512-bit square root
 * is slower against its multiply pipes may gain less, or lose.  The price is a
 * little accuracy: at most 3.8 units of rounding (2.2e-7) against 2.0 over every
 * 7th positive float s (s^-0.5: 1.3 against 1.7).
 * 1/s: rcp14 and Newton steps; or q^2 where q is at hand (NAME_rcp, for the
 * backward, which needs s^-beta and 1/s: beta 0.75 8-9% faster, 0.5 4%; 1/s
 * within 3.4 units against 1.9).
 * Zero and inf are fixed up by class (vfixupimm; table: nibble per class QNaN,
 * SNaN, 0, 1, -inf, +inf, <0, >0):
 *   s^-0.5 (q), by the class of s:  0 -> +inf, +inf -> +0     tokens 5, 8
 *   1/s, by the class of e = rcp14(s): +-0, +-inf -> e        token 1
 * rcp14 is exact there: +-inf for s = +-0 and wherever 1/s overflows (subnormal s
 * below 2^-128, float64 2^-1024; checked on Zen 4 around the threshold), +-0 for
 * s = +-inf; the Newton step e (2 - s e) would make -inf of +inf and NaN of the
 * others (a fix-up by the class of s missed the overflowing subnormal s).  The
 * other classes keep the computed value (s^-0.5: NaN for NaN and s < 0).  q is fixed
 * up before it is used: inf and 0 carry through q sqrt(q) and q^2. */
#define LRN_FIX_SQRT 0x00800500
#define LRN_FIX_RCP 0x00110100
#define LRN_AVX512_VPOW(NAME, VT, MT, SUF, STEPS, TABLE)                            \
static inline MT NAME##_rsqrt(MT v)                                                \
{                                                                                  \
    MT q = _mm512_rsqrt14_##SUF(v);                                                \
    for (int i = 0; i < STEPS; i++) {                                              \
        MT h = _mm512_mul_##SUF(v, _mm512_mul_##SUF(q, _mm512_set1_##SUF(0.5)));   \
        MT d = _mm512_fnmadd_##SUF(h, q, _mm512_set1_##SUF(0.5));                  \
        q = _mm512_fmadd_##SUF(q, d, q);                                           \
    }                                                                              \
    return _mm512_fixupimm_##SUF(q, v, TABLE(LRN_FIX_SQRT), 0);                    \
}                                                                                  \
/* s^-0.5 or s^-0.75 from q = s^-0.5 */                                            \
static inline VT NAME##_of_q(MT q, int mode)                                       \
{                                                                                  \
    return mode == LRN_POW_05 ? (VT)q : (VT)_mm512_mul_##SUF(q, _mm512_sqrt_##SUF(q)); \
}                                                                                  \
static inline VT NAME(VT sv, int mode)                                             \
{                                                                                  \
    MT v = (MT)sv, r;                                                              \
    if (mode == LRN_POW_1) {                                                       \
        MT e = _mm512_rcp14_##SUF(v);                                              \
        r = e;                                                                     \
        for (int i = 0; i < STEPS; i++)                                            \
            r = _mm512_mul_##SUF(r, _mm512_fnmadd_##SUF(v, r, _mm512_set1_##SUF(2.0))); \
        return (VT)_mm512_fixupimm_##SUF(r, e, TABLE(LRN_FIX_RCP), 0);              \
    }                                                                              \
    return NAME##_of_q(NAME##_rsqrt(v), mode);                                     \
}                                                                                  \
static inline VT NAME##_rcp(VT sv, int mode, VT *iv)                               \
{                                                                                  \
    if (mode != LRN_POW_1) {                                                       \
        MT q = NAME##_rsqrt((MT)sv);                                               \
        *iv = (VT)_mm512_mul_##SUF(q, q);                                          \
        return NAME##_of_q(q, mode);                                               \
    }                                                                              \
    *iv = NAME(sv, LRN_POW_1);                                                     \
    return *iv;                                                                    \
}
LRN_AVX512_VPOW(lrn_vpow_f32, lrn_vf32, __m512, ps, 1, _mm512_set1_epi32)
LRN_AVX512_VPOW(lrn_vpow_f64, lrn_vf64, __m512d, pd, 2, _mm512_set1_epi64)
#define LRN_HAVE_VPOW_RCP 1

/* 1 if a lane of a comparison's result (0 or all ones) is set */
static inline int lrn_vany(lrn_vu32 m) { return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0; }
/* 1 if a > b (unsigned) in some lane */
static inline int lrn_vany_gtu(lrn_vu32 a, lrn_vu32 b)
{
    return _mm512_cmpgt_epu32_mask((__m512i)a, (__m512i)b) != 0;
}
static inline lrn_vf32 lrn_vlut16_f32(const float *tab, lrn_vu32 i)
{
    return (lrn_vf32)_mm512_permutexvar_ps((__m512i)i, _mm512_loadu_ps(tab));
}
/* the exponent of positive normal floats (bits b), as floats */
static inline lrn_vf32 lrn_vexpo_f32(lrn_vu32 b) { return (lrn_vf32)_mm512_getexp_ps((__m512)b); }
/* e 2^floor(f) where the result is normal (exact; f: a float of bits fb) */
static inline lrn_vf32 lrn_vscale_f32(lrn_vf32 e, lrn_vf32 f, lrn_vu32 fb)
{
    (void)fb;
    return (lrn_vf32)_mm512_scalef_ps((__m512)e, (__m512)f);
}
#define LRN_HAVE_VSCALE 1
/* lane by lane min(a, b); b where a is NaN */
static inline lrn_vf32 lrn_vmin_f32(lrn_vf32 a, lrn_vf32 b) { return (lrn_vf32)_mm512_min_ps((__m512)a, (__m512)b); }
static inline lrn_vf64 lrn_vmin_f64(lrn_vf64 a, lrn_vf64 b) { return (lrn_vf64)_mm512_min_pd((__m512d)a, (__m512d)b); }

static inline lrn_vf32 lrn_vldp_f32(const float *p, ptrdiff_t n)
{
    return (lrn_vf32)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p);
}
static inline void lrn_vstp_f32(float *p, lrn_vf32 v, ptrdiff_t n)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
}
static inline lrn_vf64 lrn_vldp_f64(const double *p, ptrdiff_t n)
{
    return (lrn_vf64)_mm512_maskz_loadu_pd((__mmask8)((1u << n) - 1), p);
}
static inline void lrn_vstp_f64(double *p, lrn_vf64 v, ptrdiff_t n)
{
    _mm512_mask_storeu_pd(p, (__mmask8)((1u << n) - 1), (__m512d)v);
}

#define LRN_STREAM 1
static inline void lrn_vstream_f32(float *p, lrn_vf32 v) { _mm512_stream_ps(p, (__m512)v); }
static inline void lrn_vstream_f64(double *p, lrn_vf64 v) { _mm512_stream_pd(p, (__m512d)v); }
static inline void lrn_sfence(void) { _mm_sfence(); }

#elif LRN_VBYTES == 32
#include <immintrin.h>

/* Exact IEEE square roots and divisions: every input (0, subnormal, inf, NaN, < 0) */
static inline __m256 lrn_pow_ieee8(__m256 v, int mode)
{
    __m256 one = _mm256_set1_ps(1.0f);
    if (mode == LRN_POW_1) return _mm256_div_ps(one, v);
    __m256 r = _mm256_sqrt_ps(v);
    if (mode == LRN_POW_05) return _mm256_div_ps(one, r);
    return _mm256_div_ps(one, _mm256_mul_ps(r, _mm256_sqrt_ps(r)));
}

/* A vector of positive normal s (all but never, in practice): 12-bit rcp/rsqrt
 * estimates and one second-order step.  With e = s^(1/p) y (the product that is 1
 * at y = s^-1/p) and d = 1 - e, the exact correction (1 - d)^(-1/p) is
 * 1 + d/p + (p + 1)/(2 p^2) d^2 + O(d^3): 1 + d + d^2 (1/s), 1 + d/2 + 3/8 d^2
 * (s^-1/2), 1 + d/4 + 5/32 d^2 (s^-3/4, with e = (y s)^3 y, as y^4 s^3).  From
 * |d| < 4e-3 the error left is below 1e-8.  Any other vector (rcp_ps and rsqrt_ps
 * read a subnormal as 0) takes the IEEE path. */
static inline __m256 lrn_pow_est8(__m256 v, int mode)
{
    __m256 one = _mm256_set1_ps(1.0f), y, d, f;
    if (mode == LRN_POW_1) {
        y = _mm256_rcp_ps(v);
        d = _mm256_fnmadd_ps(v, y, one);
        return _mm256_fmadd_ps(y, _mm256_fmadd_ps(d, d, d), y);
    }
    y = _mm256_rsqrt_ps(v);
    if (mode == LRN_POW_05) {
        d = _mm256_fnmadd_ps(_mm256_mul_ps(v, y), y, one);
        f = _mm256_fmadd_ps(d, _mm256_set1_ps(0.375f), _mm256_set1_ps(0.5f));
    }
    else {
        y = _mm256_mul_ps(y, _mm256_rsqrt_ps(_mm256_mul_ps(v, y)));
        __m256 w = _mm256_mul_ps(y, v);
        d = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_mul_ps(w, w), w), y, one);
        f = _mm256_fmadd_ps(d, _mm256_set1_ps(0.15625f), _mm256_set1_ps(0.25f));
    }
    return _mm256_fmadd_ps(y, _mm256_mul_ps(d, f), y);
}

/* lane by lane: the estimate where s is positive and normal and at most 2^125, IEEE
 * elsewhere (so a NaN or a zero never changes its neighbours' bits; rcp_ps gives 0
 * for an estimate of 1/s below 2^-126, which it may be from s = 2^126 on) */
static inline lrn_vf32 lrn_vpow_f32(lrn_vf32 sv, int mode)
{
    __m256 v = (__m256)sv;
    __m256 ok = _mm256_and_ps(_mm256_cmp_ps(v, _mm256_set1_ps(1.17549435e-38f), _CMP_GE_OQ),
                              _mm256_cmp_ps(v, _mm256_set1_ps(4.25352959e37f), _CMP_LE_OQ));
    __m256 r = lrn_pow_est8(v, mode);
    if (__builtin_expect(_mm256_movemask_ps(ok) != 0xFF, 0))
        r = _mm256_blendv_ps(lrn_pow_ieee8(v, mode), r, ok);
    return (lrn_vf32)r;
}

static inline int lrn_vany(lrn_vu32 m) { return !_mm256_testz_si256((__m256i)m, (__m256i)m); }
/* entries 0-7 and 8-15 permuted, bit 3 of the index (moved to the sign) picks.
 * Three of these (the index shift shared by two) cost the generic power what its
 * shorter polynomials save, here: 8.6-8.7 ns per vector of 8 against 8.2-8.5
 * before the tables (bench_pow.c -DBENCH_POW_AVX2, Zen 4; 1 / c_i by a division
 * instead, as on SSE2: the same) */
static inline lrn_vf32 lrn_vlut16_f32(const float *tab, lrn_vu32 i)
{
    __m256i v = (__m256i)i;
    __m256 a = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tab), v);
    __m256 b = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tab + 8), v);
    return (lrn_vf32)_mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(v, 28)));
}
static inline lrn_vf32 lrn_vmin_f32(lrn_vf32 a, lrn_vf32 b) { return (lrn_vf32)_mm256_min_ps((__m256)a, (__m256)b); }
static inline lrn_vf64 lrn_vmin_f64(lrn_vf64 a, lrn_vf64 b) { return (lrn_vf64)_mm256_min_pd((__m256d)a, (__m256d)b); }

/* lanes [0, n) of a mask: -1, the others 0 (32-bit lanes; a double lane is two) */
static const int lrn_mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline __m256i lrn_mask8(ptrdiff_t n32)
{
    return _mm256_loadu_si256((const __m256i *)(lrn_mask_tab + 8 - n32));
}
static inline lrn_vf32 lrn_vldp_f32(const float *p, ptrdiff_t n)
{
    return (lrn_vf32)_mm256_maskload_ps(p, lrn_mask8(n));
}
static inline void lrn_vstp_f32(float *p, lrn_vf32 v, ptrdiff_t n)
{
    _mm256_maskstore_ps(p, lrn_mask8(n), (__m256)v);
}
static inline lrn_vf64 lrn_vldp_f64(const double *p, ptrdiff_t n)
{
    return (lrn_vf64)_mm256_maskload_pd(p, lrn_mask8(2 * n));
}
static inline void lrn_vstp_f64(double *p, lrn_vf64 v, ptrdiff_t n)
{
    _mm256_maskstore_pd(p, lrn_mask8(2 * n), (__m256d)v);
}

/* No streaming stores on AVX2: vst_lines aligns its whole vectors to 32 bytes, so
 * half of a step's pairs straddle two 64-byte lines, and every row's first and
 * last line are written partly by ordinary stores: lines leave the write-combining
 * buffers half written.  Without them (builds alternated in one process,
 * LRN_AB_TARGET=AVX2, float32 beta 0.75, Zen 4): forward 32x96x55x55 9.37 ->
 * 4.75 ms with 1 thread, 32x256x27x27 6.59 -> 3.02, backward 32x96x55x55 14.3 ->
 * 9.2; the same bits.  Streaming whole 64-byte lines here (pairs aligned to 64)
 * could gain what it gains on AVX-512 (about a third of a forward's time). */
#define LRN_STREAM 0
static inline void lrn_vstream_f32(float *p, lrn_vf32 v) { _mm256_stream_ps(p, (__m256)v); }
static inline void lrn_vstream_f64(double *p, lrn_vf64 v) { _mm256_stream_pd(p, (__m256d)v); }
static inline void lrn_sfence(void) { _mm_sfence(); }

static inline lrn_vf64 lrn_vpow_f64(lrn_vf64 sv, int mode)
{
    __m256d v = (__m256d)sv, one = _mm256_set1_pd(1.0);
    if (mode == LRN_POW_1) return (lrn_vf64)_mm256_div_pd(one, v);
    __m256d r = _mm256_sqrt_pd(v);
    if (mode == LRN_POW_05) return (lrn_vf64)_mm256_div_pd(one, r);
    return (lrn_vf64)_mm256_div_pd(one, _mm256_mul_pd(r, _mm256_sqrt_pd(r)));
}

#else
/* IEEE square roots and divisions, lane by lane */
#define LRN_LANES_VPOW(NAME, VT, T, SQ)                                            \
static inline VT NAME(VT s, int mode)                                              \
{                                                                                  \
    VT r;                                                                          \
    for (int i = 0; i < (int)(sizeof(VT) / sizeof(T)); i++) {                      \
        T v = s[i];                                                                \
        if (mode == LRN_POW_1) r[i] = (T)1 / v;                                    \
        else if (mode == LRN_POW_05) r[i] = (T)1 / SQ(v);                          \
        else { T q = SQ(v); r[i] = (T)1 / (q * SQ(q)); }                           \
    }                                                                              \
    return r;                                                                      \
}
LRN_LANES_VPOW(lrn_vpow_f32, lrn_vf32, float, __builtin_sqrtf)
LRN_LANES_VPOW(lrn_vpow_f64, lrn_vf64, double, __builtin_sqrt)

#define LRN_LANES_PARTIAL(SUF, VT, T)                                              \
static inline VT lrn_vldp_##SUF(const T *p, ptrdiff_t n)                           \
{                                                                                  \
    VT v = {0};                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) v[i] = p[i];                                 \
    return v;                                                                      \
}                                                                                  \
static inline void lrn_vstp_##SUF(T *p, VT v, ptrdiff_t n)                         \
{                                                                                  \
    for (ptrdiff_t i = 0; i < n; i++) p[i] = v[i];                                 \
}
LRN_LANES_PARTIAL(f32, lrn_vf32, float)
LRN_LANES_PARTIAL(f64, lrn_vf64, double)

#define LRN_STREAM 0
static inline void lrn_vstream_f32(float *p, lrn_vf32 v) { __builtin_memcpy(p, &v, sizeof v); }
static inline void lrn_vstream_f64(double *p, lrn_vf64 v) { __builtin_memcpy(p, &v, sizeof v); }
static inline void lrn_sfence(void) {}

static inline int lrn_vany(lrn_vu32 m)
{
    unsigned int a = 0;
    for (int i = 0; i < (int)(sizeof m / sizeof a); i++) a |= m[i];
    return a != 0;
}
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
/* the indices through two general registers (their shifts and masks off the
 * vector pipes), four scalar loads, three shuffles; 1 / c_i by a division instead
 * of a lookup (the same value, correctly rounded): the generic power 1.06x its time
 * before the tables (bench_pow.c -DBENCH_POW_BASELINE), 1.35x with three lookups of
 * lane by lane code */
static inline lrn_vf32 lrn_vlut16_f32(const float *tab, lrn_vu32 i)
{
    __m128i v = (__m128i)i;
    unsigned long long lo = (unsigned long long)_mm_cvtsi128_si64(v);
    unsigned long long hi = (unsigned long long)_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v));
    __m128 a = _mm_load_ss(tab + (lo & 15)), b = _mm_load_ss(tab + ((lo >> 32) & 15));
    __m128 c = _mm_load_ss(tab + (hi & 15)), d = _mm_load_ss(tab + ((hi >> 32) & 15));
    return (lrn_vf32)_mm_movelh_ps(_mm_unpacklo_ps(a, b), _mm_unpacklo_ps(c, d));
}
#define LRN_INV_BY_DIVISION 1
#elif defined(__aarch64__)
#include <arm_neon.h>
/* a 64-byte table lookup: lane k's bytes 4 i_k .. 4 i_k + 3 */
static inline lrn_vf32 lrn_vlut16_f32(const float *tab, lrn_vu32 i)
{
    uint8x16x4_t t = {{vld1q_u8((const uint8_t *)tab), vld1q_u8((const uint8_t *)(tab + 4)),
                       vld1q_u8((const uint8_t *)(tab + 8)), vld1q_u8((const uint8_t *)(tab + 12))}};
    uint32x4_t k = vandq_u32((uint32x4_t)i, vdupq_n_u32(15));
    uint32x4_t bytes = vmlaq_n_u32(vdupq_n_u32(0x03020100u), k, 0x04040404u);
    return (lrn_vf32)vqtbl4q_u8(t, vreinterpretq_u8_u32(bytes));
}
#else
static inline lrn_vf32 lrn_vlut16_f32(const float *tab, lrn_vu32 i)
{
    lrn_vf32 r;
    for (int j = 0; j < (int)(sizeof r / sizeof r[0]); j++) r[j] = tab[i[j] & 15u];
    return r;
}
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
static inline lrn_vf32 lrn_vmin_f32(lrn_vf32 a, lrn_vf32 b) { return (lrn_vf32)_mm_min_ps((__m128)a, (__m128)b); }
static inline lrn_vf64 lrn_vmin_f64(lrn_vf64 a, lrn_vf64 b) { return (lrn_vf64)_mm_min_pd((__m128d)a, (__m128d)b); }
#elif defined(__aarch64__)
#include <arm_neon.h>
/* vminnm: the number where one operand is NaN */
static inline lrn_vf32 lrn_vmin_f32(lrn_vf32 a, lrn_vf32 b) { return (lrn_vf32)vminnmq_f32((float32x4_t)a, (float32x4_t)b); }
static inline lrn_vf64 lrn_vmin_f64(lrn_vf64 a, lrn_vf64 b) { return (lrn_vf64)vminnmq_f64((float64x2_t)a, (float64x2_t)b); }
#else
#define LRN_LANES_MIN(SUF, VT)                                                     \
static inline VT lrn_vmin_##SUF(VT a, VT b)                                        \
{                                                                                  \
    VT r;                                                                          \
    for (int i = 0; i < (int)(sizeof(VT) / sizeof(a[0])); i++) r[i] = a[i] < b[i] ? a[i] : b[i]; \
    return r;                                                                      \
}
LRN_LANES_MIN(f32, lrn_vf32)
LRN_LANES_MIN(f64, lrn_vf64)
#endif
#endif

/* s^-beta, and 1/s in *iv, for a fast beta: the two powers (AVX-512 has its own) */
#ifndef LRN_HAVE_VPOW_RCP
#define LRN_VPOW_RCP(NAME, VT)                                                     \
static inline VT NAME##_rcp(VT s, int mode, VT *iv)                                \
{                                                                                  \
    *iv = NAME(s, LRN_POW_1);                                                      \
    return mode == LRN_POW_1 ? *iv : NAME(s, mode);                                \
}
LRN_VPOW_RCP(lrn_vpow_f32, lrn_vf32)
LRN_VPOW_RCP(lrn_vpow_f64, lrn_vf64)
#endif

/* the same elsewhere, on the bits: the exponent field less 127, converted; and
 * floor(f) added to e's exponent field, from fb, the bits of 1.5 * 2^19 + f (f a
 * multiple of 1/16, |f| < 2^18): fb = bits(1.5 * 2^19) + 16 f, so fb >> 4 is
 * floor(f) plus a constant that << 23 shifts out entirely */
#ifndef LRN_HAVE_VSCALE
static inline int lrn_vany_gtu(lrn_vu32 a, lrn_vu32 b) { return lrn_vany(a > b); }
static inline lrn_vf32 lrn_vexpo_f32(lrn_vu32 b)
{
    return __builtin_convertvector((lrn_vi32)(b >> 23) - 127, lrn_vf32);
}
static inline lrn_vf32 lrn_vscale_f32(lrn_vf32 e, lrn_vf32 f, lrn_vu32 fb)
{
    (void)f;
    return (lrn_vf32)((lrn_vu32)e + ((fb >> 4) << 23));
}
#endif

/* The generic power s^-beta (float) on a vector whose lanes are all in the fast
 * range of c (lrn_math.h: positive, normal, normal result): lane for lane the
 * operations of lrn_powf_full there, so the same bits on every target. */
static inline lrn_vf32 lrn_vpowf_fast(lrn_vf32 s, const lrn_powf *c)
{
    lrn_vu32 b = (lrn_vu32)s, i = b >> 19;       /* the lookups take its low 4 bits */
    lrn_vf32 ef = lrn_vexpo_f32(b);
    lrn_vf32 m = (lrn_vf32)((b & 0x007fffffu) | 0x3f800000u);
    lrn_vf32 mc = (lrn_vf32)((b & 0x00780000u) | 0x3f840000u);
#ifdef LRN_INV_BY_DIVISION
    lrn_vf32 u = (m - mc) * (1.0f / mc);         /* = lrn_pow_inv[i], correctly rounded */
#else
    lrn_vf32 u = (m - mc) * lrn_vlut16_f32(lrn_pow_inv, i);
#endif
    const float *q = c->q;
    lrn_vf32 p = (q[0] + q[1] * u) + (u * u) * (q[2] + q[3] * u);
    lrn_vf32 wh = ef * c->nbh;
    lrn_vf32 wl = lrn_vlut16_f32(c->lg, i) + (u * p + ef * c->nbl);
    lrn_vf32 sh = (wh + wl) + LRN_SHIFTER16_F, n16 = sh - LRN_SHIFTER16_F;
    lrn_vf32 r = (wh - n16) + wl;
    lrn_vu32 sb = (lrn_vu32)sh;
    lrn_vf32 x = lrn_vlut16_f32(lrn_pow_exp2, sb);
    lrn_vf32 e = x + x * (r * ((LRN_E1 + LRN_E2 * r) + (r * r) * LRN_E3));
    return lrn_vscale_f32(e, n16, sb);
}

#endif
