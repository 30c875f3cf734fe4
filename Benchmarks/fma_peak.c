/* Peak fp32 multiply-add throughput of one core: 24 independent chains of AVX-512 fused
 * multiply-adds (16 lanes, 2 FLOP each), no memory traffic. Run one copy per core at the same
 * time to see what the cores give together (scripts/bench_fma_peak). */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f,fma"))) static float chains(long steps) {
    __m512 sums[24];
    for (int i = 0; i < 24; i++) sums[i] = _mm512_set1_ps(i * 0.001f);
    __m512 factor = _mm512_set1_ps(0.9999f), addend = _mm512_set1_ps(0.00001f);
    for (long step = 0; step < steps; step++) {
        for (int i = 0; i < 24; i++) sums[i] = _mm512_fmadd_ps(sums[i], factor, addend);
        __asm__ volatile("" : "+v"(factor));
    }
    __m512 total = sums[0];
    for (int i = 1; i < 24; i++) total = _mm512_add_ps(total, sums[i]);
    return _mm512_reduce_add_ps(total);
}

int main(void) {
    const long steps = 20000000;
    for (int round = 0; round < 5; round++) {
        double start = now();
        float result = chains(steps);
        double seconds = now() - start;
        printf("%.1f GFLOPS (checksum %.3f)\n", steps * 24.0 * 32 / seconds / 1e9, result);
    }
    return 0;
}
