/* Branch-free double precision log/exp that gcc vectorises without
 * -ffast-math (bit manipulation through memcpy, selects instead of branches).
 * Used for the generic power s^-beta of the double kernels: relative error a
 * few ulp of double.  The float kernels' generic power is the float32 section
 * below (tables and short polynomials in float arithmetic). */
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
 * s = 2^e m with e an integer and m in [1, 2) (exponent bits only); m falls in
 * one of 16 intervals [1 + i/16, 1 + (i+1)/16) (its top 4 mantissa bits), centre
 * c_i = (33 + 2i)/32: log2 m = log2 c_i + log2(1 + u), u = (m - c_i) / c_i,
 * |u| <= 1/33, with m - c_i exact and 1/c_i from a table.
 * -beta log2 s = -beta e - beta log2 c_i - beta log2(1 + u) is split as wh + wl,
 * wh = -bh e exact (bh: beta to 12 significant bits, |e| <= 150), so that the
 * fraction of the exponent keeps float accuracy however large e is.
 * 2^w = 2^n 2^(j/16) 2^r: n + j/16 = w rounded to a sixteenth (adding 1.5 * 2^19
 * leaves it in the low bits), r = (wh - n - j/16) + wl in [-1/32, 1/32],
 * 2^(j/16) from a table, 2^n put in by adding n to the exponent bits.
 * Three 16-entry tables (one vector permute each on AVX-512) and two short
 * polynomials, coefficients derived for this file (iteratively reweighted least
 * squares towards minimax on a 4001-point Chebyshev grid in float64):
 *   log2(1 + u) ~ u (L0 + L1 u + L2 u^2 + L3 u^3) on |u| <= 1/33: absolute error 4.7e-10,
 *     scaled by -beta (in double) once per call, so that it costs no multiply;
 *   2^r - 1 ~ r (E1 + E2 r + E3 r^2) on |r| <= 1/32: absolute error 1.6e-9.
 * No fused multiply-adds (the baseline target has none, and every target must
 * give the same bits).  Before the tables (2026-11-28) the power took degree-9
 * and degree-6 polynomials over [sqrt(1/2) - 1, sqrt(2) - 1] and [-1/2, 1/2]:
 * 10.0 ns per AVX-512 vector against 7.0 now (src_c/test/bench_pow.c; 8.3 with
 * the exponent taken and put back by shifts, as on the other targets, where
 * AVX-512 has vgetexpps and vscalefps), and its errors were 1.2-1.9x these.
 * Against double pow (src_c/test/test_pow_f32.c, every 61st positive float): max
 * relative error 1.1e-7 (beta 0.25), 1.4e-7 (0.6, -0.6, 0.9), 1.7e-7 (1.5),
 * 1.6e-7 (2), 2.1e-7 (3), 2.5e-7 (3.7), 2.2e-7 (-2.5): it grows with |beta|
 * (float rounding of -beta log2 c_i and of the sum wl); subnormal results within
 * 1.3 units of 2^-149.
 *
 * Two versions: lrn_vpowf_fast (lrn_simd.h: a vector, every lane in [lo, hi]:
 * positive, normal, and such that the result is normal: no special case, no clamp),
 * and lrn_powf_full below for every input (subnormal s rescaled; w clamped and 2^n
 * applied as two factors so that underflow is gradual and overflow gives inf; 0,
 * inf, NaN and s < 0 by selects).  The kernels check a vector's lanes and pick the
 * version (vpow_generic in lrn_kernels.h); the two agree bit for bit inside the
 * fast range (the same operations in the same order; test_pow_f32.c checks it). */
static inline float lrn_as_float(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t lrn_as_bits32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

#define LRN_SHIFTER16_F 786432.0f              /* 1.5 * 2^19: rounds to a sixteenth */
#define LRN_SHIFTER16_BITS 0x49400000u

/* 1 / c_i and 2^(j/16), rounded to float; log2 c_i rounded to double */
static const float lrn_pow_inv[16] = {
    9.696969986e-01f, 9.142857194e-01f, 8.648648858e-01f, 8.205128312e-01f,
    7.804877758e-01f, 7.441860437e-01f, 7.111111283e-01f, 6.808510423e-01f,
    6.530612111e-01f, 6.274510026e-01f, 6.037735939e-01f, 5.818181634e-01f,
    5.614035130e-01f, 5.423728824e-01f, 5.245901346e-01f, 5.079365373e-01f};
static const float lrn_pow_exp2[16] = {
    1.000000000e+00f, 1.044273734e+00f, 1.090507746e+00f, 1.138788581e+00f,
    1.189207077e+00f, 1.241857767e+00f, 1.296839595e+00f, 1.354255557e+00f,
    1.414213538e+00f, 1.476826191e+00f, 1.542210817e+00f, 1.610490322e+00f,
    1.681792855e+00f, 1.756252170e+00f, 1.834008098e+00f, 1.915206552e+00f};
static const double lrn_pow_log2c[16] = {
    0.044394119358453436, 0.12928301694496647, 0.20945336562894978, 0.28540221886224837,
    0.3575520046180837, 0.42626475470209796, 0.4918530963296747, 0.5545888516776374,
    0.6147098441152082, 0.6724253419714956, 0.7279204545631992, 0.7813597135246596,
    0.8328900141647416, 0.8826430493618412, 0.9307373375628862, 0.9772799234999164};
static const double lrn_log2_coef[4] = {
    1.44269496505572, -0.7213473967519664, 0.48122955816423213, -0.36102815641559516};
#define LRN_E1 0.693147180f
#define LRN_E2 0.240234338f
#define LRN_E3 0.0555059618f

typedef struct {
    float lg[16];            /* -beta log2 c_i */
    float q[4];              /* -beta * lrn_log2_coef */
    float nbh, nbl;          /* -bh, -(beta - bh) */
    uint32_t lo, span;       /* fast path: lo <= bits(s) <= lo + span */
    float neg_factor, at0, atinf;
} lrn_powf;

/* the fast range: positive normal s with |w| <= ab |log2 s| <= wmax (ab = |beta|,
 * wmax <= 124) */
static inline void lrn_powf_set_range(lrn_powf *c, double ab, double wmax)
{
    if (ab * 128.0 <= wmax) {
        c->lo = 0x00800000u;                     /* FLT_MIN .. FLT_MAX */
        c->span = 0x7f7fffffu - 0x00800000u;
    }
    else {
        int E = (int)(wmax / ab);                /* s in [2^-E, 2^E], normal */
        E = E > 126 ? 126 : E;
        c->lo = (uint32_t)(127 - E) << 23;
        c->span = ((uint32_t)(127 + E) << 23) - c->lo;
    }
}

/* whether s is in c's fast range */
static inline int lrn_powf_in_range(float s, const lrn_powf *c)
{
    return lrn_as_bits32(s) - c->lo <= c->span;
}

static inline void lrn_powf_init(lrn_powf *c, double beta, int parity)
{
    float bh = lrn_as_float(lrn_as_bits32((float)beta) & 0xfffff800u);
    double ab = beta < 0 ? -beta : beta;
    for (int i = 0; i < 16; i++) c->lg[i] = (float)(-beta * lrn_pow_log2c[i]);
    for (int i = 0; i < 4; i++) c->q[i] = (float)(-beta * lrn_log2_coef[i]);
    c->nbh = -bh;
    c->nbl = (float)((double)bh - beta);
    /* |w| <= |beta| |log2 s| must stay <= 124: n >= -125 and 2^n times 2^(j/16 + r)
     * (>= 0.978) normal, n <= 124 */
    lrn_powf_set_range(c, ab, 124.0);
    c->neg_factor = (float)lrn_neg_factor(parity);
    c->at0 = beta > 0 ? __builtin_inff() : 0.0f;
    c->atinf = beta > 0 ? 0.0f : __builtin_inff();
}

/* 2^n for an integer n in [-126, 127] */
static inline float lrn_pow2i_f(int32_t n) { return lrn_as_float((uint32_t)(n + 127) << 23); }

/* every float s; lane for lane the operations of lrn_vpowf_fast (lrn_simd.h) */
static inline float lrn_powf_full(float s, const lrn_powf *c)
{
    float a = lrn_as_float(lrn_as_bits32(s) & 0x7fffffffu);
    int sub = a < 1.17549435e-38f;
    uint32_t b = lrn_as_bits32(sub ? a * 16777216.0f : a);     /* 2^24 */
    float ef = (float)((int32_t)(b >> 23) - 127) - (sub ? 24.0f : 0.0f);
    uint32_t i = (b >> 19) & 15u;
    float m = lrn_as_float((b & 0x007fffffu) | 0x3f800000u);
    float mc = lrn_as_float((b & 0x00780000u) | 0x3f840000u);
    float u = (m - mc) * lrn_pow_inv[i];
    const float *q = c->q;
    float p = (q[0] + q[1] * u) + (u * u) * (q[2] + q[3] * u);
    float wh = ef * c->nbh;                                    /* exact */
    float wl = c->lg[i] + (u * p + ef * c->nbl);
    float w = wh + wl;
    w = w > 130.0f ? 130.0f : w;
    w = w < -160.0f ? -160.0f : w;
    float sh = w + LRN_SHIFTER16_F;
    float r = (wh - (sh - LRN_SHIFTER16_F)) + wl;   /* in [-1/32, 1/32]; where w was clamped */
    r = r > 1.0f ? 1.0f : r;            /* the result over- or underflows whatever r is */
    r = r < -1.0f ? -1.0f : r;
    uint32_t sb = lrn_as_bits32(sh);
    float x = lrn_pow_exp2[sb & 15u];
    float e = x + x * (r * ((LRN_E1 + LRN_E2 * r) + (r * r) * LRN_E3));
    /* 2^n in two factors: a subnormal result is rounded once, at the last product */
    int32_t n = (int32_t)(sb - LRN_SHIFTER16_BITS) >> 4, n1 = n >> 1;
    float res = (e * lrn_pow2i_f(n1)) * lrn_pow2i_f(n - n1);
    /* 0 -> 0^-beta, inf -> inf^-beta, NaN -> NaN */
    res = a == 0.0f ? c->at0 : res;
    res = a == __builtin_inff() ? c->atinf : res;
    res = a != a ? a : res;
    return s < 0.0f ? res * c->neg_factor : res;
}

#endif
