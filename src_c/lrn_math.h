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

#endif
