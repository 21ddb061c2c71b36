/* Throughput of the power functions on AVX-512 vectors in cache: ns per vector of
 * 16 floats for the generic power (beta 0.6: lrn_simd.h's lrn_vpowf_fast, tables
 * and short polynomials, through the kernels' vpow_generic) and for beta 0.75
 * (lrn_vpow_f32: rsqrt14 and a Newton step), with a square as the floor of the loop
 * itself; best of 5 rounds.
 * The evidence for README's "7 ns per AVX-512 vector against 3.3" (2026-11-28:
 * generic 7.03, 0.75 3.28, square 0.63; 10.0-10.2 before the power's tables,
 * 2026-11-27).  x86-64 with AVX-512 only; not built by CI:
 *
 *   gcc -O3 -std=c99 -fno-math-errno -fno-trapping-math -ffp-contract=off -fopenmp \
 *       -Isrc_c src_c/test/bench_pow.c -lm -o /tmp/bench_pow && /tmp/bench_pow */
#define _POSIX_C_SOURCE 200112L
/* -DBENCH_POW_AVX2 or -DBENCH_POW_BASELINE: that target instead (ns per vector of
 * 8 or 4 floats; 2026-11-28, Zen 4: AVX2 generic 8.6-8.7 against 8.2-8.5 before the
 * tables, SSE2 9.4 against 8.6-8.9) */
#if defined(BENCH_POW_AVX2)
#pragma GCC target("avx2,fma")
#elif !defined(BENCH_POW_BASELINE)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#endif
#define LRN_ITEM_FN lrn_item_test
#include "lrn_target.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define N 4096
__attribute__((noinline)) void run_gen(float *t, const float *s, const gpow_f32 *pw){ for (int p=0;p<N;p+=(int)(sizeof(lrn_vf32)/4)){ lrn_vf32 v; memcpy(&v,s+p,sizeof(lrn_vf32)); v=vpow_generic_f32(v,pw); memcpy(t+p,&v,sizeof(lrn_vf32));} }
__attribute__((noinline)) void run_075(float *t, const float *s){ for (int p=0;p<N;p+=(int)(sizeof(lrn_vf32)/4)){ lrn_vf32 v; memcpy(&v,s+p,sizeof(lrn_vf32)); v=lrn_vpow_f32(v,LRN_POW_075); memcpy(t+p,&v,sizeof(lrn_vf32));} }
__attribute__((noinline)) void run_copy(float *t, const float *s){ for (int p=0;p<N;p+=(int)(sizeof(lrn_vf32)/4)){ lrn_vf32 v; memcpy(&v,s+p,sizeof(lrn_vf32)); v = v*v; memcpy(t+p,&v,sizeof(lrn_vf32));} }
int main(void){
  static float s[N] __attribute__((aligned(64))), t[N] __attribute__((aligned(64)));
  for(int i=0;i<N;i++) s[i]=1.0f+ (float)(rand()%1000)*1e-3f;
  gpow_f32 pw; gpow_init_f32(&pw, 0.6, 0);
  int R=20000; double best[3]={1e9,1e9,1e9};
  for(int rep=0;rep<5;rep++){
    double t0=now(); for(int r=0;r<R;r++){run_gen(t,s,&pw); __asm__ volatile(""::"r"(t):"memory");} double d=now()-t0; if(d<best[0])best[0]=d;
    t0=now(); for(int r=0;r<R;r++){run_075(t,s); __asm__ volatile(""::"r"(t):"memory");} d=now()-t0; if(d<best[1])best[1]=d;
    t0=now(); for(int r=0;r<R;r++){run_copy(t,s); __asm__ volatile(""::"r"(t):"memory");} d=now()-t0; if(d<best[2])best[2]=d;
  }
  double nv=(double)R*N/(sizeof(lrn_vf32)/4);
  printf("ns per vector: generic %.2f  0.75 %.2f  sq %.2f\n", best[0]/nv*1e9, best[1]/nv*1e9, best[2]/nv*1e9);
  return 0;
}
