/* Fast s^-beta for beta = 0.75, 0.5 and 1 on one row, for the targets that
 * have reciprocal (square root) estimates: AVX-512 (float and double) and
 * AVX2 (float).  Estimates are refined by Newton steps to about an ulp; 0 and
 * inf are mapped exactly (0 -> inf, inf -> 0), negative and NaN give NaN.
 * Returns 0 when the target has no fast path, and the caller uses IEEE sqrt
 * and division instead.  The row tail goes through the same vector code
 * (masked or padded), so every element is computed alike. */
#ifndef LRN_FAST_SIMD_H
#define LRN_FAST_SIMD_H

#include <stddef.h>
#include "lrn.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#include <immintrin.h>

/* one Newton step for y ~ 1/sqrt(s): y (1.5 - 0.5 s y^2) */
#define LRN_NR_RSQRT(VT, SUF, s, y)                                                \
    _mm512_mul_##SUF(y, _mm512_fnmadd_##SUF(_mm512_mul_##SUF(_mm512_mul_##SUF(s, y), \
                     _mm512_set1_##SUF(0.5)), y, _mm512_set1_##SUF(1.5)))
/* one Newton step for y ~ 1/s: y (2 - s y) */
#define LRN_NR_RCP(VT, SUF, s, y)                                                  \
    _mm512_mul_##SUF(y, _mm512_fnmadd_##SUF(s, y, _mm512_set1_##SUF(2.0)))

#define LRN_AVX512_POW(NAME, T, VT, SUF, MASKT, W, LOAD, STORE, STEPS)             \
static int NAME(T *t, const T *s, ptrdiff_t m, int mode)                           \
{                                                                                  \
    const VT zero = _mm512_setzero_##SUF();                                         \
    const VT inf = _mm512_set1_##SUF((T)__builtin_inf());                           \
    for (ptrdiff_t p = 0; p < m; p += W) {                                          \
        MASKT mk = m - p >= W ? (MASKT)~(MASKT)0 : (MASKT)(((MASKT)1 << (m - p)) - 1); \
        VT v = LOAD(mk, s + p);                                                     \
        MASKT is0 = _mm512_cmp_##SUF##_mask(v, zero, _CMP_EQ_OQ);                   \
        MASKT isinf = _mm512_cmp_##SUF##_mask(v, inf, _CMP_EQ_OQ);                  \
        VT r;                                                                       \
        if (mode == LRN_POW_1) {                                                    \
            r = _mm512_rcp14_##SUF(v);                                              \
            for (int i = 0; i < STEPS; i++) r = LRN_NR_RCP(VT, SUF, v, r);          \
            r = _mm512_mask_div_##SUF(r, is0, _mm512_set1_##SUF(1.0), v); /* +-inf */ \
        }                                                                           \
        else {                                                                      \
            VT q = _mm512_rsqrt14_##SUF(v);                                         \
            for (int i = 0; i < STEPS; i++) q = LRN_NR_RSQRT(VT, SUF, v, q);        \
            if (mode == LRN_POW_05) r = q;                                          \
            else {                       /* s^-0.75 = q (q s^0.25), s^0.25 = 1/sqrt(q) */ \
                VT h = _mm512_rsqrt14_##SUF(q);                                     \
                for (int i = 0; i < STEPS; i++) h = LRN_NR_RSQRT(VT, SUF, q, h);    \
                r = _mm512_mul_##SUF(q, _mm512_mul_##SUF(q, h));                    \
            }                                                                       \
            r = _mm512_mask_mov_##SUF(r, is0, inf);                                 \
        }                                                                           \
        r = _mm512_mask_mov_##SUF(r, isinf, zero);                                  \
        STORE(t + p, mk, r);                                                        \
    }                                                                               \
    return 1;                                                                       \
}

#define LRN_LD_PS(mk, a) _mm512_maskz_loadu_ps(mk, a)
#define LRN_ST_PS(a, mk, v) _mm512_mask_storeu_ps(a, mk, v)
#define LRN_LD_PD(mk, a) _mm512_maskz_loadu_pd(mk, a)
#define LRN_ST_PD(a, mk, v) _mm512_mask_storeu_pd(a, mk, v)
LRN_AVX512_POW(lrn_fast_pow_f32, float, __m512, ps, __mmask16, 16, LRN_LD_PS, LRN_ST_PS, 1)
LRN_AVX512_POW(lrn_fast_pow_f64, double, __m512d, pd, __mmask8, 8, LRN_LD_PD, LRN_ST_PD, 2)

#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline __m256 lrn_nr_rsqrt8(__m256 s, __m256 y)
{
    __m256 hsy = _mm256_mul_ps(_mm256_mul_ps(s, y), _mm256_set1_ps(0.5f));
    return _mm256_mul_ps(y, _mm256_fnmadd_ps(hsy, y, _mm256_set1_ps(1.5f)));
}

static inline __m256 lrn_pow8(__m256 v, int mode)
{
    const __m256 zero = _mm256_setzero_ps(), inf = _mm256_set1_ps(__builtin_inff());
    __m256 is0 = _mm256_cmp_ps(v, zero, _CMP_EQ_OQ);
    __m256 isinf = _mm256_cmp_ps(v, inf, _CMP_EQ_OQ);
    __m256 r;
    if (mode == LRN_POW_1) {
        r = _mm256_rcp_ps(v);                      /* 12 bits: two Newton steps */
        r = _mm256_mul_ps(r, _mm256_fnmadd_ps(v, r, _mm256_set1_ps(2.0f)));
        r = _mm256_mul_ps(r, _mm256_fnmadd_ps(v, r, _mm256_set1_ps(2.0f)));
        r = _mm256_blendv_ps(r, _mm256_div_ps(_mm256_set1_ps(1.0f), v), is0);
    }
    else {
        __m256 q = lrn_nr_rsqrt8(v, lrn_nr_rsqrt8(v, _mm256_rsqrt_ps(v)));
        if (mode == LRN_POW_05) r = q;
        else {
            __m256 h = lrn_nr_rsqrt8(q, lrn_nr_rsqrt8(q, _mm256_rsqrt_ps(q)));
            r = _mm256_mul_ps(q, _mm256_mul_ps(q, h));
        }
        r = _mm256_blendv_ps(r, inf, is0);
    }
    return _mm256_blendv_ps(r, zero, isinf);
}

static int lrn_fast_pow_f32(float *t, const float *s, ptrdiff_t m, int mode)
{
    ptrdiff_t p = 0;
    for (; p + 8 <= m; p += 8) _mm256_storeu_ps(t + p, lrn_pow8(_mm256_loadu_ps(s + p), mode));
    if (p < m) {                       /* the tail, padded, through the same code */
        float buf[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        for (ptrdiff_t i = p; i < m; i++) buf[i - p] = s[i];
        _mm256_storeu_ps(buf, lrn_pow8(_mm256_loadu_ps(buf), mode));
        for (ptrdiff_t i = p; i < m; i++) t[i] = buf[i - p];
    }
    return 1;
}

static int lrn_fast_pow_f64(double *t, const double *s, ptrdiff_t m, int mode)
{
    (void)t; (void)s; (void)m; (void)mode;
    return 0;
}

#else
static int lrn_fast_pow_f32(float *t, const float *s, ptrdiff_t m, int mode)
{
    (void)t; (void)s; (void)m; (void)mode;
    return 0;
}
static int lrn_fast_pow_f64(double *t, const double *s, ptrdiff_t m, int mode)
{
    (void)t; (void)s; (void)m; (void)mode;
    return 0;
}
#endif

#endif
