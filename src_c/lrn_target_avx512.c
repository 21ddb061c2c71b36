/* AVX-512 (F, BW, VL, DQ) target (x86-64 only; an empty stub elsewhere). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#define LRN_ITEM_FN lrn_item_avx512
#include "lrn_target.h"
#else
#include "lrn.h"
void lrn_item_avx512(const lrn_job *job, ptrdiff_t item, void *work) { lrn_item_baseline(job, item, work); }
#endif
