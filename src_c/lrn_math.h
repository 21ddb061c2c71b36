/* Branch-free double precision log/exp that gcc vectorises without
 * -ffast-math (bit manipulation through memcpy, selects instead of branches).
 * Used for the generic power s^-beta of both float and double kernels:
 * relative error a few ulp of double, far below float32 resolution. */
#ifndef LRN_FAST_MATH_H
#define LRN_FAST_MATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline double lrn_as_double(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }
static inline uint64_t lrn_as_bits(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

#define LRN_SHIFTER 6755399441055744.0          /* 1.5 * 2^52: rounds to integer */
#define LRN_SHIFTER_BITS 0x4338000000000000ULL
#define LRN_LN2_HI 6.93147180369123816490e-01
#define LRN_LN2_LO 1.90821492927058770002e-10

/* 2^n for an integer-valued double n in [-1022, 1023] */
static inline double lrn_pow2i(double n)
{
    uint64_t b = lrn_as_bits(n + LRN_SHIFTER) - LRN_SHIFTER_BITS + 1023u;
    return lrn_as_double(b << 52);
}

/* Polynomials are evaluated with Estrin's scheme: short dependency chains, so
 * that the out-of-order core overlaps many elements (Horner's chain made the
 * loop latency bound).  `full` selects double precision (1) or a shorter
 * polynomial that is still far below float32 resolution (0, ~1e-10). */

/* exp(v); +inf -> inf, -inf -> 0, NaN -> NaN; gradual underflow. */
static inline double lrn_exp(double v, int full)
{
    double w = v > 710.0 ? 710.0 : v;
    w = w < -746.0 ? -746.0 : w;
    double n = (w * 1.44269504088896338700e+00 + LRN_SHIFTER) - LRN_SHIFTER;
    double r = (w - n * LRN_LN2_HI) - n * LRN_LN2_LO;
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    /* Taylor coefficients 1/k! */
    double p01 = 1.0 + r, p23 = 0.5 + r * (1.0 / 6), p45 = 1.0 / 24 + r * (1.0 / 120),
           p67 = 1.0 / 720 + r * (1.0 / 5040), p89 = 1.0 / 40320 + r * (1.0 / 362880);
    double lo = (p01 + r2 * p23) + r4 * (p45 + r2 * p67);
    double hi;
    if (full) {
        double pab = 1.0 / 3628800 + r * (1.0 / 39916800),
               pcd = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
        hi = (p89 + r2 * pab) + r4 * pcd;
    }
    else {
        hi = p89;
    }
    double p = lo + r8 * hi;
    /* split 2^n in two factors so that underflow is gradual */
    double n1 = (n * 0.5 + LRN_SHIFTER) - LRN_SHIFTER;
    double n2 = n - n1;
    return (p * lrn_pow2i(n1)) * lrn_pow2i(n2);
}

/* log(a) for a >= 0: 0 -> -inf, inf -> inf, NaN -> NaN (a < 0 -> NaN). */
static inline double lrn_log(double a, int full)
{
    int sub = a < 2.2250738585072014e-308;
    double an = sub ? a * 18014398509481984.0 : a;     /* 2^54 */
    uint64_t b = lrn_as_bits(an);
    /* exponent such that the mantissa falls in [sqrt(1/2), sqrt(2)) */
    uint64_t ix = b - 0x3fe6a09e667f3bcdULL + (1023ULL << 52);
    uint64_t eu = ix >> 52;
    double m = lrn_as_double(b - (eu << 52) + (1023ULL << 52));
    double e = (lrn_as_double(eu | 0x4330000000000000ULL) - 4503599627370496.0) - 1023.0
               - (sub ? 54.0 : 0.0);
    /* log(m) = 2 atanh(f) = 2 f (1 + z/3 + z^2/5 + ...), z = f^2 <= 0.0295 */
    double f = (m - 1.0) / (m + 1.0);
    double z = f * f, z2 = z * z, z4 = z2 * z2;
    double p01 = 1.0 + z * (1.0 / 3), p23 = 1.0 / 5 + z * (1.0 / 7),
           p45 = 1.0 / 9 + z * (1.0 / 11), p67 = 1.0 / 13 + z * (1.0 / 15);
    double q;
    if (full) {
        double p89 = 1.0 / 17 + z * (1.0 / 19), pab = 1.0 / 21 + z * (1.0 / 23);
        q = ((p01 + z2 * p23) + z4 * (p45 + z2 * p67)) + (z4 * z4) * (p89 + z2 * pab);
    }
    else {
        q = (p01 + z2 * p23) + z4 * (p45 + z2 * p67);
    }
    double res = e * LRN_LN2_HI + (e * LRN_LN2_LO + 2.0 * f * q);
    res = a == 0.0 ? -__builtin_inf() : res;
    res = a == __builtin_inf() ? a : res;
    res = (a < 0.0 || a != a) ? __builtin_nan("") : res;
    return res;
}

/* s^-beta for beta != 0, with the sign rule of pow for a negative base:
 * neg_factor is NaN (beta not an integer), 1 (even integer) or -1 (odd integer);
 * lrn_neg_factor() gives it. */
static inline double lrn_neg_factor(int parity)
{
    return parity == 0 ? __builtin_nan("") : (parity == 1 ? 1.0 : -1.0);
}

static inline double lrn_pow_neg(double s, double beta, double neg_factor, int full)
{
    double a = s < 0.0 ? -s : s;
    double t = lrn_exp(-beta * lrn_log(a, full), full);
    return s < 0.0 ? t * neg_factor : t;
}


/* ---- float32: s^-beta in float arithmetic ---------------------------------------
 * s = 2^e m with e an integer and m in [sqrt(1/2), sqrt(2)) (exponent bits only);
 * -beta log2 s = -beta e - beta log2 m is split as wh + wl, wh = -bh e exact
 * (bh: beta to 12 significant bits, |e| <= 150), so that the fraction of the
 * exponent keeps float accuracy however large e is; 2^w = 2^n 2^r, n = round(w),
 * r = (wh - n) + wl in [-1/2, 1/2], 2^n put in by adding n to the exponent bits.
 * No division, no table: two polynomials, coefficients derived for this file
 * (Lawson/IRLS minimax on a 40001-point Chebyshev grid in float64):
 *   log2(1 + x) ~ x (L0 + L1 x + ... + L8 x^8), x = m - 1 (exact) in
 *     [sqrt(1/2) - 1, sqrt(2) - 1]: absolute error 6.7e-9;
 *     scaled by -beta (in double) once per call, so -beta log2 m costs no multiply.
 *   2^r ~ 1 + E1 r + ... + E6 r^6 on [-1/2, 1/2]: relative error 3.0e-9 with the
 *     float coefficients below (fitted one at a time after rounding the previous).
 * No fused multiply-adds (the baseline target has none, and every target must
 * give the same bits); Estrin's scheme keeps the dependency chains short.
 * Measured over all 2^31 positive floats against double pow (src_c/test/test_pow_f32.c):
 * max relative error 1.8e-7 (beta 0.25), 2.0e-7 (0.6, -0.6), 2.2e-7 (0.9), 2.4e-7 (1.5),
 * 2.7e-7 (2), 3.1e-7 (3), 4.3e-7 (3.7): it grows with |beta| (float rounding of
 * -beta log2 m); subnormal results within the same relative error (gradual underflow).
 *
 * Two versions: lrn_powf_fast for s in [lo, hi] (positive, normal, and such that
 * the result is normal: no special case, no clamp), and lrn_powf_full for every
 * input (subnormal s rescaled; w clamped and 2^n applied as two factors so that
 * underflow is gradual and overflow gives inf; 0, inf, NaN and s < 0 by selects).
 * The kernels check a vector's lanes and pick the version (vpow_generic in
 * lrn_kernels.h); the two agree bit for bit inside the fast range. */
static inline float lrn_as_float(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t lrn_as_bits32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

#define LRN_SHIFTER_F 12582912.0f                /* 1.5 * 2^23: rounds to integer */

static const double lrn_log2_coef[9] = {
    1.4426948685559811, -0.72134712846774285, 0.48092252889540044,
    -0.36072119546915832, 0.28765667563702713, -0.23851943487811741,
    0.21737937574951391, -0.21030335527812574, 0.12541247097635824};
#define LRN_E1 0.693147182f
#define LRN_E2 0.240226477f
#define LRN_E3 0.0555035993f
#define LRN_E4 0.00961850584f
#define LRN_E5 0.00133908063f
#define LRN_E6 0.000153264657f

typedef struct {
    float q[9];              /* -beta * lrn_log2_coef */
    float nbh, nbl;          /* -bh, -(beta - bh) */
    uint32_t lo, span;       /* fast path: lo <= bits(s) <= lo + span */
    float neg_factor, at0, atinf;
} lrn_powf;

static inline void lrn_powf_init(lrn_powf *c, double beta, int parity)
{
    float bh = lrn_as_float(lrn_as_bits32((float)beta) & 0xfffff800u);
    double ab = beta < 0 ? -beta : beta;
    for (int i = 0; i < 9; i++) c->q[i] = (float)(-beta * lrn_log2_coef[i]);
    c->nbh = -bh;
    c->nbl = (float)((double)bh - beta);
    /* |w| <= |beta| |log2 s| must stay <= 125 (2^n p normal, n within [-125, 125]) */
    if (ab * 128.0 <= 125.0) {
        c->lo = 0x00800000u;                     /* FLT_MIN .. FLT_MAX */
        c->span = 0x7f7fffffu - 0x00800000u;
    }
    else {
        int E = (int)(125.0 / ab);               /* s in [2^-E, 2^E], normal */
        E = E > 126 ? 126 : E;
        c->lo = (uint32_t)(127 - E) << 23;
        c->span = ((uint32_t)(127 + E) << 23) - c->lo;
    }
    c->neg_factor = (float)lrn_neg_factor(parity);
    c->at0 = beta > 0 ? __builtin_inff() : 0.0f;
    c->atinf = beta > 0 ? 0.0f : __builtin_inff();
}

/* wh + wl = -beta log2 s for s positive normal (bits), e_off subtracted from e */
static inline void lrn_powf_w(uint32_t bits, float e_off, const lrn_powf *c,
                              float *wh, float *wl)
{
    int32_t ei = (int32_t)(bits - 0x3f3504f3u) >> 23;     /* 0x3f3504f3: sqrt(1/2) */
    float x = lrn_as_float(bits - ((uint32_t)ei << 23)) - 1.0f;
    float e = (float)ei - e_off;
    /* Estrin's scheme: a short dependency chain (Horner's made the loop latency bound) */
    const float *q = c->q;
    float x2 = x * x, x4 = x2 * x2;
    float p03 = (q[0] + q[1] * x) + x2 * (q[2] + q[3] * x);
    float p47 = (q[4] + q[5] * x) + x2 * (q[6] + q[7] * x);
    float p = p03 + x4 * (p47 + x4 * q[8]);
    *wh = e * c->nbh;                                    /* exact */
    *wl = e * c->nbl + x * p;
}

/* 2^r, |r| <= 1/2 (+ rounding) */
static inline float lrn_exp2_poly(float r)
{
    float r2 = r * r, r4 = r2 * r2;
    return ((1.0f + LRN_E1 * r) + r2 * (LRN_E2 + LRN_E3 * r))
           + r4 * ((LRN_E4 + LRN_E5 * r) + r2 * LRN_E6);
}

static inline float lrn_powf_fast(float s, const lrn_powf *c)
{
    float wh, wl;
    lrn_powf_w(lrn_as_bits32(s), 0.0f, c, &wh, &wl);
    float sh = (wh + wl) + LRN_SHIFTER_F;
    float n = sh - LRN_SHIFTER_F;
    float p = lrn_exp2_poly((wh - n) + wl);
    /* the low bits of sh hold n: bits(sh) << 23 == n << 23 (mod 2^32) */
    return lrn_as_float(lrn_as_bits32(p) + (lrn_as_bits32(sh) << 23));
}

/* 2^n for an integer-valued float n in [-126, 127] */
static inline float lrn_pow2i_f(float n)
{
    uint32_t b = lrn_as_bits32(n + LRN_SHIFTER_F) - lrn_as_bits32(LRN_SHIFTER_F) + 127u;
    return lrn_as_float(b << 23);
}

static inline float lrn_powf_full(float s, const lrn_powf *c)
{
    float a = lrn_as_float(lrn_as_bits32(s) & 0x7fffffffu);
    int sub = a < 1.17549435e-38f;
    float an = sub ? a * 16777216.0f : a;               /* 2^24 */
    float wh, wl;
    lrn_powf_w(lrn_as_bits32(an), sub ? 24.0f : 0.0f, c, &wh, &wl);
    float w = wh + wl;
    w = w > 130.0f ? 130.0f : w;
    w = w < -160.0f ? -160.0f : w;
    float n = (w + LRN_SHIFTER_F) - LRN_SHIFTER_F;
    float r = (wh - n) + wl;            /* in [-0.5, 0.5]; where w was clamped the result */
    r = r > 1.0f ? 1.0f : r;            /* over- or underflows whatever r is: keep it small */
    r = r < -1.0f ? -1.0f : r;
    /* 2^n in two factors: a subnormal result is rounded once, at the last product */
    float n1 = (n * 0.5f + LRN_SHIFTER_F) - LRN_SHIFTER_F, n2 = n - n1;
    float res = (lrn_exp2_poly(r) * lrn_pow2i_f(n1)) * lrn_pow2i_f(n2);
    /* 0 -> 0^-beta, inf -> inf^-beta, NaN -> NaN */
    res = a == 0.0f ? c->at0 : res;
    res = a == __builtin_inff() ? c->atinf : res;
    res = a != a ? a : res;
    return s < 0.0f ? res * c->neg_factor : res;
}

#endif
