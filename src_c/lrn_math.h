/* Branch-free double precision log/exp that gcc vectorises without
 * -ffast-math (bit manipulation through memcpy, selects instead of branches).
 * Used for the generic power s^-beta of both float and double kernels:
 * relative error a few ulp of double, far below float32 resolution. */
#ifndef LRN_FAST_MATH_H
#define LRN_FAST_MATH_H

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


/* ---- float32: s^-beta in float arithmetic, without losing accuracy for large |log s|
 * log2 s = e + log2 m (e an exact integer, m in [sqrt(1/2), sqrt(2))); beta = bh + bl
 * with bh holding 12 significant bits, so bh * e is exact and the product
 * -beta log2 s = -(bh e) - (bl e + beta log2 m) keeps float accuracy in its
 * fraction whatever the exponent; 2^fraction by a polynomial, 2^integer by bits.
 * Relative error a few float ulps (< 5e-7) for every s. */
static inline float lrn_as_float(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t lrn_as_bits32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

#define LRN_SHIFTER_F 12582912.0f                /* 1.5 * 2^23 */

/* 2^n for an integer-valued float n in [-126, 127] */
static inline float lrn_pow2i_f(float n)
{
    uint32_t b = lrn_as_bits32(n + LRN_SHIFTER_F) - lrn_as_bits32(LRN_SHIFTER_F) + 127u;
    return lrn_as_float(b << 23);
}

static inline float lrn_pow_neg_f32(float s, float b, float bh, float bl, float neg_factor,
                                     float at0, float atinf)
{
    float a = s < 0.0f ? -s : s;
    int sub = a < 1.17549435e-38f;
    float an = sub ? a * 16777216.0f : a;               /* 2^24 */
    uint32_t bits = lrn_as_bits32(an);
    uint32_t ix = bits - 0x3f3504f3u + (127u << 23);    /* sqrt(1/2) */
    uint32_t eu = ix >> 23;
    float m = lrn_as_float(bits - (eu << 23) + (127u << 23));
    float e = (lrn_as_float(eu | 0x4b000000u) - 8388608.0f) - 127.0f - (sub ? 24.0f : 0.0f);
    float f = (m - 1.0f) / (m + 1.0f), z = f * f, z2 = z * z;
    /* log2 m = 2/ln 2 (f + f^3/3 + ... + f^11/11) */
    float q = ((1.0f + z * (1.0f / 3)) + z2 * ((1.0f / 5) + z * (1.0f / 7)))
              + (z2 * z2) * ((1.0f / 9) + z * (1.0f / 11));
    float l2m = (2.8853900817779268f * f) * q;
    float wh = -(bh * e);                               /* exact */
    float wl = -(bl * e + b * l2m);
    float w = wh + wl;
    w = w > 130.0f ? 130.0f : w;
    w = w < -160.0f ? -160.0f : w;
    float n = (w + LRN_SHIFTER_F) - LRN_SHIFTER_F;
    float r = (wh - n) + wl;            /* in [-0.5, 0.5]; where w was clamped the result */
    r = r > 1.0f ? 1.0f : r;            /* over- or underflows whatever r is: keep it small */
    r = r < -1.0f ? -1.0f : r;
    /* 2^r = sum (r ln 2)^k / k!, k <= 7 */
    float t = r * 0.69314718055994531f, t2 = t * t, t4 = t2 * t2;
    float p = ((1.0f + t) + t2 * (0.5f + t * (1.0f / 6)))
              + t4 * ((1.0f / 24 + t * (1.0f / 120)) + t2 * (1.0f / 720 + t * (1.0f / 5040)));
    float n1 = (n * 0.5f + LRN_SHIFTER_F) - LRN_SHIFTER_F, n2 = n - n1;
    float res = (p * lrn_pow2i_f(n1)) * lrn_pow2i_f(n2);
    /* 0 -> 0^-beta, inf -> inf^-beta (at0, atinf: given by the caller), NaN -> NaN */
    res = a == 0.0f ? at0 : res;
    res = a == __builtin_inff() ? atinf : res;
    res = a != a ? a : res;
    return s < 0.0f ? res * neg_factor : res;
}

#endif
