/* Matrix product with pre-packed weights on AVX-512 (see include/CKernels.h).
 *
 * Blocking (per call, i.e. per task's share of rows and panels): rows in equal blocks of at
 * most CK_BLOCK_ROWS, the sum over k in blocks of CK_BLOCK_DEPTH. For each (row block, depth
 * block) the rows' values are copied into a buffer at a fixed row stride (CK_ROW_STRIDE, so
 * that the kernel addresses every row of a tile from one pointer), then each panel of the
 * share is multiplied with every tile of up to CK_TILE_ROWS rows: the panel's depth block
 * (512 x 32 floats = 64 KB) stays in L1/L2 while the tiles go by, and each tile asks for its
 * share of the next panel's block meanwhile (the weights come from memory on every call;
 * asking evenly over the panel's time streamed them 1.3-1.5x faster than a burst from the
 * first tile). A tile keeps its rows x 32 sums in registers (up to 24 of the 32 vector
 * registers) over the depth block;
 * between depth blocks they go through c, which holds them exactly, so blocking does not
 * change any result. Depth blocks of 256 (the panel block in L1) measured 3-5% slower on 1499
 * rows and the same on 49. */

#include "CKernels.h"

/* Packed operands need no particular alignment (unaligned loads cost nothing extra on aligned
 * data): weights are 64-byte aligned by PackedLinear, run-time operands may not be. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CK_HUGE_PAGE ((size_t)2 << 20)

/* Whole 4 KB pages: the last, partial 2 MB of the region keeps small pages (no memory is held
 * beyond the weights). */
static size_t ck_weight_pages(size_t bytes) { return (bytes + 4095) / 4096 * 4096; }

float *ck_alloc_weights(size_t bytes) {
    if (bytes < CK_HUGE_PAGE) return aligned_alloc(64, (bytes + 63) / 64 * 64);
    size_t length = ck_weight_pages(bytes);
    void *pointer = mmap(NULL, length + CK_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pointer == MAP_FAILED) return NULL;
    uintptr_t start = ((uintptr_t)pointer + CK_HUGE_PAGE - 1) / CK_HUGE_PAGE * CK_HUGE_PAGE;
    uintptr_t end = (uintptr_t)pointer + length + CK_HUGE_PAGE;
    if (start > (uintptr_t)pointer) munmap(pointer, start - (uintptr_t)pointer);
    if (end > start + length) munmap((void *)(start + length), end - (start + length));
#ifdef MADV_HUGEPAGE
    madvise((void *)start, length, MADV_HUGEPAGE);
#endif
    return (float *)start;
}

void ck_free_weights(float *pointer, size_t bytes) {
    if (!pointer) return;
    if (bytes < CK_HUGE_PAGE) free(pointer);
    else munmap(pointer, ck_weight_pages(bytes));
}

size_t ck_packed_count(int n, int k) {
    size_t panels = ((size_t)n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS;
    return panels * (size_t)k * CK_PANEL_COLUMNS;
}

void ck_pack_transposed(const float *rows, int ld_rows, int n, int k, float *packed) {
    int panels = (n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS;
    for (int p = 0; p < panels; p++) {
        float *panel = packed + (size_t)p * k * CK_PANEL_COLUMNS;
        for (int j = 0; j < CK_PANEL_COLUMNS; j++) {
            int column = p * CK_PANEL_COLUMNS + j;
            if (column < n) {
                const float *row = rows + (size_t)column * ld_rows;
                for (int i = 0; i < k; i++) panel[(size_t)i * CK_PANEL_COLUMNS + j] = row[i];
            } else {
                for (int i = 0; i < k; i++) panel[(size_t)i * CK_PANEL_COLUMNS + j] = 0;
            }
        }
    }
}

void ck_pack_weight(const float *weight, int n, int k, float *packed) { ck_pack_transposed(weight, k, n, k, packed); }

void ck_pack_rows(const float *matrix, int ld_matrix, int k, int n, float *packed) {
    int panels = (n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS;
    for (int p = 0; p < panels; p++) {
        int column = p * CK_PANEL_COLUMNS;
        int columns = n - column < CK_PANEL_COLUMNS ? n - column : CK_PANEL_COLUMNS;
        float *panel = packed + (size_t)p * k * CK_PANEL_COLUMNS;
        for (int i = 0; i < k; i++) {
            float *target = panel + (size_t)i * CK_PANEL_COLUMNS;
            memcpy(target, matrix + (size_t)i * ld_matrix + column, sizeof(float) * columns);
            if (columns < CK_PANEL_COLUMNS) memset(target + columns, 0, sizeof(float) * (CK_PANEL_COLUMNS - columns));
        }
    }
}

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

int ck_avx512_available(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & (1u << 27))) return 0; /* OSXSAVE: xgetbv usable */
    unsigned low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    (void)high;
    /* The OS saves SSE, AVX and the three AVX-512 states (opmask, upper halves, upper registers). */
    if ((low & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 16)) && (ebx & (1u << 17)) && (ebx & (1u << 31)) ? 1 : 0; /* AVX-512 F, DQ and VL */
}

#define CK_TILE_ROWS 12

#define CK_VECTOR __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define CK_INLINE static inline __attribute__((always_inline))

/* GELU on 16 lanes, the same operations in the same order as FastMath.gelu/erf/exp in Swift
 * (each product and sum rounded where Swift rounds it, fused multiply-adds only where Swift's
 * exp uses addingProduct), so the results are the same bit for bit (checked in the tests):
 * x * (1 + erf(x / sqrt 2)) / 2, erf by Abramowitz & Stegun 7.1.26, e^x by a Cody-Waite
 * split and a degree-7 Taylor polynomial. */
CK_INLINE CK_VECTOR __m512 ck_exp16(__m512 x) {
    __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504f)), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_sub_ps(clamped, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f)));
    r = _mm512_add_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(2.1219444e-4f)));
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i integer = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(integer, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(p, scale);
}

CK_INLINE CK_VECTOR __m512 ck_gelu16(__m512 x) {
    __m512 u = _mm512_mul_ps(x, _mm512_set1_ps(0.7071067811865476f));
    __m512 magnitude = _mm512_min_ps(_mm512_abs_ps(u), _mm512_set1_ps(10.0f));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(_mm512_set1_ps(0.3275911f), magnitude)));
    __m512 poly = _mm512_set1_ps(1.061405429f);
    poly = _mm512_sub_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(1.453152027f));
    poly = _mm512_add_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(1.421413741f));
    poly = _mm512_sub_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(0.284496736f));
    poly = _mm512_add_ps(_mm512_mul_ps(poly, t), _mm512_set1_ps(0.254829592f));
    poly = _mm512_mul_ps(poly, t);
    __m512 negative = _mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), magnitude), magnitude);
    __m512 value = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(poly, ck_exp16(negative)));
    __mmask16 below = _mm512_cmp_ps_mask(u, _mm512_setzero_ps(), _CMP_LT_OQ);
    value = _mm512_mask_sub_ps(value, below, _mm512_setzero_ps(), value);
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), value));
}

CK_VECTOR void ck_gelu(float *data, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(data + i, ck_gelu16(_mm512_loadu_ps(data + i)));
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(data + i, mask, ck_gelu16(_mm512_maskz_loadu_ps(mask, data + i)));
    }
}

/* Where value i of row `row` is in ck_copy_rows's layout of `rows` rows (16 consecutive values
 * from a multiple of 16 stay in one depth block). */
static inline float *ck_copied_address(float *copied, int rows, int row, int i) {
    return copied + ((size_t)(i / CK_BLOCK_DEPTH) * rows + row) * CK_ROW_STRIDE + i % CK_BLOCK_DEPTH;
}

/* The softmax of ck_softmax_rows on row `row`, whose values are at x + row * ld, or with x NULL
 * in `copied`'s layout of `rows` rows. */
static CK_VECTOR void ck_softmax_row(float *x, int ld, float *copied, int rows, int row, int width, float *inverse_sums) {
    float *data = x ? x + (size_t)row * ld : NULL;
#define CK_AT(i) (data ? data + (i) : ck_copied_address(copied, rows, row, (i)))
    int full = width / 16 * 16;
    __mmask16 tail = (__mmask16)((1u << (width - full)) - 1);
    __m512 largest = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < full; i += 16) largest = _mm512_max_ps(largest, _mm512_loadu_ps(CK_AT(i)));
    if (tail) largest = _mm512_mask_max_ps(largest, tail, largest, _mm512_maskz_loadu_ps(tail, CK_AT(full)));
    __m512 maximum = _mm512_set1_ps(_mm512_reduce_max_ps(largest));
    __m512 sum = _mm512_setzero_ps();
    for (int i = 0; i < full; i += 16) {
        float *at = CK_AT(i);
        __m512 value = ck_exp16(_mm512_sub_ps(_mm512_loadu_ps(at), maximum));
        _mm512_storeu_ps(at, value);
        sum = _mm512_add_ps(sum, value);
    }
    if (tail) {
        float *at = CK_AT(full);
        __m512 value = ck_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, at), maximum));
        _mm512_mask_storeu_ps(at, tail, value);
        sum = _mm512_mask_add_ps(sum, tail, sum, value);
    }
#undef CK_AT
    /* The 16 lanes summed in a fixed order (halves, then quarters, ...). */
    __m256 eight = _mm256_add_ps(_mm512_castps512_ps256(sum), _mm512_extractf32x8_ps(sum, 1));
    __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
    __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    __m128 one = _mm_add_ss(two, _mm_shuffle_ps(two, two, 1));
    inverse_sums[row] = 1.0f / _mm_cvtss_f32(one);
}

CK_VECTOR void ck_softmax_rows(float *x, int rows, int width, int ld, float *inverse_sums) {
    for (int row = 0; row < rows; row++) ck_softmax_row(x, ld, NULL, rows, row, width, inverse_sums);
}

CK_VECTOR void ck_softmax_rows_copied(float *copied, int rows, int width, float *inverse_sums) {
    for (int row = 0; row < rows; row++) ck_softmax_row(NULL, 0, copied, rows, row, width, inverse_sums);
}

/* One tile: rows x (16 * vectors) sums over `depth` values of i. `tile` holds the rows at a
 * stride of CK_BLOCK_DEPTH floats (so each row's address is an immediate offset from one
 * pointer), `panel` is [i][32]. first: start the sums from 0 (else from c); last: add the bias
 * (and with `gelu`, apply GELU to the finished sums before they are stored).
 * prefetch (when `fetch`): `fetch_lines` cache lines from `next` (this tile's share of the block
 * computed next), asked into L2 one every depth / fetch_lines values of i (at most 2 per i:
 * lines past 2 * depth are left to the hardware). */
CK_INLINE CK_VECTOR void ck_tile(const int rows, const int vectors, const int fetch, const int gelu, int depth, const float *restrict tile,
                                 const float *restrict panel, const float *next, int fetch_lines, float *c, int ldc, int first, int last,
                                 const float *bias, __mmask16 mask0, __mmask16 mask1) {
    __m512 sum0[CK_TILE_ROWS], sum1[CK_TILE_ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        if (first) {
            sum0[r] = _mm512_setzero_ps();
            sum1[r] = _mm512_setzero_ps();
        } else {
            sum0[r] = _mm512_maskz_loadu_ps(mask0, c + (size_t)r * ldc);
            sum1[r] = vectors == 2 ? _mm512_maskz_loadu_ps(mask1, c + (size_t)r * ldc + 16) : _mm512_setzero_ps();
        }
    }
    /* One cache line of `next` every `step` values of i, fetch_lines of them spread over the tile. */
    int step = fetch && fetch_lines > 0 ? (depth / fetch_lines > 0 ? depth / fetch_lines : 1) : 0;
    int due = 0, fetched = 0;
    for (int i = 0; i < depth; i++) {
        __m512 b0 = _mm512_loadu_ps(panel + (size_t)i * CK_PANEL_COLUMNS);
        __m512 b1 = vectors == 2 ? _mm512_loadu_ps(panel + (size_t)i * CK_PANEL_COLUMNS + 16) : b0;
        if (fetch && i == due && fetched < fetch_lines) {
            _mm_prefetch((const char *)(next + (size_t)fetched * 16), _MM_HINT_T1);
            fetched++;
            due += step;
            if (step == 1 && fetched < fetch_lines && depth < fetch_lines) {
                _mm_prefetch((const char *)(next + (size_t)fetched * 16), _MM_HINT_T1);
                fetched++;
            }
        }
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            __m512 a = _mm512_set1_ps(tile[r * CK_ROW_STRIDE + i]);
            sum0[r] = _mm512_fmadd_ps(a, b0, sum0[r]);
            if (vectors == 2) sum1[r] = _mm512_fmadd_ps(a, b1, sum1[r]);
        }
    }
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    if (last && bias) {
        bias0 = _mm512_maskz_loadu_ps(mask0, bias);
        if (vectors == 2) bias1 = _mm512_maskz_loadu_ps(mask1, bias + 16);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        __m512 v0 = sum0[r], v1 = sum1[r];
        if (last && bias) {
            v0 = _mm512_add_ps(v0, bias0);
            if (vectors == 2) v1 = _mm512_add_ps(v1, bias1);
        }
        if (gelu && last) {
            v0 = ck_gelu16(v0);
            if (vectors == 2) v1 = ck_gelu16(v1);
        }
        _mm512_mask_storeu_ps(c + (size_t)r * ldc, mask0, v0);
        if (vectors == 2) _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, mask1, v1);
    }
}

#define CK_TILE_CASE(R)                                                                                      \
    case R:                                                                                                  \
        if (vectors == 2 && next)                                                                            \
            ck_tile(R, 2, 1, GELU, depth, tile, panel, next, fetch_lines, c, ldc, first, last, bias, mask0, mask1); \
        else if (vectors == 2)                                                                               \
            ck_tile(R, 2, 0, GELU, depth, tile, panel, next, fetch_lines, c, ldc, first, last, bias, mask0, mask1); \
        else                                                                                                 \
            ck_tile(R, 1, 0, GELU, depth, tile, panel, next, fetch_lines, c, ldc, first, last, bias, mask0, mask1); \
        break;

#define CK_TILE_ANY(NAME)                                                                                    \
    static CK_VECTOR void NAME(int rows, int vectors, int depth, const float *restrict tile,                 \
                               const float *restrict panel, const float *next, int fetch_lines, float *c, int ldc, int first, \
                               int last, const float *bias, __mmask16 mask0, __mmask16 mask1) {              \
        switch (rows) {                                                                                      \
            CK_TILE_CASE(1) CK_TILE_CASE(2) CK_TILE_CASE(3) CK_TILE_CASE(4) CK_TILE_CASE(5) CK_TILE_CASE(6)  \
            CK_TILE_CASE(7) CK_TILE_CASE(8) CK_TILE_CASE(9) CK_TILE_CASE(10) CK_TILE_CASE(11) CK_TILE_CASE(12) \
            default: break;                                                                                  \
        }                                                                                                    \
    }

#define GELU 0
CK_TILE_ANY(ck_tile_any)
#undef GELU
#define GELU 1
CK_TILE_ANY(ck_tile_any_gelu)
#undef GELU

/* Each thread's copy of the rows being multiplied (CK_BLOCK_ROWS x CK_BLOCK_DEPTH floats),
 * allocated on first use and kept for the thread's life. */
static _Thread_local float *ck_tiles = NULL;

/* Splits `count` rows into `parts` runs as equal as possible (49 rows in 5: 10, 10, 10, 10,
 * 9), so that no tile is left with a row or two. */
static void ck_split(int count, int parts, int *starts) {
    int base = count / parts, extra = count % parts, start = 0;
    for (int t = 0; t < parts; t++) {
        starts[t] = start;
        start += base + (t < extra ? 1 : 0);
    }
    starts[parts] = start;
}

typedef void (*ck_tile_function)(int, int, int, const float *restrict, const float *restrict, const float *, int, float *, int,
                                 int, int, const float *, __mmask16, __mmask16);

/* Writes bias (or 0), then the activation, to the columns of the panels: the product of k = 0. */
static CK_VECTOR void ck_fill_bias(int m, int n, const float *bias, float *c, int ldc, int first_panel, int end_panel,
                                   int activation) {
    for (int r = 0; r < m; r++) {
        int start = first_panel * CK_PANEL_COLUMNS;
        int end = n < end_panel * CK_PANEL_COLUMNS ? n : end_panel * CK_PANEL_COLUMNS;
        for (int j = start; j < end; j++) c[(size_t)r * ldc + j] = bias ? 0.0f + bias[j] : 0.0f;
        if (activation == CK_ACTIVATION_GELU) ck_gelu(c + (size_t)r * ldc + start, (size_t)(end - start));
    }
}

/* Rows in the first of the equal row blocks of what is left (`remaining` rows). */
static int ck_block_rows(int remaining) {
    int count = (remaining + CK_BLOCK_ROWS - 1) / CK_BLOCK_ROWS;
    return (remaining + count - 1) / count;
}

/* One (row block, depth block): `rows` (at most CK_BLOCK_ROWS) rows already copied at
 * `copied` (row r's values i0..<i0+depth at copied + r * CK_ROW_STRIDE), times the panels'
 * depth block, into c (the block's first row). */
static CK_VECTOR void ck_multiply_block(int rows, int n, int k, int i0, int depth, const float *copied, const float *packed,
                                        const float *bias, float *c, int ldc, int first_panel, int end_panel,
                                        const float *after, int after_depth, ck_tile_function tile_function) {
    int first = i0 == 0, last = i0 + depth == k;
    int tiles = (rows + CK_TILE_ROWS - 1) / CK_TILE_ROWS;
    int starts[CK_BLOCK_ROWS / CK_TILE_ROWS + 2];
    ck_split(rows, tiles, starts);
    for (int p = first_panel; p < end_panel; p++) {
        int column = p * CK_PANEL_COLUMNS;
        int columns = n - column < CK_PANEL_COLUMNS ? n - column : CK_PANEL_COLUMNS;
        int vectors = columns > 16 ? 2 : 1;
        __mmask16 mask0 = (__mmask16)(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
        __mmask16 mask1 = (__mmask16)(columns >= 32 ? 0xFFFF : columns > 16 ? (1u << (columns - 16)) - 1 : 0);
        const float *panel = packed + ((size_t)p * k + i0) * CK_PANEL_COLUMNS;
        /* The block computed after this one: the next panel's, or past the last panel `after`
         * (the first panel's next depth block, or the caller's following panel). */
        const float *next = p + 1 < end_panel ? panel + (size_t)k * CK_PANEL_COLUMNS : after;
        int next_depth = p + 1 < end_panel ? depth : after_depth;
        for (int t = 0; t < tiles; t++) {
            /* Past the first depth block every tile starts by reading its sums back from c,
             * which a large product has pushed out of the caches meanwhile: ask for the
             * next tile's (or the next panel's first tile's) while this one computes. */
            if (!first) {
                int nextTile = t + 1 < tiles ? t + 1 : 0;
                int nextColumn = t + 1 < tiles ? column : column + CK_PANEL_COLUMNS;
                if (nextColumn < n && (t + 1 < tiles || p + 1 < end_panel)) {
                    const float *target = c + (size_t)starts[nextTile] * ldc + nextColumn;
                    for (int r = 0; r < starts[nextTile + 1] - starts[nextTile]; r++) {
                        _mm_prefetch((const char *)(target + (size_t)r * ldc), _MM_HINT_T0);
                        _mm_prefetch((const char *)(target + (size_t)r * ldc + 16), _MM_HINT_T0);
                    }
                }
            }
            /* Every tile asks for its share of the next panel's block (2 lines per value of i), so
             * that the weights stream from memory at an even pace while the panel computes. */
            int lines = 2 * next_depth, share_start = lines * t / tiles, share_end = lines * (t + 1) / tiles;
            tile_function(starts[t + 1] - starts[t], vectors, depth, copied + (size_t)starts[t] * CK_ROW_STRIDE, panel,
                          next ? next + (size_t)share_start * 16 : NULL, share_end - share_start, c + (size_t)starts[t] * ldc + column,
                          ldc, first, last, bias ? bias + column : NULL, mask0, mask1);
        }
    }
}

/* What to ask for after the last panel of depth block i0: the first panel's next depth block,
 * or after the last depth block the following panel's first block (none when it is -1). */
static const float *ck_after(int n, int k, int i0, const float *packed, int first_panel, int following_panel, int *after_depth) {
    int panels = (n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS;
    if (i0 + CK_BLOCK_DEPTH < k) {
        int next_i0 = i0 + CK_BLOCK_DEPTH;
        *after_depth = k - next_i0 < CK_BLOCK_DEPTH ? k - next_i0 : CK_BLOCK_DEPTH;
        return packed + ((size_t)first_panel * k + next_i0) * CK_PANEL_COLUMNS;
    }
    if (following_panel < 0 || following_panel >= panels) {
        *after_depth = 0;
        return NULL;
    }
    *after_depth = k < CK_BLOCK_DEPTH ? k : CK_BLOCK_DEPTH;
    return packed + (size_t)following_panel * k * CK_PANEL_COLUMNS;
}

CK_VECTOR void ck_gemm_packed(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                              float *c, int ldc, int first_panel, int end_panel, int following_panel, int activation) {
    int panels = (n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS;
    if (end_panel > panels) end_panel = panels;
    if (m <= 0 || n <= 0 || first_panel >= end_panel) return;
    if (k <= 0) {
        ck_fill_bias(m, n, bias, c, ldc, first_panel, end_panel, activation);
        return;
    }
    ck_tile_function tile_function = activation == CK_ACTIVATION_GELU ? ck_tile_any_gelu : ck_tile_any;
    if (!ck_tiles) {
        ck_tiles = aligned_alloc(64, sizeof(float) * CK_BLOCK_ROWS * CK_ROW_STRIDE);
        if (!ck_tiles) abort();
    }
    for (int row0 = 0; row0 < m;) {
        int rows = ck_block_rows(m - row0);
        for (int i0 = 0; i0 < k; i0 += CK_BLOCK_DEPTH) {
            int depth = k - i0 < CK_BLOCK_DEPTH ? k - i0 : CK_BLOCK_DEPTH;
            for (int r = 0; r < rows; r++)
                memcpy(ck_tiles + (size_t)r * CK_ROW_STRIDE, a + (size_t)(row0 + r) * lda + i0, sizeof(float) * depth);
            int after_depth;
            const float *after = ck_after(n, k, i0, packed, first_panel, row0 + rows < m ? first_panel : following_panel, &after_depth);
            ck_multiply_block(rows, n, k, i0, depth, ck_tiles, packed, bias, c + (size_t)row0 * ldc, ldc, first_panel, end_panel,
                              after, after_depth, tile_function);
        }
        row0 += rows;
    }
}

float *ck_thread_buffer(size_t floats) {
    static _Thread_local float *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (floats > capacity) {
        free(buffer);
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        buffer = aligned_alloc(64, bytes);
        if (!buffer) abort();
        capacity = floats;
    }
    return buffer;
}

size_t ck_copied_rows_count(int rows, int k) {
    int blocks = (k + CK_BLOCK_DEPTH - 1) / CK_BLOCK_DEPTH;
    return (size_t)(rows > 0 ? rows : 0) * (size_t)(blocks > 0 ? blocks : 0) * CK_ROW_STRIDE;
}

void ck_copy_rows(int rows, int k, const float *a, int lda, float *copied, int first_block, int end_block) {
    for (int block = first_block; block < end_block; block++) {
        int i0 = block * CK_BLOCK_DEPTH;
        if (i0 >= k) break;
        int depth = k - i0 < CK_BLOCK_DEPTH ? k - i0 : CK_BLOCK_DEPTH;
        float *target = copied + (size_t)block * rows * CK_ROW_STRIDE;
        for (int r = 0; r < rows; r++) memcpy(target + (size_t)r * CK_ROW_STRIDE, a + (size_t)r * lda + i0, sizeof(float) * depth);
    }
}

CK_VECTOR void ck_gemm_copied(int rows, int n, int k, const float *copied, const float *packed, const float *bias, float *c,
                              int ldc, int first_panel, int end_panel, int following_panel, int activation) {
    int panels = (n + CK_PANEL_COLUMNS - 1) / CK_PANEL_COLUMNS;
    if (end_panel > panels) end_panel = panels;
    if (rows <= 0 || n <= 0 || first_panel >= end_panel) return;
    if (rows > CK_BLOCK_ROWS) abort();
    if (k <= 0) {
        ck_fill_bias(rows, n, bias, c, ldc, first_panel, end_panel, activation);
        return;
    }
    ck_tile_function tile_function = activation == CK_ACTIVATION_GELU ? ck_tile_any_gelu : ck_tile_any;
    for (int i0 = 0, block = 0; i0 < k; i0 += CK_BLOCK_DEPTH, block++) {
        int depth = k - i0 < CK_BLOCK_DEPTH ? k - i0 : CK_BLOCK_DEPTH;
        int after_depth;
        const float *after = ck_after(n, k, i0, packed, first_panel, following_panel, &after_depth);
        ck_multiply_block(rows, n, k, i0, depth, copied + (size_t)block * rows * CK_ROW_STRIDE, packed, bias, c, ldc, first_panel,
                          end_panel, after, after_depth, tile_function);
    }
}

#else

int ck_avx512_available(void) { return 0; }

void ck_gemm_packed(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                    float *c, int ldc, int first_panel, int end_panel, int following_panel, int activation) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)c; (void)ldc;
    (void)first_panel; (void)end_panel; (void)following_panel; (void)activation;
    abort();
}

void ck_gelu(float *data, size_t count) {
    (void)data; (void)count;
    abort();
}

void ck_softmax_rows(float *x, int rows, int width, int ld, float *inverse_sums) {
    (void)x; (void)rows; (void)width; (void)ld; (void)inverse_sums;
    abort();
}

void ck_softmax_rows_copied(float *copied, int rows, int width, float *inverse_sums) {
    (void)copied; (void)rows; (void)width; (void)inverse_sums;
    abort();
}

size_t ck_copied_rows_count(int rows, int k) {
    (void)rows; (void)k;
    return 0;
}

float *ck_thread_buffer(size_t floats) {
    (void)floats;
    abort();
}

void ck_copy_rows(int rows, int k, const float *a, int lda, float *copied, int first_block, int end_block) {
    (void)rows; (void)k; (void)a; (void)lda; (void)copied; (void)first_block; (void)end_block;
    abort();
}

void ck_gemm_copied(int rows, int n, int k, const float *copied, const float *packed, const float *bias, float *c,
                    int ldc, int first_panel, int end_panel, int following_panel, int activation) {
    (void)rows; (void)n; (void)k; (void)copied; (void)packed; (void)bias; (void)c; (void)ldc; (void)first_panel;
    (void)end_panel; (void)following_panel; (void)activation;
    abort();
}

#endif
