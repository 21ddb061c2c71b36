/* The LRN kernels, written once for a scalar type.
 *
 * Included by lrn_target.h with
 *   T      the element type (float or double)
 *   F(n)   a name mangler that appends the type suffix
 *   VT     its vector type (lrn_simd.h), VPOW the fast power on it
 *   VI     the unsigned integer vector with as many lanes (shuffle indices)
 *
 * The window sums are running-window sums in the van Herk / Gil-Werman form:
 * the channel (or spatial) axis is cut into blocks as long as the window, and
 * every window is the suffix sum of one block plus the prefix sum of the next.
 * Each sum therefore only ever adds values that lie inside its window: no
 * subtraction, so no drift and no cancellation (a large value that has left the
 * window leaves no trace), cost independent of the window length, and a NaN or
 * inf only reaches the windows that hold it.  Short windows along a contiguous
 * axis (channels-last, the last spatial axis) are instead summed directly from
 * shifted loads (at most LRN_CL_MAXN terms: as exact, and bounded in cost).
 * The across backward's sums leave the centre out (see there): direct in the
 * strips and up to LRN_STRIP_MAXN taps, else the parts before and after the centre,
 * each summed directly up to LRN_HALF_MAXN taps, beyond as a running sum.
 */


/* ---- s^-beta over a row: t[p] = s[p]^-beta (t may be s) ---------------------
 * beta = 0.75, 0.5 and 1 have fast paths (VPOW: reciprocal square root or
 * reciprocal estimates refined by Newton steps where the target has them, else
 * IEEE sqrt and division); every other beta goes through the vectorised exp/log
 * of lrn_math.h (float arithmetic for float, double for double).  Every element
 * of a row is computed the same way, tail included, so results never depend on
 * how rows are split between threads. */
/* vectors of T (LRN_VBYTES wide), unaligned loads and stores, partial ones
 * for row tails (missing lanes read as zero) */
#define VW ((ptrdiff_t)(sizeof(VT) / sizeof(T)))
static inline VT F(vsplat)(T a) { VT v = {0}; return v + a; }
static inline VT F(vld)(const T *p) { VT v; memcpy(&v, p, sizeof v); return v; }
static inline void F(vst)(T *p, VT v) { memcpy(p, &v, sizeof v); }
static inline VT F(vldp)(const T *p, ptrdiff_t n) { return F(lrn_vldp)(p, n); }
static inline void F(vstp)(T *p, VT v, ptrdiff_t n) { F(lrn_vstp)(p, v, n); }
static inline VT F(vminnum)(VT a, VT b) { return F(lrn_vmin)(a, b); }   /* b where a is NaN */
/* a vector at p of which rem values are valid (rem >= VW: a whole one) */
static inline VT F(vldr)(const T *p, ptrdiff_t rem)
{
    return rem >= VW ? F(vld)(p) : F(vldp)(p, rem);
}
static inline void F(vstr)(T *p, VT v, ptrdiff_t rem)
{
    if (rem >= VW) F(vst)(p, v); else F(vstp)(p, v, rem);
}
/* v with the lanes from n on zeroed (0 < n < VW) */
static inline VT F(vkeep)(VT v, ptrdiff_t n)
{
    VI lane, keep;
    for (int i = 0; i < (int)VW; i++) lane[i] = (unsigned)i;
    keep = (VI)(lane < (VI){0} + (unsigned)n);
    return (VT)((VI)v & keep);
}

/* Output through non-temporal stores (J->stream, LRN_STREAM targets), for a row
 * of a tile written in steps of K whole vectors from the tile's start (first: the
 * step at the start; last: the last step taken this way, what follows in the row
 * taking ordinary stores).  The stores that miss the cache would each read their
 * line first; streaming stores of whole aligned lines do not (the
 * memory traffic of a large forward drops from 3 to 2 times the tensor).  The
 * row's values are misaligned by d lanes: each whole aligned vector is formed by
 * one shuffle of two consecutive result vectors, the last of the previous step
 * kept in *cy.  The part of the line before the tile's first value and after its
 * last belongs to the neighbouring tile (perhaps another thread's), so the
 * first step writes its first VW - d values and the last step its last d values
 * with ordinary masked stores; or the first step keeps its vector in *hd (hd not
 * NULL) for F(vst_heads) to store after the strip, when the previous row's last
 * values have just gone into the same line: a partial store that misses the cache
 * costs 40-60 cycles here (src_c/test/bench_partial_stores.c), one that hits does
 * not (the forward strips, with the tail prefetches of LRN_STRIP_MAIN_BLOCK2:
 * 32x256x27x27 float32 11-18% faster with 1 thread and 12-13% with 2, 32x96x55x55
 * 3-4% with 1; in the backward no gain: 3-4% slower, and -1 to +2% once its
 * prefetches went to L2). */
static inline void F(vst_lines)(T *py, const VT *r, int K, VT *cy, int first, VT *hd,
                                int last)
{
    T *l = (T *)((uintptr_t)py & ~(uintptr_t)(LRN_VBYTES - 1));
    ptrdiff_t d = py - l;
    VI idx;
    for (int i = 0; i < (int)VW; i++) idx[i] = (unsigned)(i + VW - d);
    if (first && hd) *hd = r[0];
    else if (first) F(vstp)(py, r[0], VW - d);
    else F(lrn_vstream)(l, __builtin_shuffle(*cy, r[0], idx));
    for (int i = 1; i < K; i++) F(lrn_vstream)(l + i * VW, __builtin_shuffle(r[i - 1], r[i], idx));
    if (last) F(vstp)(l + K * VW, __builtin_shuffle(r[K - 1], r[K - 1], idx), d);
    else *cy = r[K - 1];
}
/* The heads that vst_lines kept (hd) of channels [c0, c1), stored: the first VW - d
 * values of each row, whose line the previous row's last values share. */
static void F(vst_heads)(T *y, ptrdiff_t ldy, const VT *hd, ptrdiff_t c0, ptrdiff_t c1)
{
    for (ptrdiff_t c = c0; c < c1; c++) {
        T *py = y + c * ldy;
        ptrdiff_t d = py - (T *)((uintptr_t)py & ~(uintptr_t)(LRN_VBYTES - 1));
        F(vstp)(py, hd[c], VW - d);
    }
}
/* whether a strip kernel of power mode MODE streams (cy: its scratch or NULL);
 * never for the generic beta (lrn_plan), so its instances carry no such code */
#define LRN_STREAMS(MODE, cy) (LRN_STREAM && (MODE) != LRN_POW_GENERIC && (cy))

/* LOOP(MODE) instantiated for every power mode (mode known at compile time:
 * VPOWM, LRN_BWD_VALUE) */
#define LRN_POW_SWITCH(LOOP)                                                       \
    switch (pow_mode) {                                                            \
    case LRN_POW_GENERIC: LOOP(LRN_POW_GENERIC) break;                             \
    case LRN_POW_075: LOOP(LRN_POW_075) break;                                     \
    case LRN_POW_05: LOOP(LRN_POW_05) break;                                       \
    default: LOOP(LRN_POW_1) break;                                                \
    }
static inline ptrdiff_t F(pad)(ptrdiff_t m) { return (m + VW - 1) / VW * VW; }

/* The generic power on one vector.  float: lrn_vpowf_fast (lrn_simd.h) when
 * every lane is in its range, else lrn_powf_full lane by lane (they agree bit for
 * bit inside that range, so the choice never shows, and every target gives the
 * same bits).  double: lrn_math.h's double log and exp, lane by lane (gcc
 * vectorises the loop). */
typedef struct { lrn_powf f, f1; double beta, nf; } F(gpow);

static inline void F(gpow_init)(F(gpow) *c, double beta, int parity)
{
    lrn_powf_init(&c->f, beta, parity);
    /* f1: s^-(beta + 1) for the float backward (LRN_BWD_VALUE), fast range only,
     * narrowed to |beta + 1| |log2 s| <= 64: the power then lies
     * within 2^-64 .. 2^64, as far from overflow in products with g as s^-beta and
     * 1/s are; other vectors take the power and a division */
    lrn_powf_init(&c->f1, beta + 1.0, parity);
    lrn_powf_set_range(&c->f1, beta + 1.0 < 0 ? -(beta + 1.0) : beta + 1.0, 64.0);
    c->beta = beta;
    c->nf = lrn_neg_factor(parity);
}

/* out of line: rare, and large */
__attribute__((noinline))
static VT F(vpow_generic_full)(VT s, const F(gpow) *c)
{
    VT r = s;
    for (int i = 0; i < (int)VW; i++) r[i] = lrn_powf_full(s[i], &c->f);
    return r;
}

/* whether every lane of s (float) is in f's fast range */
static inline int F(vpow_in_range)(VT s, const lrn_powf *f)
{
    lrn_vu32 lo = {0}, span = {0};
    lo += f->lo;
    span += f->span;
    return __builtin_expect(!lrn_vany_gtu((lrn_vu32)s - lo, span), 1);
}

static inline VT F(vpow_generic)(VT s, const F(gpow) *c)
{
    VT r = s;
    if (sizeof(T) == 4) {
        if (!F(vpow_in_range)(s, &c->f))
            return F(vpow_generic_full)(s, c);
        r = (VT)lrn_vpowf_fast((lrn_vf32)s, &c->f);
    }
    else {
        for (int i = 0; i < (int)VW; i++) r[i] = (T)lrn_pow_neg(s[i], c->beta, c->nf, 1);
    }
    return r;
}

/* s^-beta on one vector for a power mode known at compile time: the fast betas'
 * VPOW or the generic power (the name pw must be in scope) */
#define VPOWM(sv, MODE) ((MODE) == LRN_POW_GENERIC ? F(vpow_generic)(sv, pw) : VPOW(sv, MODE))

/* t[p] = s[p]^-beta for p < m (t may be s) */
#define LRN_POW_ROWS_LOOP(MODE)                                                    \
    for (ptrdiff_t p = 0; p < m; p += VW)                                          \
        F(vstr)(t + p, VPOWM(F(vldr)(s + p, m - p), MODE), m - p);

static void F(pow_rows)(T *t, const T *s, ptrdiff_t m, int pow_mode, const F(gpow) *pw)
{
    LRN_POW_SWITCH(LRN_POW_ROWS_LOOP)
}

/* ---- the streaming window sum ----------------------------------------------
 * State for a window of lo taps before and hi after the centre, over rows of m
 * values.  Rows are pushed in order u = 0, 1, ... where row u holds position
 * u - lo (zero rows outside the axis).  After pushing row u the sum of the
 * window centred at u - lo - hi is ready, once u >= n - 1.
 * buf: n + 1 rows (row n stays zero), pre: 1 row. */
typedef struct {
    ptrdiff_t n, m;
    T *buf, *pre;
} F(stream);

static void F(stream_init)(F(stream) *st, ptrdiff_t n, ptrdiff_t m, T *mem)
{
    st->n = n;
    st->m = m;
    st->buf = mem;
    st->pre = mem + (n + 1) * m;
    memset(mem, 0, (size_t)(n + 2) * (size_t)m * sizeof(T));
}

static size_t F(stream_elems)(ptrdiff_t n, ptrdiff_t m) { return (size_t)(n + 2) * (size_t)m; }

/* After the caller wrote row u into the slot and pre was updated by the
 * caller's loop, close the block when it is full: suffix sums in place. */
static void F(stream_close)(F(stream) *st, ptrdiff_t o)
{
    if (o != st->n - 1) return;
    ptrdiff_t m = st->m;
    for (ptrdiff_t i = st->n - 2; i >= 0; i--) {
        T *a = st->buf + i * m;
        const T *b = a + m;
#pragma GCC ivdep
        for (ptrdiff_t p = 0; p < m; p++) a[p] += b[p];
    }
}

/* Box sum along an axis: rows [0, L) of length m, row stride ld; out[c] = the sum
 * of in[c - lo .. c + hi] (clipped), or with `add`, out[c] plus that sum.  lo or hi
 * may be -1: the window of n = lo + hi + 1 >= 1 taps then lies beside c, not over
 * it.  out may be in when hi >= 0 (row c is read before out[c] is written). */
static void F(box_rows_to)(T *out, const T *in, ptrdiff_t ld, ptrdiff_t L, ptrdiff_t m,
                           ptrdiff_t lo, ptrdiff_t hi, int add, T *mem)
{
    F(stream) st;
    ptrdiff_t n = lo + hi + 1;
    F(stream_init)(&st, n, m, mem);
    for (ptrdiff_t u = 0; u < L + n - 1; u++) {
        ptrdiff_t j = u - lo, o = u % n, c = u - n + 1;
        T *slot = st.buf + o * m, *nxt = slot + m, *pre = st.pre;
        const T *iv = (j >= 0 && j < L) ? in + j * ld : st.buf + n * m;   /* zero row */
        if (c >= 0) {
            T *ov = out + c * ld;
#pragma GCC ivdep
            for (ptrdiff_t p = 0; p < m; p++) {
                T val = iv[p];
                T s = (o ? pre[p] : (T)0) + val;   /* a new block restarts the prefix */
                slot[p] = val;
                pre[p] = s;
                ov[p] = add ? ov[p] + (nxt[p] + s) : nxt[p] + s;
            }
        }
        else {
#pragma GCC ivdep
            for (ptrdiff_t p = 0; p < m; p++) {
                T val = iv[p];
                slot[p] = val;
                pre[p] = (o ? pre[p] : (T)0) + val;
            }
        }
        F(stream_close)(&st, o);
    }
}

/* Box sum along an axis, in place. */
static void F(box_rows)(T *v, ptrdiff_t ld, ptrdiff_t L, ptrdiff_t m,
                        ptrdiff_t lo, ptrdiff_t hi, T *mem)
{
    F(box_rows_to)(v, v, ld, L, m, lo, hi, 0, mem);
}

/* ---- across channels, forward, on rows of m contiguous pixels --------------
 * x rows at x + c*ldx, y rows at y + c*ldy; y may be x (in place). */
static void F(across_fwd_rows)(const T *x, ptrdiff_t ldx, T *y, ptrdiff_t ldy,
                               ptrdiff_t C, ptrdiff_t m, ptrdiff_t lo, ptrdiff_t hi,
                               T a, T k, int pow_mode, const F(gpow) *pw, T *mem)
{
    F(stream) st;
    ptrdiff_t n = lo + hi + 1, mp = F(pad)(m);
    F(stream_init)(&st, n, mp, mem);
    const VT av = F(vsplat)(a), kv = F(vsplat)(k);
    for (ptrdiff_t u = 0; u < C + n - 1; u++) {
        ptrdiff_t j = u - lo, o = u % n, c = u - n + 1;
        T *slot = st.buf + o * mp, *nxt = slot + mp, *pre = st.pre;
        const T *xj = (j >= 0 && j < C) ? x + j * ldx : st.buf + n * mp;   /* zero row */
        if (c < 0) {
#pragma GCC ivdep
            for (ptrdiff_t p = 0; p < m; p++) {
                T v = xj[p] * xj[p];
                slot[p] = v;
                pre[p] = (o ? pre[p] : (T)0) + v;
            }
        }
        else {
            /* one pass: square, prefix, window sum, power, product */
            const T *xc = x + c * ldx;
            T *yc = y + c * ldy;
#define LRN_FWD_LOOP(MODE)                                                         \
            for (ptrdiff_t p = 0; p < m; p += VW) {                                \
                ptrdiff_t rem = m - p;                                             \
                VT xjv = F(vldr)(xj + p, rem);                                     \
                VT xcv = F(vldr)(xc + p, rem);                                     \
                VT v = xjv * xjv;                                                  \
                VT ps = o ? F(vld)(pre + p) + v : v;                               \
                F(vst)(slot + p, v);                                               \
                F(vst)(pre + p, ps);                                               \
                VT r = xcv * VPOWM(kv + av * (F(vld)(nxt + p) + ps), MODE);        \
                F(vstr)(yc + p, r, rem);                                           \
            }
            LRN_POW_SWITCH(LRN_FWD_LOOP)
#undef LRN_FWD_LOOP
        }
        F(stream_close)(&st, o);
    }
}

/* ---- across channels, forward, windows of N <= LRN_STRIP_MAXN taps -----------
 * The same sums as across_fwd_rows, in the same order (so the same bits), with
 * the loops the other way round: one vector of pixels walks all the channels
 * while the block's squares, its suffix sums and the running prefix stay in
 * registers (the block loop is unrolled for a constant N).  Per vector and
 * channel: one load of x_j, one reload of x_c (in L1), one store of y_c. */
#ifndef LRN_PF_DIST
#define LRN_PF_DIST 4     /* software prefetch, in vectors ahead along a row */
#endif
/* 4 vectors (256 bytes) rather than 8: the forward's second pair ahead in a row,
 * the backward's fourth vector ahead.  At C = 96 a strip takes about 1 us to come
 * back to a row, far longer than a miss.  Builds alternated in one process,
 * float32 beta 0.75, 1 thread, with the backward's prefetches into L2 (below):
 * forward 32x256x27x27 -11 to -15%, 32x192x56x56 -5%, 32x96x55x55 -1 to -6%;
 * backward -7 to -13% on all three.  Why 8 was slower is not known.  2 ran 3-4
 * times slower (the forward then fetches the line its next pair starts on).
 * Forward 192x16x55x55 4-6% slower (its backward 20% faster), and not from the
 * shorter lead of a small C: 8 again for C < 32 was no faster. */
/* The forward strips' read prefetches of the fast powers go to L2 (locality 2), not
 * L1: a strip reads C rows 128 bytes at a time, and so many misses into L1 wait
 * for each other.  src_c/test/bench_row_reads.c reads 32x96 rows of 3025 floats
 * that way in 9.1 ms without prefetches, 5.2 ms with them into L1 and 1.4 ms into
 * L2 (1.2 ms row by row; an AMD EPYC with AVX-512).  In the kernels (builds
 * alternated in one process, float32 forward): 32x96x55x55 4.14 -> 3.94 ms with 1
 * thread, 2.13 -> 1.97 ms with 2; 32x192x56x56 8.39 -> 7.70 and 5.26 -> 4.09 ms;
 * 32x256x27x27 the same.  The generic power is compute bound and keeps them in L1.
 * The backward strips use the same rule since LRN_PF_DIST is 4: in L1 with 8,
 * into L2 had made 32x256x27x27 4-6% slower, and x alone into L2 (g in L1) slower
 * on both AlexNet shapes. */
#define LRN_PFR(p, MODE) __builtin_prefetch((p), 0, (MODE) == LRN_POW_GENERIC ? 3 : 2)
/* The strips' prefetches run LRN_PF_DIST vectors ahead along each row, so a row's
 * first LRN_PF_DIST vectors are fetched into L2 before a strip kernel starts:
 * else they miss one after the other, C rows of them (17% of a 27x27 plane). */
static void F(prefetch_starts)(const T *x, ptrdiff_t ldx, ptrdiff_t C, ptrdiff_t m)
{
    ptrdiff_t e = m < LRN_PF_DIST * VW ? m : LRN_PF_DIST * VW;
    for (ptrdiff_t j = 0; j < C; j++)
        for (ptrdiff_t l = 0; l < e; l += 64 / (ptrdiff_t)sizeof(T))
            __builtin_prefetch(x + j * ldx + l, 0, 2);
}
/* The main blocks also prefetch the y (dx) rows for writing: a strip writes
 * C rows a little at a time, more streams than the hardware prefetcher follows,
 * and each store that misses waits for its line (32x96x55x55 float32 in DRAM,
 * forward and backward: 6-20% faster; in cache about 5% slower). */
/* state S (sq##S, sf##S, pre##S) of the vector of pixels at p + OFF */
#define LRN_STRIP_BLOCK_S(N, MODE, GUARD, S, OFF)                                  \
    do {                                                                           \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = 0; o < N; o++) {                                              \
            ptrdiff_t u = u0 + o, j = u - lo, c = u - N + 1;                       \
            if (GUARD && u >= U) break;                                            \
            const T *xj = (size_t)j < (size_t)C ? x + j * ldx + p + OFF : zeros;   \
            LRN_PFR(x + (j < C ? j : C - 1) * ldx + p + OFF + LRN_PF_DIST * VW, MODE); \
            VT xv = F(vldr)(xj, rem - OFF);                                        \
            VT v = xv * xv;                                                        \
            sq##S[o] = v;                                                          \
            pre##S = o ? pre##S + v : v;                                           \
            if (!GUARD || c >= 0) {                                                \
                VT r = F(vldr)(x + c * ldx + p + OFF, rem - OFF) * VPOWM(kv + av * (sf##S[o + 1] + pre##S), MODE); \
                F(vstr)(y + c * ldy + p + OFF, r, rem - OFF);                      \
            }                                                                      \
        }                                                                          \
        /* the block is complete: its suffix sums, for the next block */           \
        sf##S[N - 1] = sq##S[N - 1];                                               \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = N - 2; o >= 0; o--) sf##S[o] = sq##S[o] + sf##S[o + 1];       \
    } while (0)

#define LRN_STRIP_BLOCK(N, MODE, GUARD) LRN_STRIP_BLOCK_S(N, MODE, GUARD, , 0)

/* The same block where every step reads a channel inside the tensor and writes
 * one (j in [0, C), c >= 0): rows reached by pointer steps, no selects.
 * px: row j of the block's first step, back: from row j to row c = j - hi. */
#define LRN_STRIP_MAIN_BLOCK(N, MODE)                                              \
    do {                                                                           \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = 0; o < N; o++) {                                              \
            LRN_PFR(px + LRN_PF_DIST * VW, MODE);                                  \
            __builtin_prefetch(py + LRN_PF_DIST * VW, 1);                          \
            VT xv = F(vld)(px);                                                    \
            VT v = xv * xv;                                                        \
            sq[o] = v;                                                             \
            pre = o ? pre + v : v;                                                 \
            VT r = F(vld)(px - back) * VPOWM(kv + av * (sf[o + 1] + pre), MODE);   \
            F(vst)(py, r);                                                         \
            px += ldx;                                                             \
            py += ldy;                                                             \
        }                                                                          \
        sf[N - 1] = sq[N - 1];                                                     \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = N - 2; o >= 0; o--) sf[o] = sq[o] + sf[o + 1];                \
    } while (0)

/* The same for two vectors of pixels side by side (states a and b): each visit
 * of a channel row reads 128 contiguous bytes, which the memory system streams
 * better than 64 (1 thread, (32,256,27,27) in DRAM: 0.33 -> 0.27 ns per element) */
#define LRN_STRIP_MAIN_BLOCK2(N, MODE)                                             \
    do {                                                                           \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = 0; o < N; o++) {                                              \
            LRN_PFR(px + LRN_PF_DIST * VW, MODE);                                  \
            LRN_PFR(px + LRN_PF_DIST * VW + VW, MODE);                             \
            if (!LRN_STREAMS(MODE, cy)) {                                          \
                __builtin_prefetch(py + LRN_PF_DIST * VW, 1);                      \
                __builtin_prefetch(py + LRN_PF_DIST * VW + VW, 1);                 \
            }                                                                      \
            VT xa = F(vld)(px), xb = F(vld)(px + VW);                              \
            VT va = xa * xa, vb = xb * xb;                                         \
            sqa[o] = va;                                                           \
            sqb[o] = vb;                                                           \
            prea = o ? prea + va : va;                                             \
            preb = o ? preb + vb : vb;                                             \
            VT ra = F(vld)(px - back) * VPOWM(kv + av * (sfa[o + 1] + prea), MODE); \
            VT rb = F(vld)(px - back + VW) * VPOWM(kv + av * (sfb[o + 1] + preb), MODE); \
            if (LRN_STREAMS(MODE, cy)) {                                           \
                /* the row's last lines, partial ones or written by ordinary      \
                 * stores in the tail strips, fetched for writing one pass ahead */ \
                if (last && (p + 2 * VW < m || ((uintptr_t)(py + 2 * VW) & (LRN_VBYTES - 1)))) { \
                    __builtin_prefetch(py + 2 * VW, 1);                            \
                    __builtin_prefetch(py + 4 * VW - 1, 1);                        \
                }                                                                  \
                VT r2[2] = {ra, rb};                                               \
                F(vst_lines)(py, r2, 2, cy + ci, first, cy + C + ci, last);        \
                ci++;                                                              \
            }                                                                      \
            else {                                                                 \
                F(vst)(py, ra);                                                    \
                F(vst)(py + VW, rb);                                               \
            }                                                                      \
            px += ldx;                                                             \
            py += ldy;                                                             \
        }                                                                          \
        sfa[N - 1] = sqa[N - 1];                                                   \
        sfb[N - 1] = sqb[N - 1];                                                   \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = N - 2; o >= 0; o--) {                                         \
            sfa[o] = sqa[o] + sfa[o + 1];                                          \
            sfb[o] = sqb[o] + sfb[o + 1];                                          \
        }                                                                          \
    } while (0)

/* a partial last vector (rem < VW values) goes through the guarded blocks;
 * cy: C vectors of scratch to stream the pairs' output through (F(vst_lines)),
 * or NULL for ordinary stores */
#define LRN_STRIP_FWD(N, MODE)                                                     \
static void F(strip_fwd_##N##_##MODE)(const T *x, ptrdiff_t ldx, T *y, ptrdiff_t ldy, \
                                      ptrdiff_t C, ptrdiff_t m, ptrdiff_t lo,      \
                                      T a, T k, const F(gpow) *pw, VT *cy)         \
{                                                                                  \
    static const T zeros[LRN_VBYTES / sizeof(T)];                                  \
    const VT av = F(vsplat)(a), kv = F(vsplat)(k), zero = F(vsplat)(0);            \
    ptrdiff_t U = C + N - 1, nb = (U + N - 1) / N, back = (N - 1 - lo) * ldx;      \
    ptrdiff_t p = 0, nh = 0;                                                       \
    F(prefetch_starts)(x, ldx, C, m);                                              \
    for (; p + 2 * VW <= m; p += 2 * VW) {      /* pairs of vectors: 128 B a row */ \
        ptrdiff_t rem = m - p;                                                     \
        VT sqa[N], sfa[N + 1], prea = zero, sqb[N], sfb[N + 1], preb = zero;       \
        for (int i = 0; i < N; i++) sqa[i] = sqb[i] = zero;                        \
        for (int i = 0; i <= N; i++) sfa[i] = sfb[i] = zero;                       \
        ptrdiff_t u0 = 0;                                                          \
        LRN_STRIP_BLOCK_S(N, MODE, 1, a, 0);                                       \
        LRN_STRIP_BLOCK_S(N, MODE, 1, b, VW);                                      \
        const T *px = x + (N - lo) * ldx + p;                                      \
        T *py = y + ldy + p;                                                       \
        ptrdiff_t ci = 1;                 /* py's channel */                       \
        int first = p == 0, last = p + 4 * VW > m;                                 \
        for (u0 = N; u0 + N - 1 < C + lo; u0 += N)                                 \
            LRN_STRIP_MAIN_BLOCK2(N, MODE);                                        \
        if (first) nh = ci;                                                        \
        for (; u0 < nb * N; u0 += N) {                                             \
            LRN_STRIP_BLOCK_S(N, MODE, 1, a, 0);                                   \
            LRN_STRIP_BLOCK_S(N, MODE, 1, b, VW);                                  \
        }                                                                          \
    }                                                                              \
    for (; p < m; p += VW) {                                                       \
        ptrdiff_t rem = m - p;                                                     \
        VT sq[N], sf[N + 1], pre = zero;                                           \
        for (int i = 0; i < N; i++) sq[i] = zero;                                  \
        for (int i = 0; i <= N; i++) sf[i] = zero;                                 \
        ptrdiff_t u0 = 0;                                                          \
        LRN_STRIP_BLOCK(N, MODE, 1);                                               \
        const T *px = x + (N - lo) * ldx + p;                                      \
        T *py = y + ldy + p;                                                       \
        for (u0 = N; rem >= VW && u0 + N - 1 < C + lo; u0 += N)                    \
            LRN_STRIP_MAIN_BLOCK(N, MODE);                                         \
        for (; u0 < nb * N; u0 += N) LRN_STRIP_BLOCK(N, MODE, 1);                  \
    }                                                                              \
    if (LRN_STREAMS(MODE, cy))                                                     \
        F(vst_heads)(y, ldy, cy + C, 1, nh);                                       \
}
#define LRN_STRIP_FWD_MODES(N) LRN_STRIP_FWD(N, 0) LRN_STRIP_FWD(N, 1) LRN_STRIP_FWD(N, 2) LRN_STRIP_FWD(N, 3)
LRN_STRIP_FWD_MODES(1) LRN_STRIP_FWD_MODES(2) LRN_STRIP_FWD_MODES(3) LRN_STRIP_FWD_MODES(4)
LRN_STRIP_FWD_MODES(5) LRN_STRIP_FWD_MODES(6) LRN_STRIP_FWD_MODES(7) LRN_STRIP_FWD_MODES(8)

/* The strip kernel KIND for window length n and the power mode, called with ARGS:
 * 1 when there is one (n <= LRN_STRIP_MAXN), else 0. */
#define LRN_STRIP_CASE(KIND, N, ARGS)                                              \
    case N:                                                                        \
        if (pow_mode == LRN_POW_075) F(KIND##_##N##_1) ARGS;                       \
        else if (pow_mode == LRN_POW_05) F(KIND##_##N##_2) ARGS;                   \
        else if (pow_mode == LRN_POW_1) F(KIND##_##N##_3) ARGS;                    \
        else if (sizeof(T) == 4) F(KIND##_##N##_0) ARGS;                           \
        else return 0;                                                             \
        return 1;
#define LRN_STRIP_DISPATCH(KIND, ARGS)                                             \
    switch (n) {                                                                   \
    LRN_STRIP_CASE(KIND, 1, ARGS) LRN_STRIP_CASE(KIND, 2, ARGS)                    \
    LRN_STRIP_CASE(KIND, 3, ARGS) LRN_STRIP_CASE(KIND, 4, ARGS)                    \
    LRN_STRIP_CASE(KIND, 5, ARGS) LRN_STRIP_CASE(KIND, 6, ARGS)                    \
    LRN_STRIP_CASE(KIND, 7, ARGS) LRN_STRIP_CASE(KIND, 8, ARGS)                    \
    }                                                                              \
    return 0;

static int F(strip_fwd)(const T *x, ptrdiff_t ldx, T *y, ptrdiff_t ldy, ptrdiff_t C,
                        ptrdiff_t m, ptrdiff_t lo, ptrdiff_t n, T a, T k, int pow_mode,
                        const F(gpow) *pw, VT *cy)
{
    LRN_STRIP_DISPATCH(strip_fwd, (x, ldx, y, ldy, C, m, lo, a, k, pw, cy))
}

/* ---- across channels, backward ----------------------------------------------
 * dx_c = g_c t_c - 2 beta x_c sum_{j in [c-hi, c+lo]} r_j,  r_j = g_j t_j x_j a / s_j,
 * s = k + a*S, t = s^-beta.  Evaluated as written, channel c's own two terms
 * g_c t_c (1 - 2 beta a x_c^2 / s_c) cancel when x_c dominates its window and
 * a x_c^2 >> k (for beta 0.5 the bracket tends to 0), and float32 loses all of it
 * (tests/probe_backward_error.py: 14 of 4000 hard cases were over 1e-6 of max|dx|,
 * the worst 1.7e-3).  So the own channel's term is formed without cancelling:
 *   Q_c = the other n - 1 squares of the window, summed directly, S_c = Q_c + x_c^2;
 *   self_c = g_c t_c (k + a Q_c + (1 - 2 beta) a x_c^2) / s_c
 *          = g_c t_c (k (1/s_c) + (Q_c + (1 - 2 beta) x_c^2) (a/s_c));
 *   r_c = g_c t_c (x_c (a/s_c));
 *   dx_c = self_c - 2 beta x_c sum_{j in [c-hi, c+lo], j != c} r_j.
 * x_c a/s_c and the bracket are formed before the product with g t, so a tiny
 * base cannot overflow them; where the squares vanish (k = 1) the bracket is
 * exactly 1 and dx = g.  Both sums add the n - 1 other terms directly, oldest
 * channel first: the strips (registers) and the rows (memory) add in the same
 * order and give the same bits.
 * The generic beta in float takes no 1/s_c: with u_c = s_c^-(beta + 1) from one
 * power (F(gpow).f1), self_c = g_c u_c (k + a (Q_c + (1 - 2 beta) x_c^2)) and
 * r_c = g_c u_c (x_c a).  An element whose s lies outside f1's range (u beyond
 * 2^-64 .. 2^64; s 0, subnormal, inf, NaN or negative) takes the form above,
 * element by element (bwd_generic_lanes), never the whole vector. */
/* LRN_BWD_VALUE's generic float case, lane by lane, for a vector with a lane
 * outside f1's range: each lane takes the form its own s selects, with the
 * vector code's operations in the same order (lrn_powf_full gives
 * lrn_vpowf_fast's bits in the fast range), so that a value never depends on
 * its neighbours in the vector (and so on the thread count or the layout).
 * Out of line: rare. */
__attribute__((noinline))
static void F(bwd_generic_lanes)(VT s, VT w, VT x, VT g, VT av, VT kv, const F(gpow) *c,
                                 VT *r, VT *self)
{
    for (int i = 0; i < (int)VW; i++) {
        float si = (float)s[i], a = (float)av[i], k = (float)kv[i];
        if (lrn_powf_in_range(si, &c->f1)) {
            float gu = (float)g[i] * lrn_powf_full(si, &c->f1);
            (*self)[i] = gu * (k + (float)w[i] * a);
            (*r)[i] = gu * ((float)x[i] * a);
        }
        else {
            float gt = (float)g[i] * lrn_powf_full(si, &c->f), iv = 1.0f / si, as = a * iv;
            (*self)[i] = gt * (k * iv + (float)w[i] * as);
            (*r)[i] = gt * ((float)x[i] * as);
        }
    }
}

/* r and self of one vector, power mode MODE known at compile time, from Q and
 * q0 = x_c^2 (av, kv, c1v, one and pw in scope).  The bracket takes Q clamped to
 * the largest finite T: an inf among the other channels then gives a finite
 * bracket (times a/s = 0) and self = 0, as t = 0 does without the split, instead
 * of inf * 0 (a NaN in Q still reaches self through t). */
#define LRN_BIG ((T)(sizeof(T) == 4 ? 3.4028234663852886e38 : 1.7976931348623157e308))
#define LRN_BWD_VALUE(MODE, Q, q0, xc, gc, r, self)                                \
    do {                                                                           \
        VT q_ = (Q), sv_ = kv + av * (q_ + (q0));                                  \
        VT w_ = F(vminnum)(q_, F(vsplat)(LRN_BIG));                                \
        w_ = (MODE) == LRN_POW_05 ? w_ : (MODE) == LRN_POW_1 ? w_ - (q0)           \
             : w_ + c1v * (q0);                                                    \
        if ((MODE) == LRN_POW_GENERIC && sizeof(T) == 4) {                         \
            if (F(vpow_in_range)(sv_, &pw->f1)) {                                  \
                VT gu_ = (gc) * (VT)lrn_vpowf_fast((lrn_vf32)sv_, &pw->f1);        \
                (self) = gu_ * (kv + w_ * av);                                     \
                (r) = gu_ * ((xc) * av);                                           \
            }                                                                      \
            else                                                                   \
                F(bwd_generic_lanes)(sv_, w_, (xc), (gc), av, kv, pw, &(r), &(self)); \
        }                                                                          \
        else {                                                                     \
            VT iv_, t_;                                                            \
            if ((MODE) == LRN_POW_GENERIC) {                                       \
                t_ = F(vpow_generic)(sv_, pw);                                     \
                iv_ = one / sv_;                                                   \
            }                                                                      \
            else                                                                   \
                t_ = VPOW_RCP(sv_, MODE, &iv_);                                    \
            VT as_ = av * iv_, gt_ = (gc) * t_;                                    \
            (self) = gt_ * (kv * iv_ + w_ * as_);                                  \
            (r) = gt_ * ((xc) * as_);                                              \
        }                                                                          \
    } while (0)

/* one vector v into a running sum's block slot and prefix (step o of its block);
 * returns the sum of the last n values: the previous block's suffix (nxt) plus it */
static inline VT F(vpush)(T *slot, const T *nxt, T *pre, ptrdiff_t o, VT v)
{
    F(vst)(slot, v);
    VT ps = o ? F(vld)(pre) + v : v;
    F(vst)(pre, ps);
    return F(vld)(nxt) + ps;
}

/* The backward on rows for windows longer than LRN_HALF_MAXN: the same values as
 * across_bwd_rows, with each sum without the centre split into the part before it
 * and the part after it, each a running sum of its own (cost independent of n).
 * Step u: the squares after channel cr = u - n + 1 end at j = u - lo (stream QR, hi
 * long), those before it at jl = cr - 1 (QL, lo long); the r after channel cout =
 * cr - lo end at cr (RR, lo long), those before it at cout - 1 (RL, hi long: r of
 * lo + 1 steps ago, from the ring of n rows).  A stream of length 0 is one of length
 * 1 that only ever takes zeros.  mem: lrn_bwd_rows(n) rows. */
static void F(across_bwd_rows_long)(const T *x, ptrdiff_t ldx, const T *g, ptrdiff_t ldg,
                                    T *y, ptrdiff_t ldy, ptrdiff_t C, ptrdiff_t m,
                                    ptrdiff_t lo, ptrdiff_t hi, T a, T k, T coef, T c1,
                                    int pow_mode, const F(gpow) *pw, T *mem)
{
    /* rows one line longer than whole vectors: some 20 rows are walked at once, and
     * a row of 1024 floats put them all on the same cache sets (size 9: 2.4x slower) */
    ptrdiff_t n = lo + hi + 1, mp = F(pad)(m) + LRN_ROW_SLACK / (ptrdiff_t)sizeof(T);
    ptrdiff_t Llo = lo ? lo : 1, Lhi = hi ? hi : 1;
    F(stream) QL, QR, RL, RR;
    T *w = mem;
    F(stream_init)(&QL, Llo, mp, w);
    w += F(stream_elems)(Llo, mp);
    F(stream_init)(&QR, Lhi, mp, w);
    w += F(stream_elems)(Lhi, mp);
    F(stream_init)(&RL, Lhi, mp, w);
    w += F(stream_elems)(Lhi, mp);
    F(stream_init)(&RR, Llo, mp, w);
    w += F(stream_elems)(Llo, mp);
    T *rr = w, *sl = rr + n * mp;
    memset(rr, 0, (size_t)(2 * n) * (size_t)mp * sizeof(T));
    const VT av = F(vsplat)(a), kv = F(vsplat)(k), cv = F(vsplat)(coef);
    const VT c1v = F(vsplat)(c1), one = F(vsplat)(1), zero = F(vsplat)(0);
    static const T zeros[LRN_VBYTES / sizeof(T)];
    ptrdiff_t U = C + lo + n - 1;
    for (ptrdiff_t u = 0; u < U; u++) {
        ptrdiff_t j = u - lo, cr = u - n + 1, cout = cr - lo, jl = u - n;
        ptrdiff_t oL = u % Llo, oH = u % Lhi;
        int jin = hi > 0 && j >= 0 && j < C, jlin = lo > 0 && jl >= 0 && jl < C;
        int crin = cr >= 0 && cr < C, rlin = hi > 0 && u - lo - 1 >= 0;
        /* (lo = 0: row jl may be dx's already, so it is not read) */
        const T *xj = jin ? x + j * ldx : zeros, *xl = jlin ? x + jl * ldx : zeros;
        const T *xc = crin ? x + cr * ldx : zeros, *gc = crin ? g + cr * ldg : zeros;
        const T *rold = rlin ? rr + ((u - lo - 1) % n) * mp : zeros;
        ptrdiff_t sj = jin ? 1 : 0, sl_ = jlin ? 1 : 0, so = rlin ? 1 : 0;
        T *rro = rr + (u % n) * mp, *slc = sl + ((crin ? cr : 0) % n) * mp;
        T *qls = QL.buf + oL * mp, *qrs = QR.buf + oH * mp, *rls = RL.buf + oH * mp;
        T *rrs = RR.buf + oL * mp;
        const T *xo = cout >= 0 ? x + cout * ldx : zeros, *slo = sl + ((cout >= 0 ? cout : 0) % n) * mp;
        T *yo = cout >= 0 ? y + cout * ldy : NULL;
#define LRN_BWD_LOOP(MODE)                                                         \
        for (ptrdiff_t p = 0; p < m; p += VW) {                                    \
            ptrdiff_t rem = m - p;                                                 \
            VT vj = F(vldr)(xj + p * sj, sj ? rem : VW), vl = F(vldr)(xl + p * sl_, sl_ ? rem : VW); \
            vj = vj * vj;                                                          \
            vl = vl * vl;                                                          \
            VT qr = F(vpush)(qrs + p, qrs + mp + p, QR.pre + p, oH, vj);           \
            VT ql = F(vpush)(qls + p, qls + mp + p, QL.pre + p, oL, vl);           \
            VT r = zero;                                                           \
            if (crin) {                                                            \
                VT self, xv = F(vldr)(xc + p, rem);                                \
                LRN_BWD_VALUE(MODE, ql + qr, xv * xv, xv, F(vldr)(gc + p, rem), r, self); \
                F(vst)(slc + p, self);                                             \
            }                                                                      \
            F(vst)(rro + p, r);                                                    \
            VT rs = F(vpush)(rrs + p, rrs + mp + p, RR.pre + p, oL, lo ? r : zero); \
            VT rl = F(vpush)(rls + p, rls + mp + p, RL.pre + p, oH, F(vld)(rold + p * so)); \
            if (yo) {                                                              \
                VT R = rl + rs;                                                    \
                VT d = F(vld)(slo + p) - cv * F(vldr)(xo + p, rem) * R;            \
                F(vstr)(yo + p, d, rem);                                           \
            }                                                                      \
        }
        LRN_POW_SWITCH(LRN_BWD_LOOP)
#undef LRN_BWD_LOOP
        F(stream_close)(&QL, oL);
        F(stream_close)(&QR, oH);
        F(stream_close)(&RL, oH);
        F(stream_close)(&RR, oL);
    }
}

/* The sum of rows ps[0], ..., ps[np - 1] at pixel p, in that order (zero when
 * np = 0) */
static inline VT F(ptr_rows_sum)(const T *const *ps, ptrdiff_t np, ptrdiff_t p)
{
    VT s = np ? F(vld)(ps[0] + p) : F(vsplat)(0);
    _Pragma("GCC unroll 16")
    for (ptrdiff_t i = 1; i < np; i++) s = s + F(vld)(ps[i] + p);
    return s;
}

/* The rows one step u of the rows backward (across_bwd_rows, across_bwd_rows_half)
 * reads and writes: x_j (j = u - lo, squared into ring sq), channel cr = u - n + 1's
 * x and g (its r into ring rr, its self into ring sl), and channel cout = cr - lo's
 * x, self and dx; rings of n rows of mp values, slot c mod n; a row outside the
 * axis reads zeros (xj with stride sj = 0), and yo is NULL before the first dx. */
typedef struct {
    const T *xj, *xc, *gc, *xo, *slo;
    T *sqo, *rro, *slc, *yo;
    ptrdiff_t sj;
    int crin;
} F(bwd_step);

static inline F(bwd_step) F(bwd_step_at)(ptrdiff_t u, const T *x, ptrdiff_t ldx, const T *g,
                                         ptrdiff_t ldg, T *y, ptrdiff_t ldy, ptrdiff_t C,
                                         ptrdiff_t lo, ptrdiff_t n, ptrdiff_t mp,
                                         T *sq, T *rr, T *sl)
{
    static const T zeros[LRN_VBYTES / sizeof(T)];
    ptrdiff_t j = u - lo, cr = u - n + 1, cout = cr - lo;
    int jin = j >= 0 && j < C, crin = cr >= 0 && cr < C;
    F(bwd_step) s;
    s.xj = jin ? x + j * ldx : zeros;
    s.sj = jin ? 1 : 0;
    s.crin = crin;
    s.xc = crin ? x + cr * ldx : zeros;
    s.gc = crin ? g + cr * ldg : zeros;
    s.slc = sl + (crin ? cr % n : 0) * mp;
    s.xo = cout >= 0 ? x + cout * ldx : zeros;
    s.slo = sl + (cout >= 0 ? cout % n : 0) * mp;
    s.yo = cout >= 0 ? y + cout * ldy : NULL;
    s.sqo = sq + (u % n) * mp;
    s.rro = rr + (u % n) * mp;
    return s;
}

/* The backward on rows for windows of LRN_STRIP_MAXN + 1 to LRN_HALF_MAXN taps: the sum
 * without the centre is the part before it plus the part after it, each the
 * direct sum of its lo or hi rows, and each part serves two channels: the part
 * of the squares before channel cr (A, lo taps ending at cr - 1) was formed hi + 1
 * steps before, as the squares up to then, and is kept in a ring of hi + 1 rows;
 * likewise the r before channel cout (hi taps ending at cout - 1), lo + 1 steps
 * before, in a ring of lo + 1 rows.  Each step sums only its newest max(lo, hi)
 * rows, twice.  mem: 3 rings of n rows and the two rings: lrn_bwd_rows(n) rows. */
static void F(across_bwd_rows_half)(const T *x, ptrdiff_t ldx, const T *g, ptrdiff_t ldg,
                                    T *y, ptrdiff_t ldy, ptrdiff_t C, ptrdiff_t m,
                                    ptrdiff_t lo, ptrdiff_t hi, T a, T k, T coef, T c1,
                                    int pow_mode, const F(gpow) *pw, T *mem)
{
    ptrdiff_t n = lo + hi + 1, mp = F(pad)(m) + LRN_ROW_SLACK / (ptrdiff_t)sizeof(T);
    ptrdiff_t sh = lo < hi ? lo : hi, lg = n - 1 - sh;       /* the shorter, longer part */
    T *sq = mem, *rr = sq + n * mp, *sl = rr + n * mp, *qa = sl + n * mp;
    T *rb = qa + (hi + 1) * mp;
    const VT av = F(vsplat)(a), kv = F(vsplat)(k), cv = F(vsplat)(coef);
    const VT c1v = F(vsplat)(c1), one = F(vsplat)(1), zero = F(vsplat)(0);
    memset(mem, 0, (size_t)(4 * n + 1) * (size_t)mp * sizeof(T));
    ptrdiff_t U = C + lo + n - 1;
    for (ptrdiff_t u = 0; u < U; u++) {
        const F(bwd_step) s = F(bwd_step_at)(u, x, ldx, g, ldg, y, ldy, C, lo, n, mp, sq, rr, sl);
        const T *qp[LRN_HALF_MAXN], *rp[LRN_HALF_MAXN]; /* the newest lg rows, oldest first */
        for (ptrdiff_t i = 0; i < lg; i++) {
            ptrdiff_t row = ((u - (lg - 1 - i)) % n + n) % n * mp;
            qp[i] = sq + row;
            rp[i] = rr + row;
        }
        T *qao = qa + (u % (hi + 1)) * mp, *rbo = rb + (u % (lo + 1)) * mp;
/* SH (the shorter part's taps) and EX = lg - SH constants in the common cases:
 * the sums unrolled, their row pointers in registers */
#define LRN_HALF_LOOP(MODE, SH, EX)                                                \
        for (ptrdiff_t p = 0; p < m; p += VW) {                                    \
            ptrdiff_t rem = m - p;                                                 \
            VT v = F(vldr)(s.xj + p * s.sj, s.sj ? rem : VW), r = zero;            \
            F(vst)(s.sqo + p, v * v);                                              \
            VT s_ = F(ptr_rows_sum)(qp + (EX), (SH), p), l_ = s_;                  \
            if (EX) l_ = s_ + F(ptr_rows_sum)(qp, (EX), p);                        \
            VT Aold = F(vld)(qao + p);                                             \
            F(vst)(qao + p, lo <= hi ? s_ : l_);                                   \
            if (s.crin) {                                                          \
                VT self, xv = F(vldr)(s.xc + p, rem);                              \
                LRN_BWD_VALUE(MODE, Aold + (lo <= hi ? l_ : s_), xv * xv, xv,      \
                              F(vldr)(s.gc + p, rem), r, self);                    \
                F(vst)(s.slc + p, self);                                           \
            }                                                                      \
            F(vst)(s.rro + p, r);                                                  \
            s_ = F(ptr_rows_sum)(rp + (EX), (SH), p);                              \
            l_ = s_;                                                               \
            if (EX) l_ = s_ + F(ptr_rows_sum)(rp, (EX), p);                        \
            VT Bold = F(vld)(rbo + p);                                             \
            F(vst)(rbo + p, lo <= hi ? l_ : s_);                                   \
            if (s.yo) {                                                            \
                VT d = F(vld)(s.slo + p) - cv * F(vldr)(s.xo + p, rem) * (Bold + (lo <= hi ? s_ : l_)); \
                F(vstr)(s.yo + p, d, rem);                                         \
            }                                                                      \
        }
#define LRN_BWD_LOOP(MODE)                                                         \
        switch (lg - sh <= 1 ? sh * 2 + (lg - sh) : -1) {                          \
        case 8: LRN_HALF_LOOP(MODE, 4, 0) break;                                   \
        case 9: LRN_HALF_LOOP(MODE, 4, 1) break;                                   \
        case 10: LRN_HALF_LOOP(MODE, 5, 0) break;                                  \
        case 11: LRN_HALF_LOOP(MODE, 5, 1) break;                                  \
        case 12: LRN_HALF_LOOP(MODE, 6, 0) break;                                  \
        case 13: LRN_HALF_LOOP(MODE, 6, 1) break;                                  \
        case 14: LRN_HALF_LOOP(MODE, 7, 0) break;                                  \
        case 15: LRN_HALF_LOOP(MODE, 7, 1) break;                                  \
        default: LRN_HALF_LOOP(MODE, sh, lg - sh) break;                           \
        }
        LRN_POW_SWITCH(LRN_BWD_LOOP)
#undef LRN_BWD_LOOP
#undef LRN_HALF_LOOP
    }
}

/* The backward on rows of m pixels, windows of up to LRN_STRIP_MAXN taps (longer
 * ones: across_bwd_rows_half, then across_bwd_rows_long), one pass over the row per step.  Step u takes
 * x_{u-lo}^2 into ring A; channel cr = u - n + 1 then has its whole window in A:
 * r_cr goes into ring B and self_cr into ring L; the transposed window of channel
 * cout = cr - lo is then all in B: dx_cout.  Each sum adds its ring's rows other
 * than the centre's, oldest first (from a list of row pointers), as the strips add
 * their registers: the same bits.  mem: lrn_bwd_rows(n) rows.  dx may alias x or g
 * (row cout is written after its last read, at the same pixels). */
static void F(across_bwd_rows)(const T *x, ptrdiff_t ldx, const T *g, ptrdiff_t ldg,
                               T *y, ptrdiff_t ldy, ptrdiff_t C, ptrdiff_t m,
                               ptrdiff_t lo, ptrdiff_t hi, T a, T k, T coef, T c1,
                               int pow_mode, const F(gpow) *pw, T *mem)
{
    /* rows one line longer than whole vectors: 32x32 planes put 15 rows of 1024
     * floats on the same cache sets (1.5x slower) */
    ptrdiff_t n = lo + hi + 1, mp = F(pad)(m) + LRN_ROW_SLACK / (ptrdiff_t)sizeof(T);
    if (n > LRN_HALF_MAXN) {
        F(across_bwd_rows_long)(x, ldx, g, ldg, y, ldy, C, m, lo, hi, a, k, coef, c1,
                                pow_mode, pw, mem);
        return;
    }
    if (n > LRN_STRIP_MAXN) {
        F(across_bwd_rows_half)(x, ldx, g, ldg, y, ldy, C, m, lo, hi, a, k, coef, c1,
                                pow_mode, pw, mem);
        return;
    }
    T *sq = mem, *rr = sq + n * mp, *sl = rr + n * mp;
    const VT av = F(vsplat)(a), kv = F(vsplat)(k), cv = F(vsplat)(coef);
    const VT c1v = F(vsplat)(c1), one = F(vsplat)(1), zero = F(vsplat)(0);
    memset(mem, 0, (size_t)(3 * n) * (size_t)mp * sizeof(T));
    ptrdiff_t U = C + lo + n - 1;                    /* the last dx is at u = U - 1 */
    for (ptrdiff_t u = 0; u < U; u++) {
        const F(bwd_step) s = F(bwd_step_at)(u, x, ldx, g, ldg, y, ldy, C, lo, n, mp, sq, rr, sl);
        ptrdiff_t nq = 0, nr = 0;
        const T *qp[LRN_STRIP_MAXN], *rp[LRN_STRIP_MAXN];
        for (ptrdiff_t i = n - 1; i >= 0; i--) {
            ptrdiff_t row = ((u - i) % n + n) % n * mp;
            if (i != hi) qp[nq++] = sq + row;
            if (i != lo) rp[nr++] = rr + row;
        }
#define LRN_ROWS_LOOP(MODE, NS)                                                    \
        for (ptrdiff_t p = 0; p < m; p += VW) {                                    \
            ptrdiff_t rem = m - p;                                                 \
            VT v = F(vldr)(s.xj + p * s.sj, s.sj ? rem : VW), r = zero;            \
            F(vst)(s.sqo + p, v * v);                                              \
            if (s.crin) {                                                          \
                VT self, xv = F(vldr)(s.xc + p, rem);                              \
                LRN_BWD_VALUE(MODE, F(ptr_rows_sum)(qp, (NS), p), xv * xv, xv,       \
                              F(vldr)(s.gc + p, rem), r, self);                    \
                F(vst)(s.slc + p, self);                                           \
            }                                                                      \
            F(vst)(s.rro + p, r);                                                  \
            if (s.yo) {                                                            \
                VT d = F(vld)(s.slo + p) - cv * F(vldr)(s.xo + p, rem) * F(ptr_rows_sum)(rp, (NS), p); \
                F(vstr)(s.yo + p, d, rem);                                         \
            }                                                                      \
        }
/* NS = n - 1 rows a sum (nq = nr), a constant for each n up to 8: the sums unrolled */
#define LRN_BWD_LOOP(MODE)                                                         \
        switch (nq) {                                                              \
        case 0: LRN_ROWS_LOOP(MODE, 0) break;                                      \
        case 1: LRN_ROWS_LOOP(MODE, 1) break;                                      \
        case 2: LRN_ROWS_LOOP(MODE, 2) break;                                      \
        case 3: LRN_ROWS_LOOP(MODE, 3) break;                                      \
        case 4: LRN_ROWS_LOOP(MODE, 4) break;                                      \
        case 5: LRN_ROWS_LOOP(MODE, 5) break;                                      \
        case 6: LRN_ROWS_LOOP(MODE, 6) break;                                      \
        default: LRN_ROWS_LOOP(MODE, 7) break;                                     \
        }
        LRN_POW_SWITCH(LRN_BWD_LOOP)
#undef LRN_BWD_LOOP
#undef LRN_ROWS_LOOP
    }
}

/* The backward in strips of one vector of pixels, for the windows of N <=
 * LRN_STRIP_MAXN taps with LO before the centre that the frameworks use (odd N:
 * (N - 1) / 2; even N: N / 2 - 1 and N / 2), fast beta: rings A (x^2), B (r) and
 * L (self) of N registers, slot u mod N; the same operations in the same order as
 * across_bwd_rows. */
/* ring slot of the value taken i steps before step o of a block of N */
#define LRN_RG(N, o, i) ((((o) - (i)) % (N) + (N)) % (N))
/* out = the sum of ring R's values other than the one taken EX steps back,
 * oldest first (zero when N = 1) */
#define LRN_RING_SUM(N, R, o, EX, out)                                             \
    do {                                                                           \
        int f_ = 1;                                                                \
        (out) = zero;                                                              \
        _Pragma("GCC unroll 16")                                                   \
        for (int i_ = N - 1; i_ >= 0; i_--) {                                      \
            if (i_ == (EX)) continue;                                              \
            (out) = f_ ? R[LRN_RG(N, o, i_)] : (out) + R[LRN_RG(N, o, i_)];        \
            f_ = 0;                                                                \
        }                                                                          \
    } while (0)

#define LRN_STRIP_BWD_STEP(N, LO, MODE, GUARD)                                     \
    do {                                                                           \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = 0; o < N; o++) {                                              \
            ptrdiff_t u = u0 + o, j = u - LO, cr = u - N + 1, cout = cr - LO;      \
            if (GUARD && u >= U) break;                                            \
            const T *xj = (size_t)j < (size_t)C ? x + j * ldx + p : zeros;         \
            LRN_PFR(x + (j < C ? j : C - 1) * ldx + p + LRN_PF_DIST * VW, MODE);   \
            VT xv = F(vldr)(xj, rem), r = zero, Q, R;                              \
            sqA[o] = xv * xv;                                                      \
            if (!GUARD || (cr >= 0 && cr < C)) {                                   \
                LRN_PFR(g + cr * ldg + p + LRN_PF_DIST * VW, MODE);                \
                LRN_RING_SUM(N, sqA, o, N - 1 - LO, Q);                            \
                LRN_BWD_VALUE(MODE, Q, sqA[LRN_RG(N, o, N - 1 - LO)],              \
                              F(vldr)(x + cr * ldx + p, rem), F(vldr)(g + cr * ldg + p, rem), \
                              r, slf[o]);                                          \
            }                                                                      \
            sqB[o] = r;                                                            \
            if (!GUARD || cout >= 0) {                                             \
                LRN_RING_SUM(N, sqB, o, LO, R);                                    \
                VT d = slf[LRN_RG(N, o, LO)] - cv * F(vldr)(x + cout * ldx + p, rem) * R; \
                F(vstr)(y + cout * ldy + p, d, rem);                               \
            }                                                                      \
        }                                                                          \
    } while (0)

/* The same step where every channel read is inside the tensor and a dx is
 * written (j < C, 0 <= cr < C, cout >= 0): rows reached by pointer steps.  px: row
 * j, pg: g row cr, py: dx row cout. */
#define LRN_STRIP_BWD_MAIN(N, LO, MODE)                                            \
    do {                                                                           \
        _Pragma("GCC unroll 16")                                                   \
        for (int o = 0; o < N; o++) {                                              \
            LRN_PFR(px + LRN_PF_DIST * VW, MODE);                                  \
            LRN_PFR(pg + LRN_PF_DIST * VW, MODE);                                  \
            if (!LRN_STREAMS(MODE, cy)) __builtin_prefetch(py + LRN_PF_DIST * VW, 1); \
            VT xv = F(vld)(px), r, Q, R;                                           \
            sqA[o] = xv * xv;                                                      \
            LRN_RING_SUM(N, sqA, o, N - 1 - LO, Q);                                \
            LRN_BWD_VALUE(MODE, Q, sqA[LRN_RG(N, o, N - 1 - LO)], F(vld)(px - backr), \
                          F(vld)(pg), r, slf[o]);                                  \
            sqB[o] = r;                                                            \
            LRN_RING_SUM(N, sqB, o, LO, R);                                        \
            VT d = slf[LRN_RG(N, o, LO)] - cv * F(vld)(px - backo) * R;            \
            if (LRN_STREAMS(MODE, cy)) F(vst_lines)(py, &d, 1, cy + ci++, first, NULL, last); \
            else F(vst)(py, d);                                                    \
            px += ldx;                                                             \
            pg += ldg;                                                             \
            py += ldy;                                                             \
        }                                                                          \
    } while (0)

#define LRN_STRIP_BWD(N, LO, MODE)                                                 \
static void F(strip_bwd_##N##_##LO##_##MODE)(const T *x, ptrdiff_t ldx, const T *g,  \
                                             ptrdiff_t ldg, T *y, ptrdiff_t ldy,   \
                                             ptrdiff_t C, ptrdiff_t m, T a, T k,   \
                                             T coef, T c1, const F(gpow) *pw, VT *cy) \
{                                                                                  \
    static const T zeros[LRN_VBYTES / sizeof(T)];                                  \
    const VT av = F(vsplat)(a), kv = F(vsplat)(k), cv = F(vsplat)(coef);           \
    const VT c1v = F(vsplat)(c1), one = F(vsplat)(1), zero = F(vsplat)(0);         \
    ptrdiff_t U = C + LO + N - 1, nb = (U + N - 1) / N;                            \
    ptrdiff_t backr = (N - 1 - LO) * ldx, backo = (N - 1) * ldx;                   \
    F(prefetch_starts)(x, ldx, C, m);                                              \
    F(prefetch_starts)(g, ldg, C, m);                                              \
    for (ptrdiff_t p = 0; p < m; p += VW) {                                        \
        ptrdiff_t rem = m - p;                                                     \
        VT sqA[N], sqB[N], slf[N];                                                 \
        for (int i = 0; i < N; i++) sqA[i] = sqB[i] = slf[i] = zero;               \
        /* guarded: the first two blocks (cr < 0, cout < 0) and the last ones */   \
        ptrdiff_t u0 = 0;                                                          \
        for (; u0 < 2 * N && u0 < nb * N; u0 += N) LRN_STRIP_BWD_STEP(N, LO, MODE, 1); \
        const T *px = x + (u0 - LO) * ldx + p, *pg = g + (u0 - N + 1) * ldg + p;   \
        T *py = y + (u0 - N + 1 - LO) * ldy + p;                                   \
        ptrdiff_t ci = u0 - N + 1 - LO;   /* py's channel */                       \
        int first = p == 0, last = p + 2 * VW > m;                                 \
        for (; rem >= VW && u0 + N - 1 < C + LO; u0 += N) LRN_STRIP_BWD_MAIN(N, LO, MODE); \
        for (; u0 < nb * N; u0 += N) LRN_STRIP_BWD_STEP(N, LO, MODE, 1);           \
    }                                                                              \
}
#define LRN_STRIP_BWD_MODES(N, LO)                                                 \
    LRN_STRIP_BWD(N, LO, 0) LRN_STRIP_BWD(N, LO, 1) LRN_STRIP_BWD(N, LO, 2) LRN_STRIP_BWD(N, LO, 3)
LRN_STRIP_BWD_MODES(1, 0) LRN_STRIP_BWD_MODES(2, 0) LRN_STRIP_BWD_MODES(2, 1)
LRN_STRIP_BWD_MODES(3, 1) LRN_STRIP_BWD_MODES(4, 1) LRN_STRIP_BWD_MODES(4, 2)
LRN_STRIP_BWD_MODES(5, 2) LRN_STRIP_BWD_MODES(6, 2) LRN_STRIP_BWD_MODES(6, 3)
LRN_STRIP_BWD_MODES(7, 3) LRN_STRIP_BWD_MODES(8, 3) LRN_STRIP_BWD_MODES(8, 4)

/* the strip kernel for n taps, lo before the centre, and the power mode: 1 when
 * there is one, else 0 (the rows do it) */
#define LRN_STRIP_BWD_CASE(N, LO, ARGS)                                            \
    if (n == N && lo == LO) {                                                      \
        if (pow_mode == LRN_POW_075) F(strip_bwd_##N##_##LO##_1) ARGS;             \
        else if (pow_mode == LRN_POW_05) F(strip_bwd_##N##_##LO##_2) ARGS;         \
        else if (pow_mode == LRN_POW_1) F(strip_bwd_##N##_##LO##_3) ARGS;          \
        else if (sizeof(T) == 4) F(strip_bwd_##N##_##LO##_0) ARGS;                 \
        else return 0;                                                             \
        return 1;                                                                  \
    }
static int F(strip_bwd)(const T *x, ptrdiff_t ldx, const T *g, ptrdiff_t ldg, T *y,
                        ptrdiff_t ldy, ptrdiff_t C, ptrdiff_t m, ptrdiff_t lo, ptrdiff_t n,
                        T a, T k, T coef, T c1, int pow_mode, const F(gpow) *pw, VT *cy)
{
#define LRN_ARGS (x, ldx, g, ldg, y, ldy, C, m, a, k, coef, c1, pw, cy)
    LRN_STRIP_BWD_CASE(1, 0, LRN_ARGS) LRN_STRIP_BWD_CASE(2, 0, LRN_ARGS)
    LRN_STRIP_BWD_CASE(2, 1, LRN_ARGS) LRN_STRIP_BWD_CASE(3, 1, LRN_ARGS)
    LRN_STRIP_BWD_CASE(4, 1, LRN_ARGS) LRN_STRIP_BWD_CASE(4, 2, LRN_ARGS)
    LRN_STRIP_BWD_CASE(5, 2, LRN_ARGS) LRN_STRIP_BWD_CASE(6, 2, LRN_ARGS)
    LRN_STRIP_BWD_CASE(6, 3, LRN_ARGS) LRN_STRIP_BWD_CASE(7, 3, LRN_ARGS)
    LRN_STRIP_BWD_CASE(8, 3, LRN_ARGS) LRN_STRIP_BWD_CASE(8, 4, LRN_ARGS)
#undef LRN_ARGS
    return 0;
}

/* ---- across, channels contiguous (NHWC), windows of up to LRN_CL_MAXN taps ----
 * Vectorised along a pixel's channels, each window summed directly from n
 * shifted copies of the squares (at most LRN_CL_MAXN: no running sum at all).
 * The windows compiled in (sizes 3, 4, 5, 7, 9, 11; lo, hi <= VW) keep a pixel's
 * squares in registers and shift them by two-vector shuffles.  Other windows:
 * a block of np pixels is laid out as one row, each pixel's C values followed by
 * a gap of n - 1 zeros (and n - 1 zeros in front), the shifted copies being
 * unaligned loads from it. */
/* acc = the taps TAP(e) (an expression in e) for e = from .. to, added in that
 * order; LRN_TAPS_EX the same without the centre e = 0 (from <= 0 <= to; zero when
 * from = to = 0).  The window sums from memory (vshift_sum) and from registers
 * (vwin) take their order from here, so that both paths give the same bits. */
#ifndef LRN_TAPS
#define LRN_TAPS(acc, TAP, from, to)                                               \
    do {                                                                           \
        (acc) = TAP(from);                                                         \
        for (ptrdiff_t e_ = (from) + 1; e_ <= (to); e_++) (acc) += TAP(e_);        \
    } while (0)
#define LRN_TAPS_EX(acc, TAP, from, to)                                            \
    do {                                                                           \
        ptrdiff_t e0_ = (from) < 0 ? (from) : 1;                                   \
        if (e0_ > (to)) {                                                          \
            (acc) = F(vsplat)(0);                                                  \
            break;                                                                 \
        }                                                                          \
        (acc) = TAP(e0_);                                                          \
        for (ptrdiff_t f_ = e0_ + 1; f_ < 0; f_++) (acc) += TAP(f_);               \
        for (ptrdiff_t f_ = e0_ < 0 ? 1 : e0_ + 1; f_ <= (to); f_++) (acc) += TAP(f_); \
    } while (0)
#endif

/* window sum of the padded row at v: sum_{e=from}^{to} v[e]; _ex without e = 0 */
#define LRN_ROW_TAP(e) F(vld)(v + (e))
static inline VT F(vshift_sum)(const T *v, ptrdiff_t from, ptrdiff_t to)
{
    VT acc;
    LRN_TAPS(acc, LRN_ROW_TAP, from, to);
    return acc;
}
static inline VT F(vshift_sum_ex)(const T *v, ptrdiff_t from, ptrdiff_t to)
{
    VT acc;
    LRN_TAPS_EX(acc, LRN_ROW_TAP, from, to);
    return acc;
}
#undef LRN_ROW_TAP

/* Taps of a window over one pixel's channels, from three consecutive vectors of
 * them (vp: channels c - VW.., v: c.., vn: c + VW..; zeros outside the pixel's
 * channels), |e| <= VW: channels [c + e, c + e + VW), a two-vector shuffle. */
static inline VT F(vtap)(VT vp, VT v, VT vn, ptrdiff_t e)
{
    VI idx;
    for (int i = 0; i < (int)VW; i++) idx[i] = (unsigned)(e < 0 ? i + VW + e : i + e);
    return e == 0 ? v : (e < 0 ? __builtin_shuffle(vp, v, idx) : __builtin_shuffle(v, vn, idx));
}
/* the window sums of F(vshift_sum) and F(vshift_sum_ex) from registers (from, to
 * <= VW), added in the same order (LRN_TAPS): the same bits */
#define LRN_REG_TAP(e) F(vtap)(vp, v, vn, e)
static inline VT F(vwin)(VT vp, VT v, VT vn, ptrdiff_t from, ptrdiff_t to)
{
    VT acc;
    LRN_TAPS(acc, LRN_REG_TAP, from, to);
    return acc;
}
static inline VT F(vwin_ex)(VT vp, VT v, VT vn, ptrdiff_t from, ptrdiff_t to)
{
    VT acc;
    LRN_TAPS_EX(acc, LRN_REG_TAP, from, to);
    return acc;
}
#undef LRN_REG_TAP

/* Forward with lo, hi <= VW known to the compiler (F(across_cl) below): no
 * squares row at all, a pixel's channels in registers (one load and one square
 * per vector, each tap a shuffle with constant lanes); a window known only at run
 * time would shuffle with lanes in registers (emulated on SSE2) and takes the
 * squares row. */
#define LRN_CL_FWD_REG(MODE)                                                       \
    for (ptrdiff_t p = 0; p < m; p++) {                                            \
        const T *xp = x + p * sx;                                                  \
        T *yp = y + p * sy;                                                        \
        VT xv = F(vldr)(xp, C), q = xv * xv, qp = F(vsplat)(0);                    \
        for (ptrdiff_t c = 0; c < C; c += VW) {                                    \
            ptrdiff_t rem = C - c;                                                 \
            VT xn = rem > VW ? F(vldr)(xp + c + VW, rem - VW) : F(vsplat)(0);      \
            VT qn = xn * xn;                                                       \
            VT sv = kv + av * F(vwin)(qp, q, qn, -lo, hi);                          \
            F(vstr)(yp + c, xv * VPOWM(sv, MODE), rem);                            \
            qp = q;                                                                \
            q = qn;                                                                \
            xv = xn;                                                               \
        }                                                                          \
    }

/* The backward the same way: a pixel's r one vector ahead of its dx (r of
 * channels c + VW.. needs their squares' window, dx of c.. the r around it);
 * r past the last channel zeroed, as the squares row's gaps were.  With vectors of
 * 32 bytes or more only: on SSE2 it ran slower than the squares row (bench_ab.sh,
 * LRN_AB_TARGET=baseline, float32 size 5: 96 channels 1.18x the time, 21 channels
 * beta 0.6 1.66x; size 9, 13 channels 1.22x), where the forward ran 0.56x; NEON,
 * 16 bytes too, is not measured here. */
#define LRN_CL_REG_BWD (LRN_VBYTES >= 32)
#define LRN_CL_BWD_REG(MODE)                                                       \
    for (ptrdiff_t p = 0; p < m; p++) {                                            \
        const T *xp = x + p * sx, *gp = g + p * sg;                                \
        T *yp = y + p * sy;                                                        \
        VT x0 = F(vldr)(xp, C), x1 = C > VW ? F(vldr)(xp + VW, C - VW) : zero;     \
        VT q0 = x0 * x0, q1 = x1 * x1, qp = zero, rp = zero, r0, s0;               \
        LRN_BWD_VALUE(MODE, F(vwin_ex)(qp, q0, q1, -lo, hi), q0, x0,               \
                      F(vldr)(gp, C), r0, s0);                                     \
        if (C < VW) r0 = F(vkeep)(r0, C);                                          \
        for (ptrdiff_t c = 0; c < C; c += VW) {                                    \
            ptrdiff_t rem = C - c;                                                 \
            VT r1 = zero, s1 = zero, x2 = zero, q2;                                \
            if (rem > VW) {                                                        \
                x2 = rem > 2 * VW ? F(vldr)(xp + c + 2 * VW, rem - 2 * VW) : zero; \
                q2 = x2 * x2;                                                      \
                LRN_BWD_VALUE(MODE, F(vwin_ex)(q0, q1, q2, -lo, hi), q1, x1,       \
                              F(vldr)(gp + c + VW, rem - VW), r1, s1);             \
                if (rem < 2 * VW) r1 = F(vkeep)(r1, rem - VW);                     \
                q0 = q1;                                                           \
                q1 = q2;                                                           \
            }                                                                      \
            VT d = s0 - cv * x0 * F(vwin_ex)(rp, r0, r1, -hi, lo);                 \
            F(vstr)(yp + c, d, rem);                                               \
            rp = r0;                                                               \
            r0 = r1;                                                               \
            s0 = s1;                                                               \
            x0 = x1;                                                               \
            x1 = x2;                                                               \
        }                                                                          \
    }

__attribute__((always_inline))
static inline void F(across_cl_w)(const lrn_job *J, const T *x, const T *g, T *y, ptrdiff_t m,
                                  const F(gpow) *pw, T *mem, ptrdiff_t lo, ptrdiff_t hi,
                                  int known)
{
    ptrdiff_t C = J->shape[1], n = lo + hi + 1;
    ptrdiff_t G = C + n - 1, L0 = n - 1;
    ptrdiff_t sx = J->xs[2], sy = J->ys[2], sg = J->backward ? J->gs[2] : 0;
    ptrdiff_t P = LRN_CL_BLOCK / G > 0 ? LRN_CL_BLOCK / G : 1;
    T a = (T)J->alpha_d, k = (T)J->k, coef = (T)(2.0 * J->beta);
    const VT av = F(vsplat)(a), kv = F(vsplat)(k), cv = F(vsplat)(coef);
    const VT c1v = F(vsplat)((T)(1.0 - 2.0 * J->beta)), one = F(vsplat)(1);
    int pow_mode = J->pow_mode;
    ptrdiff_t cap = L0 + P * G + VW;         /* + VW: a row tail's loads stay inside */
    T *sq = mem, *rb = sq + cap, *tb = rb + cap;
    if (known && lo <= (ptrdiff_t)VW && hi <= (ptrdiff_t)VW && (!J->backward || LRN_CL_REG_BWD)) {
        const VT zero = F(vsplat)(0);
        if (J->backward) {
            LRN_POW_SWITCH(LRN_CL_BWD_REG)
        }
        else {
            LRN_POW_SWITCH(LRN_CL_FWD_REG)
        }
        return;
    }
    for (ptrdiff_t q = 0; q < L0; q++) sq[q] = rb[q] = 0;
    for (ptrdiff_t p0 = 0; p0 < m; p0 += P) {
        ptrdiff_t np = m - p0 < P ? m - p0 : P;
        for (ptrdiff_t p = 0; p < np; p++) {
            const T *xp = x + (p0 + p) * sx;
            T *dst = sq + L0 + p * G;
#pragma GCC ivdep
            for (ptrdiff_t c = 0; c < C; c++) dst[c] = xp[c] * xp[c];
            /* the gap after it, in whole vectors (past it: the next pixel's, written
             * later, or the slack at the end) */
            for (ptrdiff_t c = C; c < G; c += VW) F(vst)(dst + c, F(vsplat)(0));
        }
        for (ptrdiff_t p = 0; p < np; p++) {
            const T *xp = x + (p0 + p) * sx, *gp = g ? g + (p0 + p) * sg : NULL;
            const T *sqp = sq + L0 + p * G;
            T *yp = y + (p0 + p) * sy, *tp = tb + p * G, *rp = rb + L0 + p * G;
            if (!J->backward) {
#define LRN_CL_FWD(MODE)                                                           \
                for (ptrdiff_t c = 0; c < C; c += VW) {                            \
                    ptrdiff_t rem = C - c;                                         \
                    VT sv = kv + av * F(vshift_sum)(sqp + c, -lo, hi);             \
                    VT xv = F(vldr)(xp + c, rem);                                  \
                    VT r = xv * VPOWM(sv, MODE);                                   \
                    F(vstr)(yp + c, r, rem);                                       \
                }
                LRN_POW_SWITCH(LRN_CL_FWD)
#undef LRN_CL_FWD
                continue;
            }
            else {
#define LRN_CL_BWD(MODE)                                                           \
                for (ptrdiff_t c = 0; c < C; c += VW) {                            \
                    ptrdiff_t rem = C - c < VW ? C - c : VW;                       \
                    VT r, self;                                                    \
                    LRN_BWD_VALUE(MODE, F(vshift_sum_ex)(sqp + c, -lo, hi),        \
                                  F(vld)(sqp + c), F(vldr)(xp + c, rem),           \
                                  F(vldr)(gp + c, rem), r, self);                  \
                    F(vst)(tp + c, self);                                          \
                    F(vstr)(rp + c, r, rem);                                       \
                }
                LRN_POW_SWITCH(LRN_CL_BWD)
#undef LRN_CL_BWD
            }
            for (ptrdiff_t c = C; c < G; c += VW) F(vst)(rp + c, F(vsplat)(0));   /* r's gap */
        }
        if (!J->backward) continue;
        /* dx = self - 2 beta x * (the transposed window's other r) */
        for (ptrdiff_t p = 0; p < np; p++) {
            const T *xp = x + (p0 + p) * sx;
            const T *tp = tb + p * G, *rp = rb + L0 + p * G;
            T *yp = y + (p0 + p) * sy;
            for (ptrdiff_t c = 0; c < C; c += VW) {
                ptrdiff_t rem = C - c < VW ? C - c : VW;
                VT xv = F(vldr)(xp + c, rem);
                VT d = F(vld)(tp + c) - cv * xv * F(vshift_sum_ex)(rp + c, -hi, lo);
                F(vstr)(yp + c, d, rem);
            }
        }
    }
}

/* Sizes 5 and 9 (PyTorch's and Caffe's default; TensorFlow's depth_radius 4),
 * 3, 7 and 11, and 4 with two taps before the centre (PyTorch) or after it (ONNX),
 * with their taps known to the compiler: the register path above where it
 * applies, else the shifted sums unrolled.  (Before the register path: with the
 * gaps zeroed in whole vectors and the sum without the centre in two plain
 * loops, float32 NHWC, about 9.3M values, 1 thread, size 5 (bench_ab.c,
 * LRN_AB_LAYOUT=hhh): backward 16 channels 0.74-0.78x the time, 32 0.78-0.87x,
 * 64 0.85-0.91x, 96 and 256 0.94-0.97x; forward 0.75x, 0.89x, 0.89x, 0.84x.) */
static void F(across_cl)(const lrn_job *J, const T *x, const T *g, T *y, ptrdiff_t m,
                         const F(gpow) *pw, T *mem)
{
    ptrdiff_t lo = J->lo[0], hi = J->hi[0];
    if (lo == 2 && hi == 2) F(across_cl_w)(J, x, g, y, m, pw, mem, 2, 2, 1);
    else if (lo == 4 && hi == 4) F(across_cl_w)(J, x, g, y, m, pw, mem, 4, 4, 1);
    else if (lo == 1 && hi == 1) F(across_cl_w)(J, x, g, y, m, pw, mem, 1, 1, 1);
    else if (lo == 3 && hi == 3) F(across_cl_w)(J, x, g, y, m, pw, mem, 3, 3, 1);
    else if (lo == 5 && hi == 5) F(across_cl_w)(J, x, g, y, m, pw, mem, 5, 5, 1);
    else if (lo == 2 && hi == 1) F(across_cl_w)(J, x, g, y, m, pw, mem, 2, 1, 1);
    else if (lo == 1 && hi == 2) F(across_cl_w)(J, x, g, y, m, pw, mem, 1, 2, 1);
    else F(across_cl_w)(J, x, g, y, m, pw, mem, lo, hi, 0);
}

/* ---- packing a tile of pixels into channel rows, and back -------------------
 * The transpose of a VW x VW block in registers: log2(VW) rounds, round q
 * swapping the off-diagonal sub-blocks of width b = 2^q in every pair of rows b
 * apart, VW two-vector shuffles a round.  Their lane indices, made once a call: */
typedef struct { VI lo[5], hi[5]; } F(tperm);   /* rounds: up to 16 lanes */
static void F(tperm_init)(F(tperm) *t)
{
    for (ptrdiff_t q = 0, b = 1; b < VW; q++, b *= 2)
        for (ptrdiff_t j = 0; j < VW; j++) {   /* lane j of a pair's first and second row */
            t->lo[q][j] = (unsigned)(j & b ? j - b + VW : j);
            t->hi[q][j] = (unsigned)(j & b ? j + VW : j + b);
        }
}

static inline void F(transpose)(T *dst, ptrdiff_t ldd, const T *src, ptrdiff_t lds,
                                const F(tperm) *t)
{
    VT r[VW];
    _Pragma("GCC unroll 16")
    for (ptrdiff_t i = 0; i < VW; i++) r[i] = F(vld)(src + i * lds);
    _Pragma("GCC unroll 4")
    for (ptrdiff_t q = 0, b = 1; b < VW; q++, b *= 2) {
        _Pragma("GCC unroll 16")
        for (ptrdiff_t i = 0; i < VW; i++) {
            if (i & b) continue;
            VT u = __builtin_shuffle(r[i], r[i + b], t->lo[q]);
            VT v = __builtin_shuffle(r[i], r[i + b], t->hi[q]);
            r[i] = u;
            r[i + b] = v;
        }
    }
    _Pragma("GCC unroll 16")
    for (ptrdiff_t i = 0; i < VW; i++) F(vst)(dst + i * ldd, r[i]);
}

/* rows[c * ld + p] = a[p * sp + c * sc] (pack) or back (unpack), c < C, p < m;
 * blocks of VW x VW transposed in registers when the channels are contiguous
 * (sc = 1), element by element for the rest.  Inline: as calls, NHWC with 3
 * float32 channels ran 16% slower forward (12.1 -> 14.0 ms for 32x311x311x3) */
static inline void F(pack)(T *rows, ptrdiff_t ld, const T *a, ptrdiff_t sc, ptrdiff_t sp, ptrdiff_t C,
                    ptrdiff_t m)
{
    ptrdiff_t c0 = 0, mv = 0;   /* blocks: channels [0, c0) of pixels [0, mv) */
    if (sc == 1 && C >= VW && m >= VW) {
        F(tperm) t;
        F(tperm_init)(&t);
        c0 = C / VW * VW;
        mv = m / VW * VW;   /* pixel blocks outer: a's memory in order */
        for (ptrdiff_t p = 0; p < mv; p += VW)
            for (ptrdiff_t c = 0; c < c0; c += VW)
                F(transpose)(rows + c * ld + p, ld, a + p * sp + c, sp, &t);
    }
    for (ptrdiff_t p = 0; p < mv; p++)   /* the channels after the blocks' */
        for (ptrdiff_t c = c0; c < C; c++) rows[c * ld + p] = a[p * sp + c * sc];
    for (ptrdiff_t p = mv; p < m; p++)   /* the pixels after them */
        for (ptrdiff_t c = 0; c < C; c++) rows[c * ld + p] = a[p * sp + c * sc];
}

/* The inverse of F(pack).  Kept apart: one function for both directions (the
 * strides of either side as arguments, always inlined) gave the same bits but ran
 * NHWC with 3 float32 channels 1.14x slower forward and 1.07x backward
 * (src_c/test/bench_ab.sh, LRN_AB_LAYOUT=hhh, "32 3 96721 fwd|bwd 0.75 1"). */
static inline void F(unpack)(T *a, ptrdiff_t sc, ptrdiff_t sp, const T *rows, ptrdiff_t ld, ptrdiff_t C,
                      ptrdiff_t m)
{
    ptrdiff_t c0 = 0, mv = 0;
    if (sc == 1 && C >= VW && m >= VW) {
        F(tperm) t;
        F(tperm_init)(&t);
        c0 = C / VW * VW;
        mv = m / VW * VW;
        for (ptrdiff_t p = 0; p < mv; p += VW)
            for (ptrdiff_t c = 0; c < c0; c += VW)
                F(transpose)(a + p * sp + c, sp, rows + c * ld + p, ld, &t);
    }
    for (ptrdiff_t p = 0; p < mv; p++)
        for (ptrdiff_t c = c0; c < C; c++) a[p * sp + c * sc] = rows[c * ld + p];
    for (ptrdiff_t p = mv; p < m; p++)
        for (ptrdiff_t c = 0; c < C; c++) a[p * sp + c * sc] = rows[c * ld + p];
}

/* ---- across: one work item = (outer index, pixel tile) ---------------------- */
static void F(across_item)(const lrn_job *J, ptrdiff_t item, void *work)
{
    ptrdiff_t C = J->shape[1], inner = J->shape[2];
    ptrdiff_t o = item / J->ntiles, p0 = (item % J->ntiles) * J->tile;
    ptrdiff_t m = inner - p0 < J->tile ? inner - p0 : J->tile;
    ptrdiff_t lo = J->lo[0], hi = J->hi[0], n = lo + hi + 1;
    const T *x = (const T *)J->x + o * J->xs[0] + p0 * J->xs[2];
    const T *g = J->backward ? (const T *)J->g + o * J->gs[0] + p0 * J->gs[2] : NULL;
    T *y = (T *)J->y + o * J->ys[0] + p0 * J->ys[2];
    T a = (T)J->alpha_d, k = (T)J->k, coef = (T)(2.0 * J->beta);
    T c1 = (T)(1.0 - 2.0 * J->beta);
    T *mem = (T *)work;
    ptrdiff_t mp = F(pad)(m);
    size_t sw = (J->backward ? (size_t)(lrn_bwd_rows(n) * (mp + LRN_ROW_SLACK / (ptrdiff_t)sizeof(T)))
                             : F(stream_elems)(n, mp));
    int mode = lrn_across_mode(J);
    F(gpow) pw;
    if (J->pow_mode == LRN_POW_GENERIC) F(gpow_init)(&pw, J->beta, J->beta_parity);
    if (mode == LRN_MODE_CL) {
        F(across_cl)(J, x, g, y, m, &pw, mem);
        return;
    }
    if (mode == LRN_MODE_ROWS) {
        size_t esz = sizeof(T);
        int strips = lrn_strip_stride_ok(J->xs[1], C, esz) && lrn_strip_stride_ok(J->ys[1], C, esz)
                     && (!J->backward || lrn_strip_stride_ok(J->gs[1], C, esz));
        /* strips when the window is short (a partial last vector included), else
         * rows: both add in the same order and take the same power, so the choice
         * never changes a bit */
        VT *cy = LRN_STREAM && J->stream ? (VT *)mem : NULL;
        if (J->backward) {
            if (!(strips && F(strip_bwd)(x, J->xs[1], g, J->gs[1], y, J->ys[1], C, m, lo, n,
                                         a, k, coef, c1, J->pow_mode, &pw, cy)))
                F(across_bwd_rows)(x, J->xs[1], g, J->gs[1], y, J->ys[1], C, m, lo, hi, a, k,
                                   coef, c1, J->pow_mode, &pw, mem);
        }
        else if (!(strips && F(strip_fwd)(x, J->xs[1], y, J->ys[1], C, m, lo, n, a, k,
                                          J->pow_mode, &pw, cy))) {
            F(across_fwd_rows)(x, J->xs[1], y, J->ys[1], C, m, lo, hi, a, k,
                               J->pow_mode, &pw, mem);
        }
        if (cy) lrn_sfence();   /* the streamed lines before anything else */
        return;
    }
    /* pixels not contiguous in some array (NHWC, other memory orders, strided
     * views): each such array's tile goes through channel rows of m contiguous
     * pixels in the scratch (x and y share theirs: the rows kernels run in
     * place), the others are used where they are */
    /* rows a line longer when whole blocks are transposed into them: the VW rows
     * a block writes then fall in different L1 sets */
    ptrdiff_t lt = C >= VW ? m + 64 / (ptrdiff_t)sizeof(T) : m;
    T *xt = mem + sw, *gt = xt + C * lt;
    const T *xr = x, *gr = g;
    T *yr = y;
    ptrdiff_t ldx = J->xs[1], ldg = J->backward ? J->gs[1] : 0, ldy = J->ys[1];
    if (J->xs[2] != 1) {
        F(pack)(xt, lt, x, J->xs[1], J->xs[2], C, m);
        xr = xt;
        ldx = lt;
    }
    if (J->backward && J->gs[2] != 1) {
        F(pack)(gt, lt, g, J->gs[1], J->gs[2], C, m);
        gr = gt;
        ldg = lt;
    }
    if (J->ys[2] != 1) {
        yr = xt;
        ldy = lt;
    }
    if (J->backward)
        F(across_bwd_rows)(xr, ldx, gr, ldg, yr, ldy, C, m, lo, hi, a, k, coef, c1,
                           J->pow_mode, &pw, mem);
    else
        F(across_fwd_rows)(xr, ldx, yr, ldy, C, m, lo, hi, a, k, J->pow_mode, &pw, mem);
    if (J->ys[2] != 1) F(unpack)(y, J->ys[1], J->ys[2], xt, lt, C, m);
}

/* ---- within channel: one work item = (batch index, chunk of cc channels) ----
 * The chunk is copied (squared) into a buffer in one of two layouts:
 *   planar      [lines][cc][last] when the last spatial axis has the smaller stride
 *               (NCHW; lines = positions of the other spatial axes): box sums along
 *               the last axis are one shifted sum over the padded lines, along the
 *               others over rows of cc * (later axes) values;
 *   interleaved [P][cc]  when the channels have the smaller stride (NHWC):
 *               box sums along every axis run over rows of >= cc values.
 * P is the number of spatial positions. */

/* Visit every (channel q of the chunk, spatial position) of a block, with the
 * innermost loop over the axis of smaller stride in x (specialised for unit
 * strides); ox, og, oy are element offsets, bi the index in the buffer. */
#define LRN_FOR_BLOCK(J, cc, planar, wp, BODY)                                     \
    do {                                                                           \
        int nsp = (J)->ndim - 2;                                                   \
        ptrdiff_t idx[LRN_MAXDIM];                                                 \
        ptrdiff_t last = (J)->shape[(J)->ndim - 1];                                \
        ptrdiff_t lx = (J)->xs[(J)->ndim - 1], lg = (J)->gs[(J)->ndim - 1],        \
                  ly = (J)->ys[(J)->ndim - 1];                                     \
        ptrdiff_t cx = (J)->xs[1], cg = (J)->gs[1], cy = (J)->ys[1];               \
        ptrdiff_t nlines = P / last;                                               \
        for (int d_ = 0; d_ < nsp; d_++) idx[d_] = 0;                              \
        ptrdiff_t bx = 0, bg = 0, by = 0;                                          \
        for (ptrdiff_t ln = 0; ln < nlines; ln++) {                                \
            if (planar) {                                                          \
                int unit = lx == 1 && ly == 1 && (lg == 1 || !(J)->backward);      \
                for (ptrdiff_t q = 0; q < (cc); q++) {                             \
                    ptrdiff_t b0 = (ln * (cc) + q) * (wp);                         \
                    if (unit) {                                                    \
                        const ptrdiff_t ux = bx + q * cx, ug = bg + q * cg,        \
                                        uy = by + q * cy;                          \
                        _Pragma("GCC ivdep")                                       \
                        for (ptrdiff_t w = 0; w < last; w++) {                     \
                            ptrdiff_t ox = ux + w, og = ug + w, oy = uy + w;       \
                            ptrdiff_t bi = b0 + w;                                 \
                            (void)og; (void)oy; (void)ox;                          \
                            BODY                                                   \
                        }                                                          \
                    }                                                              \
                    else {                                                         \
                        for (ptrdiff_t w = 0; w < last; w++) {                     \
                            ptrdiff_t ox = bx + q * cx + w * lx;                   \
                            ptrdiff_t og = bg + q * cg + w * lg;                   \
                            ptrdiff_t oy = by + q * cy + w * ly;                   \
                            ptrdiff_t bi = b0 + w;                                 \
                            (void)og; (void)oy; (void)ox;                          \
                            BODY                                                   \
                        }                                                          \
                    }                                                              \
                }                                                                  \
            }                                                                      \
            else {                                                                 \
                int unit = cx == 1 && cy == 1 && (cg == 1 || !(J)->backward);      \
                for (ptrdiff_t w = 0; w < last; w++) {                             \
                    ptrdiff_t b0 = (ln * (wp) + w) * (cc);                         \
                    if (unit) {                                                    \
                        const ptrdiff_t ux = bx + w * lx, ug = bg + w * lg,        \
                                        uy = by + w * ly;                          \
                        _Pragma("GCC ivdep")                                       \
                        for (ptrdiff_t q = 0; q < (cc); q++) {                     \
                            ptrdiff_t ox = ux + q, og = ug + q, oy = uy + q;       \
                            ptrdiff_t bi = b0 + q;                                 \
                            (void)og; (void)oy; (void)ox;                          \
                            BODY                                                   \
                        }                                                          \
                    }                                                              \
                    else {                                                         \
                        for (ptrdiff_t q = 0; q < (cc); q++) {                     \
                            ptrdiff_t ox = bx + q * cx + w * lx;                   \
                            ptrdiff_t og = bg + q * cg + w * lg;                   \
                            ptrdiff_t oy = by + q * cy + w * ly;                   \
                            ptrdiff_t bi = b0 + q;                                 \
                            (void)og; (void)oy; (void)ox;                          \
                            BODY                                                   \
                        }                                                          \
                    }                                                              \
                }                                                                  \
            }                                                                      \
            /* next line: increment the spatial index, all but the last axis */    \
            for (int d_ = nsp - 2; d_ >= 0; d_--) {                                \
                int ax = d_ + 2;                                                   \
                idx[d_]++;                                                         \
                bx += (J)->xs[ax]; bg += (J)->gs[ax]; by += (J)->ys[ax];           \
                if (idx[d_] < (J)->shape[ax]) break;                               \
                bx -= idx[d_] * (J)->xs[ax]; bg -= idx[d_] * (J)->gs[ax];          \
                by -= idx[d_] * (J)->ys[ax];                                       \
                idx[d_] = 0;                                                       \
            }                                                                      \
        }                                                                          \
    } while (0)

/* The same visit in runs of contiguous elements, when the axis of smaller stride
 * has unit stride in every array (lrn_within_unit): RUN sees ox, og, oy, bi and
 * the run length len (last planar, cc interleaved). */
#define LRN_FOR_RUNS(J, cc, planar, wp, RUN)                                       \
    do {                                                                           \
        int nsp = (J)->ndim - 2;                                                   \
        ptrdiff_t idx[LRN_MAXDIM];                                                 \
        ptrdiff_t last = (J)->shape[(J)->ndim - 1];                                \
        ptrdiff_t lx = (J)->xs[(J)->ndim - 1], lg = (J)->gs[(J)->ndim - 1],        \
                  ly = (J)->ys[(J)->ndim - 1];                                     \
        ptrdiff_t cx = (J)->xs[1], cg = (J)->gs[1], cy = (J)->ys[1];               \
        ptrdiff_t nlines = P / last;                                               \
        for (int d_ = 0; d_ < nsp; d_++) idx[d_] = 0;                              \
        ptrdiff_t bx = 0, bg = 0, by = 0;                                          \
        for (ptrdiff_t ln = 0; ln < nlines; ln++) {                                \
            ptrdiff_t nrun = (planar) ? (cc) : last, len = (planar) ? last : (cc); \
            for (ptrdiff_t q = 0; q < nrun; q++) {                                 \
                ptrdiff_t ox = bx + q * ((planar) ? cx : lx);                      \
                ptrdiff_t og = bg + q * ((planar) ? cg : lg);                      \
                ptrdiff_t oy = by + q * ((planar) ? cy : ly);                      \
                ptrdiff_t bi = (planar) ? (ln * (cc) + q) * (wp) : (ln * (wp) + q) * (cc); \
                (void)og; (void)oy;                                                \
                RUN                                                                \
            }                                                                      \
            for (int d_ = nsp - 2; d_ >= 0; d_--) {                                \
                int ax = d_ + 2;                                                   \
                idx[d_]++;                                                         \
                bx += (J)->xs[ax]; bg += (J)->gs[ax]; by += (J)->ys[ax];           \
                if (idx[d_] < (J)->shape[ax]) break;                               \
                bx -= idx[d_] * (J)->xs[ax]; bg -= idx[d_] * (J)->gs[ax];          \
                by -= idx[d_] * (J)->ys[ax];                                       \
                idx[d_] = 0;                                                       \
            }                                                                      \
        }                                                                          \
    } while (0)

/* Box sum of the buffer along every spatial axis but the last, with the taps
 * given per axis; with `shifted` = 0 the last axis too (interleaved layout, long
 * windows).  A line of the last axis holds wp positions (last values and the zero
 * gap) of cc values in both layouts. */
static void F(box_all)(const lrn_job *J, T *buf, ptrdiff_t cc, int shifted, ptrdiff_t wp,
                       T *mem)
{
    int nsp = J->ndim - 2;
    ptrdiff_t lines = 1;
    for (int d = 0; d < nsp - 1; d++) lines *= J->shape[d + 2];
    ptrdiff_t total = lines * wp * cc;
    ptrdiff_t inner = shifted ? wp * cc : cc;     /* values per step along the axis */
    for (int d = nsp - 1 - (shifted ? 1 : 0); d >= 0; d--) {
        ptrdiff_t L = J->shape[d + 2];
        ptrdiff_t lo = J->lo[d], hi = J->hi[d];
        ptrdiff_t outer = total / (L * inner);
        if (lo + hi > 0) {
            for (ptrdiff_t ob = 0; ob < outer; ob++)
                for (ptrdiff_t c0 = 0; c0 < inner; c0 += LRN_BOX_COLS) {
                    ptrdiff_t mm = inner - c0 < LRN_BOX_COLS ? inner - c0 : LRN_BOX_COLS;
                    F(box_rows)(buf + ob * L * inner + c0, inner, L, mm, lo, hi, mem);
                }
        }
        inner *= L;
    }
}

/* The last axis as one shifted sum over the whole buffer: out[q] = sum_{e=-lo}^{hi}
 * in[q + e unit] (lo taps before, n - lo - 1 after), where the values of neighbouring positions along the axis are
 * `unit` apart (1 planar, cc interleaved) and every line (seg of them, pitch wp
 * positions) is followed by n - 1 positions of zeros, with n - 1 in front. */
static void F(last_axis)(T *out, const T *in, ptrdiff_t nseg, ptrdiff_t wp, ptrdiff_t unit,
                         ptrdiff_t n, ptrdiff_t lo)
{
    ptrdiff_t len = (nseg * wp - (n - 1)) * unit;
    const T *base = in - lo * unit;        /* window of q: base[q + e unit], e < n */
#define LRN_LAST_AXIS(N)                                                           \
    for (ptrdiff_t q = 0; q < len; q += VW) {                                      \
        VT acc = F(vld)(base + q);                                                 \
        _Pragma("GCC unroll 16")                                                   \
        for (ptrdiff_t e = 1; e < (N); e++) acc += F(vld)(base + q + e * unit);    \
        F(vst)(out + q, acc);                                                      \
    }
    switch (n) {     /* the common lengths unrolled; the same sums in the same order */
    case 1: LRN_LAST_AXIS(1) break;
    case 2: LRN_LAST_AXIS(2) break;
    case 3: LRN_LAST_AXIS(3) break;
    case 4: LRN_LAST_AXIS(4) break;
    case 5: LRN_LAST_AXIS(5) break;
    case 6: LRN_LAST_AXIS(6) break;
    case 7: LRN_LAST_AXIS(7) break;
    default: LRN_LAST_AXIS(n) break;
    }
#undef LRN_LAST_AXIS
}

/* last_axis with and without the centre, in one pass: ex[q] = the sum of
 * in[q + e unit] for e = -lo .. n - lo - 1 but e = 0, in that order, starting from
 * zero (zero when n = 1), and out[q] = ex[q] + in[q] unless out is NULL; the
 * frameworks' windows up to 7 taps unrolled */
static void F(last_axis_ex)(T *out, T *ex, const T *in, ptrdiff_t nseg, ptrdiff_t wp,
                            ptrdiff_t unit, ptrdiff_t n, ptrdiff_t lo)
{
    ptrdiff_t len = (nseg * wp - (n - 1)) * unit;
    const T *base = in - lo * unit;
#define LRN_LAST_AXIS_EX(N, LO, OUT)                                               \
    for (ptrdiff_t q = 0; q < len; q += VW) {                                      \
        VT acc = F(vsplat)(0);                                                     \
        _Pragma("GCC unroll 16")                                                   \
        for (ptrdiff_t e = 0; e < (LO); e++) acc += F(vld)(base + q + e * unit);   \
        _Pragma("GCC unroll 16")                                                   \
        for (ptrdiff_t e = (LO) + 1; e < (N); e++) acc += F(vld)(base + q + e * unit); \
        F(vst)(ex + q, acc);                                                       \
        if (OUT) F(vst)(out + q, acc + F(vld)(in + q));                            \
    }
#define LRN_LAST_AXIS_EX_SWITCH(OUT)                                               \
    switch (n * 16 + lo) {     /* lo < n <= LRN_CL_MAXN = 16: one key per window */ \
    case 2 * 16 + 0: LRN_LAST_AXIS_EX(2, 0, OUT) break;                            \
    case 2 * 16 + 1: LRN_LAST_AXIS_EX(2, 1, OUT) break;                            \
    case 3 * 16 + 1: LRN_LAST_AXIS_EX(3, 1, OUT) break;                            \
    case 4 * 16 + 1: LRN_LAST_AXIS_EX(4, 1, OUT) break;                            \
    case 4 * 16 + 2: LRN_LAST_AXIS_EX(4, 2, OUT) break;                            \
    case 5 * 16 + 2: LRN_LAST_AXIS_EX(5, 2, OUT) break;                            \
    case 6 * 16 + 2: LRN_LAST_AXIS_EX(6, 2, OUT) break;                            \
    case 6 * 16 + 3: LRN_LAST_AXIS_EX(6, 3, OUT) break;                            \
    case 7 * 16 + 3: LRN_LAST_AXIS_EX(7, 3, OUT) break;                            \
    default: LRN_LAST_AXIS_EX(n, lo, OUT) break;                                   \
    }
    if (out) LRN_LAST_AXIS_EX_SWITCH(1)
    else LRN_LAST_AXIS_EX_SWITCH(0)
#undef LRN_LAST_AXIS_EX_SWITCH
#undef LRN_LAST_AXIS_EX
}

static void F(zero_gaps)(T *buf, ptrdiff_t nseg, ptrdiff_t last, ptrdiff_t wp, ptrdiff_t unit)
{
    size_t gap = (size_t)((wp - last) * unit) * sizeof(T);
    if (!gap) return;
    memset(buf - (wp - last) * unit, 0, gap);
    for (ptrdiff_t sg = 0; sg < nseg; sg++) memset(buf + (sg * wp + last) * unit, 0, gap);
}

/* E[c] += the sum of z[c + e] over e = -lo .. hi but 0 (clipped to [0, L)), in
 * that order, for the outer blocks of L rows of `inner` values; direct sums (n up
 * to LRN_CL_MAXN taps).  z's rows are read as whole vectors (the planes' slack). */
static void F(ex_rows_direct)(T *E, const T *z, ptrdiff_t L, ptrdiff_t inner,
                              ptrdiff_t outer, ptrdiff_t lo, ptrdiff_t hi)
{
    const T *ps[LRN_CL_MAXN];
    for (ptrdiff_t ob = 0; ob < outer; ob++)
        for (ptrdiff_t c = 0; c < L; c++) {
            ptrdiff_t np = 0, j = c - lo < 0 ? 0 : c - lo, e = c + hi < L ? c + hi : L - 1;
            for (; j <= e; j++)
                if (j != c) ps[np++] = z + (ob * L + j) * inner;
            T *ev = E + (ob * L + c) * inner;
            if (np)
                for (ptrdiff_t p = 0; p < inner; p += VW)
                    F(vstr)(ev + p, F(vldr)(ev + p, inner - p) + F(ptr_rows_sum)(ps, np, p),
                            inner - p);
        }
}

/* The window sums without the centre over every spatial axis: E = the sum of Z0
 * over the window's offsets but (0, ..., 0), with the taps given per axis (swap = 1
 * mirrors them).  With X_i the box along axis i without its centre tap, the sum
 * over the offsets nonzero somewhere in the axes done so far grows axis by axis as
 * E' = E + X_i(E + Z0), from E = 0: no difference is ever taken, so a pixel that
 * dominates its window leaves no rounding of its own in the others' sum.  With
 * `shifted`, the last axis is a shifted sum over the zero-gapped plane (Z0's gaps
 * and front zero) that leaves E + Z0 in Z as well; the others are direct sums up to
 * LRN_CL_MAXN taps, else running sums of the taps before and of those after.
 * Z: a scratch plane. */
static void F(ex_all)(const lrn_job *J, T *E, const T *Z0, T *Z, ptrdiff_t cc, ptrdiff_t P,
                      ptrdiff_t wp, int swap, T *mem)
{
    int d = J->ndim - 3, planar = lrn_within_planar(J);
    ptrdiff_t last = J->shape[J->ndim - 1], total = P / last * wp * cc, inner = cc;
    const T *z = Z0;                    /* E + Z0 (E = 0 at first) */
    if (lrn_within_shifted(J)) {
        ptrdiff_t unit = planar ? 1 : cc, nseg = planar ? P / last * cc : P / last;
        F(last_axis_ex)(d ? Z : NULL, E, Z0, nseg, wp, unit, J->lo[d] + J->hi[d] + 1,
                        swap ? J->hi[d] : J->lo[d]);      /* E + Z0 only if an axis follows */
        z = Z;
        inner = wp * cc;
        d--;
    }
    else
        memset(E, 0, (size_t)total * sizeof(T));
    for (; d >= 0; d--) {
        ptrdiff_t L = J->shape[d + 2], outer = total / (L * inner);
        ptrdiff_t lo = swap ? J->hi[d] : J->lo[d], hi = swap ? J->lo[d] : J->hi[d];
        if (lo + hi > 0) {
            if (!z) {
#pragma GCC ivdep
                for (ptrdiff_t i = 0; i < total; i++) Z[i] = E[i] + Z0[i];
                z = Z;
            }
            if (lo + hi + 1 <= LRN_CL_MAXN)
                F(ex_rows_direct)(E, z, L, inner, outer, lo, hi);
            else
                for (ptrdiff_t ob = 0; ob < outer; ob++)
                    for (ptrdiff_t c0 = 0; c0 < inner; c0 += LRN_BOX_COLS) {
                        ptrdiff_t mm = inner - c0 < LRN_BOX_COLS ? inner - c0 : LRN_BOX_COLS;
                        ptrdiff_t off = ob * L * inner + c0;
                        if (lo) F(box_rows_to)(E + off, z + off, inner, L, mm, lo, -1, 1, mem);
                        if (hi) F(box_rows_to)(E + off, z + off, inner, L, mm, -1, hi, 1, mem);
                    }
            z = NULL;                   /* E moved on */
        }
        inner *= L;
    }
}

/* The backward on the buffered planes P0 .. P3, the squares of x in P0 (gaps
 * zero): each pixel's own term out of both window sums, as across channels
 * (LRN_BWD_VALUE).  Q, the squares' sum without the centre (ex_all), into P1;
 * self of every pixel over Q, its r over the squares; R, r's mirrored sum without
 * the centre, into P2; dx = self - 2 beta x R. */
static void F(within_bwd)(const lrn_job *J, const T *x, const T *g, T *y, T *P0,
                          ptrdiff_t plane, ptrdiff_t cc, ptrdiff_t P, ptrdiff_t wp,
                          const F(gpow) *pw, T *mem)
{
    int planar = lrn_within_planar(J), pow_mode = J->pow_mode;
    T *P1 = P0 + plane, *P2 = P1 + plane, *P3 = P2 + plane;
    ptrdiff_t last = J->shape[J->ndim - 1], tot = P / last * wp * cc;
    T coef = (T)(2.0 * J->beta);
    const VT av = F(vsplat)((T)J->alpha_d), kv = F(vsplat)((T)J->k), cv = F(vsplat)(coef);
    const VT c1v = F(vsplat)((T)(1.0 - 2.0 * J->beta)), one = F(vsplat)(1);
    F(ex_all)(J, P1, P0, P2, cc, P, wp, 0, mem);
    /* runs of at least 8 values read in place, else gathered (runs of 3 channels,
     * 32x112x112x3 NHWC, as masked vectors: 1.8 times the time) */
    int unit = lrn_within_unit(J, planar) && (planar ? last : cc) >= 8;
    /* self over Q and r over the squares, on LEN values: x at XP, g at GP, buffer at B */
#define LRN_WITHIN_VALUE(MODE, XP, GP, B, LEN)                                     \
    for (ptrdiff_t i = 0; i < (LEN); i += VW) {                                    \
        ptrdiff_t rem = (LEN) - i;                                                 \
        VT self; VT r; VT xv = F(vldr)((XP) + i, rem);                             \
        LRN_BWD_VALUE(MODE, F(vldr)(P1 + (B) + i, rem), xv * xv, xv,               \
                      F(vldr)((GP) + i, rem), r, self);                            \
        F(vstr)(P1 + (B) + i, self, rem);                                          \
        F(vstr)(P0 + (B) + i, r, rem);                                             \
    }
    if (unit) {
#define LRN_WITHIN_VALUE_RUNS(MODE)                                                \
        LRN_FOR_RUNS(J, cc, planar, wp, { LRN_WITHIN_VALUE(MODE, x + ox, g + og, bi, len) });
        LRN_POW_SWITCH(LRN_WITHIN_VALUE_RUNS)
#undef LRN_WITHIN_VALUE_RUNS
    }
    else {
        /* x and g gathered into the buffer's layout first (x beside, g over the
         * squares), then the same vectors over the whole buffer */
        LRN_FOR_BLOCK(J, cc, planar, wp, { P2[bi] = x[ox]; P0[bi] = g[og]; });
#define LRN_WITHIN_VALUE_ALL(MODE) LRN_WITHIN_VALUE(MODE, P2, P0, 0, tot)
        LRN_POW_SWITCH(LRN_WITHIN_VALUE_ALL)
#undef LRN_WITHIN_VALUE_ALL
    }
#undef LRN_WITHIN_VALUE
    if (lrn_within_shifted(J))
        F(zero_gaps)(P0, planar ? P / last * cc : P / last, last, wp, planar ? 1 : cc);
    F(ex_all)(J, P2, P0, P3, cc, P, wp, 1, mem);
    if (unit)
        LRN_FOR_RUNS(J, cc, planar, wp, {
            for (ptrdiff_t i = 0; i < len; i += VW) {
                ptrdiff_t rem = len - i;
                VT dv = F(vldr)(P1 + bi + i, rem)
                        - cv * F(vldr)(x + ox + i, rem) * F(vldr)(P2 + bi + i, rem);
                F(vstr)(y + oy + i, dv, rem);
            }
        });
    else
        LRN_FOR_BLOCK(J, cc, planar, wp, { y[oy] = P1[bi] - coef * x[ox] * P2[bi]; });
}

/* ---- within, two spatial axes streamed line by line (lrn_within_stream) -------
 * A line is one position of the first spatial axis: W positions of the last axis
 * times the channels of the work item, laid out in a line buffer as W runs of u
 * values (planar, NCHW: one channel per pass, u = 1; interleaved, NHWC: the item's
 * cc channels, u = cc), so that neighbours along the last axis are u apart.
 * The squares of line j go into a zero-padded line buffer, and their horizontal
 * window sums (last_axis on that one line) into slot j of a ring of nh
 * rows; line i's vertical window adds the rows i - lo .. i + hi of the ring in
 * that order (clipped at the edges).  The backward takes each pixel's own term out
 * of both window sums, as across channels (LRN_BWD_VALUE): a line's horizontal sums
 * without the centre go into a ring of their own, and Q of line i adds the other
 * lines' rows, then line i's row without the centre.  It forms r and self of line i
 * as soon as its window is complete, puts r's mirrored horizontal sums (with and
 * without the centre) in two more rings and self in a fifth, and writes dx of line
 * i - lo once that line's mirrored vertical window is complete, its sum of r formed
 * like Q.  The rings stay in L1 or L2: x and g are
 * read from memory once and y written once, where the buffered planes read them
 * two and three times.  Every value is summed in the same order in both layouts:
 * NCHW and NHWC give the same bits. */

/* the rows lo .. hi of a ring of n rows of pitch Wv, clipped to [0, H), but row
 * ex (-1: none) */
static inline int F(ring_rows)(const T **rows, const T *ring, ptrdiff_t n, ptrdiff_t Wv,
                               ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t H, ptrdiff_t ex)
{
    int c = 0;
    ptrdiff_t j = lo < 0 ? 0 : lo, e = hi < H ? hi : H - 1, slot = j % n;
    for (; j <= e; j++) {          /* one division a call: slot = j mod n */
        if (j != ex) rows[c++] = ring + slot * Wv;
        if (++slot == n) slot = 0;
    }
    return c;
}

/* the sum of c ring rows at w, in row order; five rows (size 5, every line but
 * the two at each edge) unrolled: the short loop of c iterations inside every
 * vector's body ran 20-25% slower or faster with the alignment of the code */
static inline VT F(rows_sum)(const T *const *rows, int c, ptrdiff_t w)
{
    VT acc = F(vld)(rows[0] + w);
    if (c == 5) {
        acc += F(vld)(rows[1] + w);
        acc += F(vld)(rows[2] + w);
        acc += F(vld)(rows[3] + w);
        return acc + F(vld)(rows[4] + w);
    }
    for (int e = 1; e < c; e++) acc += F(vld)(rows[e] + w);
    return acc;
}

/* BODY for every vector of a line: buffer offset bo, element offsets ox, og, oy
 * into the arrays' lines, rem valid values (>= VW: a whole vector).  Runs may be
 * shorter than a vector: stores into a line buffer or ring row are partial too. */
#define LRN_STREAM_LINE(BODY)                                                      \
    for (ptrdiff_t r_ = 0; r_ < nrun; r_++)                                        \
        for (ptrdiff_t q_ = 0; q_ < len; q_ += VW) {                               \
            ptrdiff_t bo = r_ * len + q_, rem = len - q_;                          \
            ptrdiff_t ox = r_ * rx + q_, og = r_ * rg + q_, oy = r_ * ry + q_;     \
            (void)og; (void)oy; (void)ox;                                          \
            BODY                                                                   \
        }

__attribute__((always_inline))
static inline void F(stream_lines)(const lrn_job *J, const T *x, const T *g, T *y,
                                   ptrdiff_t cc, T *mem, const F(gpow) *pw, int mode)
{
    int planar = lrn_within_planar(J);
    ptrdiff_t H = J->shape[2], W = J->shape[3];
    ptrdiff_t u = lrn_stream_unit(J, cc), Wv = lrn_stream_pitch(J, cc);
    ptrdiff_t M = lrn_stream_margin(J, cc);
    ptrdiff_t nrun = planar ? 1 : W, len = planar ? W : cc;
    ptrdiff_t rx = planar ? 0 : J->xs[3], ry = planar ? 0 : J->ys[3];
    ptrdiff_t rg = planar || !J->backward ? 0 : J->gs[3];
    ptrdiff_t loh = J->lo[0], hih = J->hi[0], nh = loh + hih + 1;
    ptrdiff_t low = J->lo[1], hiw = J->hi[1], nw = low + hiw + 1;
    ptrdiff_t sx = J->xs[2], sy = J->ys[2], sg = J->backward ? J->gs[2] : 0;
    T a = (T)J->alpha_d, k = (T)J->k, coef = (T)(2.0 * J->beta);
    const VT av = F(vsplat)(a), kv = F(vsplat)(k), cv = F(vsplat)(coef);
    /* four padded line buffers (two of squares, two of r: a line is summed one
     * line after it was stored, once its stores have left the store buffer; loads
     * straddling stores still in flight stalled for most of the time), then the
     * rings */
    ptrdiff_t rp = Wv + M;
    T *sq = mem + M, *rr = sq + 2 * rp;
    T *hs = sq + 4 * rp;
    ptrdiff_t nt = loh + 2;                             /* rows of self held */
    T *hr = hs + nh * Wv, *tr = hr + nh * Wv;           /* backward */
    T *hx = tr + nt * Wv, *hrx = hx + nh * Wv;
    const VT c1v = F(vsplat)((T)(1.0 - 2.0 * J->beta)), one = F(vsplat)(1);
    const T *rows[LRN_CL_MAXN];
    ptrdiff_t end = H + 1 + hih + (J->backward ? 1 + loh : 0);
    for (ptrdiff_t j = 0; j < end; j++) {
        if (j < H) {                                    /* line j's squares */
            const T *xr = x + j * sx;
            T *row = sq + (j & 1) * rp;
            LRN_STREAM_LINE({ VT v = F(vldr)(xr + ox, rem); F(vstr)(row + bo, v * v, rem); })
        }
        ptrdiff_t jj = j - 1;                           /* line jj's horizontal sums */
        if (jj >= 0 && jj < H) {
            if (J->backward)
                F(last_axis_ex)(hs + jj % nh * Wv, hx + jj % nh * Wv, sq + (jj & 1) * rp,
                                1, W + nw - 1, u, nw, low);
            else
                F(last_axis)(hs + jj % nh * Wv, sq + (jj & 1) * rp, 1, W + nw - 1, u, nw, low);
        }
        ptrdiff_t i = jj - hih;                         /* line i's window is complete */
        if (i >= 0 && i < H) {
            const T *xr = x + i * sx;
            int c = F(ring_rows)(rows, hs, nh, Wv, i - loh, i + hih, H, J->backward ? i : -1);
            if (!J->backward) {
                T *yr = y + i * sy;
                LRN_STREAM_LINE({
                    VT sv = kv + av * F(rows_sum)(rows, c, bo);
                    F(vstr)(yr + oy, F(vldr)(xr + ox, rem) * VPOWM(sv, mode), rem);
                })
                continue;
            }
            rows[c++] = hx + i % nh * Wv;       /* Q: the other lines, this one's others */
            const T *gr = g + i * sg;
            T *tslot = tr + i % nt * Wv, *row = rr + (i & 1) * rp;
            LRN_STREAM_LINE({
                VT self; VT r; VT xv = F(vldr)(xr + ox, rem);   /* (macro argument: no commas) */
                LRN_BWD_VALUE(mode, F(rows_sum)(rows, c, bo), xv * xv, xv,
                              F(vldr)(gr + og, rem), r, self);
                /* whole vectors where the ring row has room (planar: always): the
                 * dx pass loads self as whole vectors loh + 1 lines later, and a load
                 * overlapping a masked store waits for it (with rows_sum's
                 * unrolling, 8x96x55x55 NCHW backward, 1 thread, beta 0.75:
                 * 4.8 -> 3.9 ms) */
                if (bo + (ptrdiff_t)VW <= Wv) F(vst)(tslot + bo, self);
                else F(vstr)(tslot + bo, self, rem);
                F(vstr)(row + bo, r, rem);
            })
        }
        if (!J->backward) continue;
        ptrdiff_t ii = i - 1;                           /* r's mirrored horizontal sums */
        if (ii >= 0 && ii < H) {        /* (the sums with the centre: the others' part plus it) */
            F(last_axis_ex)(hr + ii % nh * Wv, hrx + ii % nh * Wv, rr + (ii & 1) * rp,
                            1, W + nw - 1, u, nw, hiw);
        }
        ptrdiff_t d = ii - loh;                         /* line d's dx is complete */
        if (d >= 0 && d < H) {
            const T *xr = x + d * sx, *tslot = tr + d % nt * Wv;
            T *yr = y + d * sy;
            int c = F(ring_rows)(rows, hr, nh, Wv, d - hih, d + loh, H, d);
            rows[c++] = hrx + d % nh * Wv;      /* R: the other lines, this one's others */
            LRN_STREAM_LINE({
                VT dv = F(vld)(tslot + bo) - cv * F(vldr)(xr + ox, rem) * F(rows_sum)(rows, c, bo);
                F(vstr)(yr + oy, dv, rem);
            })
        }
    }
}
#undef LRN_STREAM_LINE

static void F(within_stream)(const lrn_job *J, const T *x, const T *g, T *y, ptrdiff_t cc,
                             T *mem)
{
    /* the padded line buffers' margins and tails stay zero: only [0, L) is written */
    ptrdiff_t M = lrn_stream_margin(J, cc);
    memset(mem, 0, (size_t)(M + 4 * (lrn_stream_pitch(J, cc) + M)) * sizeof(T));
    F(gpow) pw;                    /* the generic power's constants */
    F(gpow_init)(&pw, J->beta, J->beta_parity);
    int planar = lrn_within_planar(J);
    for (ptrdiff_t q = 0; q < (planar ? cc : 1); q++) {   /* planar: one channel a pass */
        const T *xq = x + q * J->xs[1], *gq = J->backward ? g + q * J->gs[1] : NULL;
        T *yq = y + q * J->ys[1];
        switch (J->pow_mode) {     /* the power mode a constant in each copy */
        case LRN_POW_075: F(stream_lines)(J, xq, gq, yq, cc, mem, &pw, LRN_POW_075); break;
        case LRN_POW_05: F(stream_lines)(J, xq, gq, yq, cc, mem, &pw, LRN_POW_05); break;
        case LRN_POW_1: F(stream_lines)(J, xq, gq, yq, cc, mem, &pw, LRN_POW_1); break;
        default: F(stream_lines)(J, xq, gq, yq, cc, mem, &pw, LRN_POW_GENERIC); break;
        }
    }
}

static void F(within_item)(const lrn_job *J, ptrdiff_t item, void *work)
{
    ptrdiff_t C = J->shape[1];
    ptrdiff_t b = item / J->ntiles, c0 = (item % J->ntiles) * J->tile;
    ptrdiff_t cc = C - c0 < J->tile ? C - c0 : J->tile;
    ptrdiff_t P = 1;
    for (int d = 2; d < J->ndim; d++) P *= J->shape[d];
    int nsp = J->ndim - 2, planar = lrn_within_planar(J), shifted = lrn_within_shifted(J);
    const T *x = (const T *)J->x + b * J->xs[0] + c0 * J->xs[1];
    const T *g = J->backward ? (const T *)J->g + b * J->gs[0] + c0 * J->gs[1] : NULL;
    T *y = (T *)J->y + b * J->ys[0] + c0 * J->ys[1];
    if (lrn_within_stream(J)) {
        F(within_stream)(J, x, g, y, cc, (T *)work);
        return;
    }
    T a = (T)J->alpha_d, k = (T)J->k;
    int pow_mode = J->pow_mode;
    F(gpow) pw_, *pw = &pw_;
    F(gpow_init)(pw, J->beta, J->beta_parity);
    /* planes of lrn_within_plane(J, tile) values; with `shifted`, every line of the
     * last axis is followed by n - 1 positions of zeros (and n - 1 stand in front),
     * so the last axis is one shifted sum over the whole plane */
    ptrdiff_t last = J->shape[J->ndim - 1];
    ptrdiff_t lo = J->lo[nsp - 1], hi = J->hi[nsp - 1], nl = lo + hi + 1;
    ptrdiff_t wp = shifted ? last + nl - 1 : last, unit = planar ? 1 : cc;
    ptrdiff_t nseg = planar ? P / last * cc : P / last;       /* lines of the last axis */
    ptrdiff_t plane = lrn_within_plane(J, J->tile), front = shifted ? (nl - 1) * unit : 0;
    T *P0 = (T *)work + front, *P1 = P0 + plane;
    T *mem = (T *)work + plane * (J->backward ? 4 : 2);
    ptrdiff_t tot = P / last * wp * cc;
    T *S = P0;
    LRN_FOR_BLOCK(J, cc, planar, wp, { P0[bi] = x[ox] * x[ox]; });
    if (shifted) F(zero_gaps)(P0, nseg, last, wp, unit);
    if (J->backward) {
        F(within_bwd)(J, x, g, y, P0, plane, cc, P, wp, pw, mem);
        return;
    }
    if (shifted) {
        F(last_axis)(P1, P0, nseg, wp, unit, nl, lo);
        S = P1;
    }
    F(box_all)(J, S, cc, shifted, wp, mem);
    if (lrn_within_unit(J, planar)) {
        /* contiguous runs: s = k + a S, its power and the product in one pass over
         * the buffer */
        const VT av = F(vsplat)(a), kv = F(vsplat)(k);
#define LRN_WITHIN_FWD(MODE)                                                       \
        LRN_FOR_RUNS(J, cc, planar, wp, {                                          \
            for (ptrdiff_t i = 0; i < len; i += VW) {                              \
                VT sv = kv + av * F(vldr)(S + bi + i, len - i);                    \
                F(vstr)(y + oy + i, F(vldr)(x + ox + i, len - i) * VPOWM(sv, MODE), len - i); \
            }                                                                      \
        });
        LRN_POW_SWITCH(LRN_WITHIN_FWD)
#undef LRN_WITHIN_FWD
        return;
    }
#pragma GCC ivdep
    for (ptrdiff_t i = 0; i < tot; i++) S[i] = k + a * S[i];
    F(pow_rows)(S, S, tot, pow_mode, pw);
    LRN_FOR_BLOCK(J, cc, planar, wp, { y[oy] = x[ox] * S[bi]; });
}

static void F(item)(const lrn_job *J, ptrdiff_t item, void *work)
{
    if (J->region == LRN_ACROSS)
        F(across_item)(J, item, work);
    else
        F(within_item)(J, item, work);
}
