/* Matrix product on AMX tiles at fp32 accuracy (see include/CKernels.h).
 *
 * AMX multiplies bf16 values (8 significant bits) and adds in fp32. Each fp32 operand x is split
 * into three bf16 parts, x = h + m + l up to about 2^-24 |x| (h = x rounded to bf16, m = the
 * rest rounded, l = what is left rounded), and a b is computed as the six products that matter,
 * h_a h_b + m_a h_b + l_a h_b + h_a m_b + m_a m_b + h_a l_b; the dropped ones are below 2^-24
 * of a b. Measured on a 1600 x 1536 x 512 product: largest error 1.6e-6 against a Double
 * reference, where an fp32 multiply-add chain had 2.7e-6; 190-214 GFLOPS per core counted as
 * fp32 operations, against 135-150 for the AVX-512 kernel.
 *
 * Layouts (bf16 as uint16_t; a tile is 16 rows of 64 bytes, 1 KB):
 * - rows: group g of 16 rows, k-step s of 32 values, part p at ((g * S + s) * 3 + p) * 512 with S
 *   = ceil(k / 32); row i's values j and j + 16 of the step (j < 16) at i * 32 + 2j and 2j + 1.
 *   Rows past the last and values past k are zero.
 * - weights: 16-column half h (panel p has halves 2p and 2p + 1), k-step s, part p at ((h * S +
 *   s) * 3 + p) * 512; within, column c's values j and j + 16 of the step at j * 32 + c * 2 and
 *   j * 32 + c * 2 + 1 (AMX multiplies pair j of a row by pair j of a column: any order of the
 *   step's values works if both operands use it, and this one packs with a shift and an or).
 *
 * The three parts of a step lie side by side, so that one step's operands are 3 KB in a row.
 *
 * Blocking: depth outer in blocks of CK_AMX_DEPTH_STEPS steps, then row groups, then panels: a
 * group's rows for one depth block (8 steps x 3 KB = 24 KB) stay in L1 while the share's panels
 * go by, and the share's weights for the block (up to 16 panels x 2 halves x 8 steps x 3 KB =
 * 768 KB) stay in L2 while the groups go by. Measured against 2-16 steps and 1-8 groups per
 * block: the best or within the noise, in both of this host's states (a quiet core: 1.37x the
 * AVX-512 kernel; a core whose sibling is busy: 0.84x, where the AVX-512 kernel loses a third
 * and AMX, bound by its tile loads, three fifths). A tile pair of 16 x 32 sums goes through c between
 * depth blocks (exact in fp32: blocking changes no result); each sum starts from the bias and
 * adds the six products per step in a fixed order, so
 * the result does not depend on how rows and panels are shared out. */

#include "CKernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef CK_AMX_DEPTH_STEPS
#define CK_AMX_DEPTH_STEPS 8
#endif
#ifndef CK_AMX_GROUPS
#define CK_AMX_GROUPS 1
#endif

size_t ck_amx_rows_count(int rows, int k) {
    if (rows <= 0 || k <= 0) return 0;
    return (size_t)((rows + 15) / 16) * (size_t)((k + 31) / 32) * 3 * 512;
}

size_t ck_amx_weights_count(int n, int k) {
    if (n <= 0 || k <= 0) return 0;
    return (size_t)((n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS) * 2 * (size_t)((k + 31) / 32) * 3 * 512;
}

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CK_AMX __attribute__((target("amx-tile,amx-bf16,avx512f")))
#define CK_AMX_INLINE static inline __attribute__((always_inline))

/* Linux: a process must ask before its threads may use the AMX tile data (arch_prctl). */
#define CK_ARCH_REQ_XCOMP_PERM 0x1023
#define CK_XFEATURE_XTILEDATA 18

static int ck_amx_check(void) {
    if (!ck_avx512_available()) return 0;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    /* AMX-BF16 (bit 22) and AMX-TILE (bit 24); the splits need only AVX-512 F. */
    if (!(edx & (1u << 22)) || !(edx & (1u << 24))) return 0;
    unsigned low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    (void)high;
    if ((low & (3u << 17)) != (3u << 17)) return 0; /* the OS saves the tile configuration and data */
#if defined(SYS_arch_prctl)
    if (syscall(SYS_arch_prctl, CK_ARCH_REQ_XCOMP_PERM, CK_XFEATURE_XTILEDATA) != 0) return 0;
    return 1;
#else
    return 0;
#endif
}

int ck_amx_available(void) {
    static int state = -1; /* the same answer from every thread; the check is idempotent */
    int known = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
    if (known >= 0) return known;
    known = ck_amx_check();
    __atomic_store_n(&state, known, __ATOMIC_RELEASE);
    return known;
}

/* 16 floats rounded to bf16 (to nearest even, on the bits, as a bf16 conversion does), each in
 * the high half of its 32-bit lane, the low half zero: still the float it stands for. */
CK_AMX_INLINE CK_AMX __m512i ck_bf16_high(__m512 x) {
    __m512i bits = _mm512_castps_si512(x);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), odd);
    return _mm512_and_si512(rounded, _mm512_set1_epi32((int)0xFFFF0000u));
}

/* The three bf16 parts of 16 floats (h, m, l as ck_bf16_high gives them). */
CK_AMX_INLINE CK_AMX void ck_split16(__m512 x, __m512i parts[3]) {
    for (int p = 0; p < 3; p++) {
        parts[p] = ck_bf16_high(x);
        x = _mm512_sub_ps(x, _mm512_castsi512_ps(parts[p]));
    }
}

/* 16 floats from `source` (count of them valid, the rest zero). */
CK_AMX_INLINE CK_AMX __m512 ck_load_part(const float *source, int count) {
    if (count >= 16) return _mm512_loadu_ps(source);
    if (count <= 0) return _mm512_setzero_ps();
    return _mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), source);
}

CK_AMX void ck_amx_split_rows(int rows, int k, const float *a, int lda, unsigned short *split, int first_group, int end_group) {
    int steps = (k + 31) / 32;
    for (int g = first_group; g < end_group; g++) {
        for (int i = 0; i < 16; i++) {
            int row = g * 16 + i;
            const float *source = a + (size_t)row * lda;
            for (int s = 0; s < steps; s++) {
                uint16_t *tile = split + ((size_t)g * steps + s) * 3 * 512 + i * 32;
                __m512i low[3], high[3];
                int valid = row < rows ? k - s * 32 : 0;
                ck_split16(ck_load_part(source + s * 32, valid), low);
                ck_split16(ck_load_part(source + s * 32 + 16, valid - 16), high);
                for (int p = 0; p < 3; p++) {
                    /* Lane j: value j in its low half, value j + 16 in its high half. */
                    __m512i pairs = _mm512_or_si512(_mm512_srli_epi32(low[p], 16), high[p]);
                    _mm512_storeu_si512((void *)(tile + p * 512), pairs);
                }
            }
        }
    }
}

CK_AMX void ck_amx_split_weights(int n, int k, const float *packed, unsigned short *split, int first_panel, int end_panel) {
    int steps = (k + 31) / 32;
    for (int panel = first_panel; panel < end_panel; panel++) {
        const float *source = packed + (size_t)panel * k * CK_PANEL_COLUMNS;
        for (int s = 0; s < steps; s++) {
            /* The panel's two halves, each 16 columns wide. */
            unsigned short *tiles[2] = {split + ((size_t)(2 * panel) * steps + s) * 3 * 512,
                                        split + ((size_t)(2 * panel + 1) * steps + s) * 3 * 512};
            for (int q = 0; q < 16; q++) {
                /* Pair q of the step: values q and q + 16, as the rows' lane q holds them. */
                int i = s * 32 + q;
                const float *even = source + (size_t)i * CK_PANEL_COLUMNS, *odd = even + 16 * CK_PANEL_COLUMNS;
                _mm_prefetch((const char *)(even + 32 * CK_PANEL_COLUMNS), _MM_HINT_T0);
                _mm_prefetch((const char *)(even + 32 * CK_PANEL_COLUMNS + 16), _MM_HINT_T0);
                for (int half = 0; half < 2; half++) {
                    __m512 low = i < k ? _mm512_loadu_ps(even + half * 16) : _mm512_setzero_ps();
                    __m512 high = i + 16 < k ? _mm512_loadu_ps(odd + half * 16) : _mm512_setzero_ps();
                    __m512i lowParts[3], highParts[3];
                    ck_split16(low, lowParts);
                    ck_split16(high, highParts);
                    for (int p = 0; p < 3; p++) {
                        /* Column c's pair: value i in the low 16 bits, value i + 16 in the high. */
                        __m512i pair = _mm512_or_si512(_mm512_srli_epi32(lowParts[p], 16), highParts[p]);
                        _mm512_storeu_si512((void *)(tiles[half] + p * 512 + q * 32), pair);
                    }
                }
            }
        }
    }
}

typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} __attribute__((packed)) ck_tile_configuration;

/* The six products of one step into accumulator tile C (a literal: tile numbers are part of the
 * instruction), rows' parts in tiles 2-4 (h, m, l), the half's weight parts at `b`; smallest
 * products first. */
#define CK_AMX_HALF_STEP(C, b)          \
    do {                                \
        _tile_loadd(5, (b), 64);        \
        _tile_dpbf16ps(C, 4, 5);        \
        _tile_dpbf16ps(C, 3, 5);        \
        _tile_dpbf16ps(C, 2, 5);        \
        _tile_loadd(6, (b) + 512, 64);  \
        _tile_dpbf16ps(C, 3, 6);        \
        _tile_dpbf16ps(C, 2, 6);        \
        _tile_loadd(7, (b) + 1024, 64); \
        _tile_dpbf16ps(C, 2, 7);        \
    } while (0)

/* Adds steps first..<end of one row group (its parts at rows_tiles) times one panel's halves
 * into the accumulator tiles 0 (columns 0-15) and 1 (16-31). */
CK_AMX_INLINE CK_AMX void ck_amx_steps(const uint16_t *rows_tiles, const uint16_t *half0, const uint16_t *half1, int first,
                                       int end) {
    for (int s = first; s < end; s++) {
        const uint16_t *a = rows_tiles + (size_t)s * 3 * 512;
        _tile_loadd(2, a, 64);
        _tile_loadd(3, a + 512, 64);
        _tile_loadd(4, a + 1024, 64);
        CK_AMX_HALF_STEP(0, half0 + (size_t)s * 3 * 512);
        CK_AMX_HALF_STEP(1, half1 + (size_t)s * 3 * 512);
    }
}

/* Each thread's sums for a last, partial row group (16 rows x the share's columns). */
static _Thread_local float *ck_amx_tail = NULL;
static _Thread_local size_t ck_amx_tail_capacity = 0;

CK_AMX void ck_amx_gemm(int rows, int n, int k, const unsigned short *rows_split, const unsigned short *weights_split, const float *bias,
                        float *c, int ldc, int first_group, int end_group, int first_panel, int end_panel, int activation) {
    int panels = (n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS, groups = (rows + 15) / 16;
    if (end_panel > panels) end_panel = panels;
    if (end_group > groups) end_group = groups;
    if (first_group >= end_group || first_panel >= end_panel || k <= 0) return;
    if (n % CK_PANEL_COLUMNS != 0) abort(); /* whole panels only (the caller checks) */
    int steps = (k + 31) / 32, share = (end_panel - first_panel) * CK_PANEL_COLUMNS;
    /* A last group with fewer than 16 rows keeps its sums in the thread's tail buffer. */
    int partial = end_group == groups && rows % 16 != 0;
    if (partial && (size_t)16 * share > ck_amx_tail_capacity) {
        free(ck_amx_tail);
        ck_amx_tail = aligned_alloc(64, sizeof(float) * 16 * (size_t)share);
        if (!ck_amx_tail) abort();
        ck_amx_tail_capacity = (size_t)16 * share;
    }
    static const float zeros[CK_PANEL_COLUMNS] = {0};
    ck_tile_configuration configuration;
    memset(&configuration, 0, sizeof configuration);
    configuration.palette = 1;
    for (int t = 0; t < 8; t++) {
        configuration.rows[t] = 16;
        configuration.bytes_per_row[t] = 64;
    }
    _tile_loadconfig(&configuration);
    for (int s0 = 0; s0 < steps; s0 += CK_AMX_DEPTH_STEPS) {
        int s1 = s0 + CK_AMX_DEPTH_STEPS < steps ? s0 + CK_AMX_DEPTH_STEPS : steps;
        for (int g0 = first_group; g0 < end_group; g0 += CK_AMX_GROUPS) {
            int g1 = g0 + CK_AMX_GROUPS < end_group ? g0 + CK_AMX_GROUPS : end_group;
            for (int p = first_panel; p < end_panel; p++) {
                const uint16_t *half0 = weights_split + (size_t)(2 * p) * steps * 3 * 512;
                const uint16_t *half1 = half0 + (size_t)steps * 3 * 512;
                for (int g = g0; g < g1; g++) {
                    float *sums;
                    size_t stride;
                    if (partial && g == groups - 1) {
                        sums = ck_amx_tail + (size_t)(p - first_panel) * CK_PANEL_COLUMNS;
                        stride = (size_t)share;
                    } else {
                        sums = c + (size_t)g * 16 * ldc + (size_t)p * CK_PANEL_COLUMNS;
                        stride = (size_t)ldc;
                    }
                    if (s0 == 0) {
                        /* Every row starts from the bias (a row stride of 0 repeats it). */
                        const float *start = bias ? bias + (size_t)p * CK_PANEL_COLUMNS : zeros;
                        _tile_loadd(0, start, 0);
                        _tile_loadd(1, start + 16, 0);
                    } else {
                        _tile_loadd(0, sums, stride * 4);
                        _tile_loadd(1, sums + 16, stride * 4);
                    }
                    ck_amx_steps(rows_split + (size_t)g * steps * 3 * 512, half0, half1, s0, s1);
                    _tile_stored(0, sums, stride * 4);
                    _tile_stored(1, sums + 16, stride * 4);
                    if (s1 == steps && activation == CK_ACTIVATION_GELU && !(partial && g == groups - 1)) {
                        for (int r = 0; r < 16; r++) ck_gelu(sums + (size_t)r * stride, CK_PANEL_COLUMNS);
                    }
                }
            }
        }
    }
    _tile_release();
    if (partial) {
        int g = groups - 1;
        for (int r = 0; r < rows - g * 16; r++) {
            float *target = c + (size_t)(g * 16 + r) * ldc + (size_t)first_panel * CK_PANEL_COLUMNS;
            memcpy(target, ck_amx_tail + (size_t)r * share, sizeof(float) * share);
            if (activation == CK_ACTIVATION_GELU) ck_gelu(target, (size_t)share);
        }
    }
}

#else

int ck_amx_available(void) { return 0; }

void ck_amx_split_rows(int rows, int k, const float *a, int lda, unsigned short *split, int first_group, int end_group) { abort(); }

void ck_amx_split_weights(int n, int k, const float *packed, unsigned short *split, int first_panel, int end_panel) { abort(); }

void ck_amx_gemm(int rows, int n, int k, const unsigned short *rows_split, const unsigned short *weights_split, const float *bias,
                 float *c, int ldc, int first_group, int end_group, int first_panel, int end_panel, int activation) {
    abort();
}

#endif

unsigned short *ck_amx_thread_buffer(size_t count) {
    static _Thread_local unsigned short *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (count > capacity) {
        free(buffer);
        buffer = aligned_alloc(64, (count * sizeof(unsigned short) + 63) / 64 * 64);
        if (!buffer) abort();
        capacity = count;
    }
    return buffer;
}
