#ifndef EMOBAKE_CKERNELS_H
#define EMOBAKE_CKERNELS_H

/* Our own AVX-512 matrix-product kernel for weights packed once at model load (used only by
 * Neural: PackedLinear). Compiled for x86-64 without AVX-512; the vector code is enabled per
 * function and runs only after ck_avx512_available() said yes. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Columns per packed panel: two 16-float AVX-512 vectors. */
#define CK_PANEL_COLUMNS 32
/* Rows the kernel multiplies per block (it copies them first), and depth per block. */
#define CK_BLOCK_ROWS 480
#define CK_BLOCK_DEPTH 512
/* Row stride of the rows' copy: one cache line more than a depth block, so that the rows of a
 * tile fall in different L1 sets. */
#define CK_ROW_STRIDE (CK_BLOCK_DEPTH + 16)

/* 1 when the CPU and the operating system support AVX-512 F, VL and DQ (and the kernel was compiled
 * in, i.e. on x86-64); 0 otherwise. */
int ck_avx512_available(void);

/* Floats in the packed form of an (n, k) weight matrix: ceil(n / 32) panels of k x 32. */
size_t ck_packed_count(int n, int k);

/* Packs `weight` (n, k), row-major as PyTorch stores a linear layer's weight, into panels:
 * packed[(p * k + i) * 32 + j] = weight[(p * 32 + j) * k + i], zero past column n - 1. */
void ck_pack_weight(const float *weight, int n, int k, float *packed);

/* The same layout from any operand: `rows` (n, k) with row stride ld_rows, each row one column
 * of the product (ck_pack_weight is this with ld_rows = k) ... */
void ck_pack_transposed(const float *rows, int ld_rows, int n, int k, float *packed);

/* ... or `matrix` (k, n) with row stride ld_matrix, as it multiplies: packed[(p * k + i) * 32 + j]
 * = matrix[i * ld_matrix + p * 32 + j], zero past column n - 1. */
void ck_pack_rows(const float *matrix, int ld_matrix, int k, int n, float *packed);

/* Memory for packed weights (64-byte aligned): from 2 MB up, mapped at a 2 MB boundary and
 * offered to the system for transparent huge pages (madvise), so that streaming the weights
 * takes one TLB entry per 2 MB instead of per 4 KB. NULL when out of memory. Free with
 * ck_free_weights(pointer, bytes). */
float *ck_alloc_weights(size_t bytes);
void ck_free_weights(float *pointer, size_t bytes);

/* What ck_gemm_packed applies to each finished element: nothing, or GELU (as ck_gelu). */
#define CK_ACTIVATION_NONE 0
#define CK_ACTIVATION_GELU 1

/* c[r][j] = act(sum_i a[r][i] * weight[j][i] (+ bias[j])) for rows 0..<m and the columns of
 * panels first_panel..<end_panel (clipped to n). Each element is one fused multiply-add chain
 * over i in increasing order from 0, then the bias added, then the activation: the result does
 * not depend on how rows or panels are shared out. a is (m, k) with row stride lda (rows may
 * overlap: lda < k reads a convolution's patches in place); c has row stride ldc; bias may be
 * NULL. Needs ck_avx512_available().
 * While a panel computes, the kernel asks for the next panel's weights (spread over the
 * panel's tiles, so that they stream from memory at an even pace); after the last panel it asks
 * for `following_panel`'s, the panel the caller expects to multiply next (-1: none). It changes
 * only what is fetched ahead, never a result. */
void ck_gemm_packed(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                    float *c, int ldc, int first_panel, int end_panel, int following_panel, int activation);

/* The same product with the rows copied beforehand, so that tasks sharing the rows' panels
 * out do not each copy them: ck_copy_rows lays out `rows` (at most CK_BLOCK_ROWS) rows of a
 * (row stride lda) in `copied` (ck_copied_rows_count(rows, k) floats) for depth blocks
 * first_block..<end_block of CK_BLOCK_DEPTH (the blocks may be copied by different threads);
 * ck_gemm_copied then computes what ck_gemm_packed computes for those rows, the same bits. */
size_t ck_copied_rows_count(int rows, int k);
/* The calling thread's buffer of at least `floats` floats (64-byte aligned, kept and grown
 * for the thread's life; its contents are not kept when it grows). */
float *ck_thread_buffer(size_t floats);
void ck_copy_rows(int rows, int k, const float *a, int lda, float *copied, int first_block, int end_block);
void ck_gemm_copied(int rows, int n, int k, const float *copied, const float *packed, const float *bias, float *c,
                    int ldc, int first_panel, int end_panel, int following_panel, int activation);

/* GELU in place on 16 lanes at a time, bit for bit the same as FastMath.gelu in Swift.
 * Needs ck_avx512_available(). */
void ck_gelu(float *data, size_t count);

/* The unnormalised softmax of each row of x (rows x width, row stride ld), in place: x = e^(x -
 * max of the row) with FastMath.exp's formula on 16 lanes, and inverse_sums[row] = 1 / (sum of
 * the row's new values, added in 16 lanes and then the lanes in a fixed order). Needs
 * ck_avx512_available() (AVX-512 F, VL and DQ). */
void ck_softmax_rows(float *x, int rows, int width, int ld, float *inverse_sums);
/* The same on `rows` rows of `width` values laid out as ck_copy_rows lays them out (as
 * ck_gemm_copied reads them), in place: the same bits as ck_softmax_rows on the same values. */
void ck_softmax_rows_copied(float *copied, int rows, int width, float *inverse_sums);

/* The same products on AMX tiles (Amx.c), for CPUs with AMX-BF16: each fp32 operand is split
 * into three bf16 parts and the six products that matter are summed in fp32, which is as
 * accurate as an fp32 multiply-add chain (see Amx.c) and about 1.4x faster per core here when
 * the core is not shared (see Amx.c for when it is). The operands are split first, each into
 * its own layout, then multiplied.
 * ck_amx_available: 1 when the CPU has AMX-BF16 and AVX-512, the OS saves the tile state and
 * gave this process the right to use it (asked once); 0 otherwise. */
int ck_amx_available(void);
/* bf16 values (uint16_t) in the split form of `rows` rows of depth k, and of an (n, k) weight. */
size_t ck_amx_rows_count(int rows, int k);
size_t ck_amx_weights_count(int n, int k);
/* Splits row groups first_group..<end_group (16 rows each) of a (rows, k), row stride lda (rows
 * may overlap), into `split` (ck_amx_rows_count values; rows past the last are zeros). */
void ck_amx_split_rows(int rows, int k, const float *a, int lda, unsigned short *split, int first_group, int end_group);
/* Splits panels first_panel..<end_panel of weights packed by ck_pack_weight (n, k) into `split`
 * (ck_amx_weights_count values). */
void ck_amx_split_weights(int n, int k, const float *packed, unsigned short *split, int first_panel, int end_panel);
/* c[r][j] = act(bias[j] + sum_i a[r][i] * weight[j][i]) for the rows of groups
 * first_group..<end_group and the columns of panels first_panel..<end_panel, from the split
 * operands; n must be a multiple of 32. Each element's sum is the same whatever the groups and
 * panels given (results do not depend on how the work is shared out). Needs ck_amx_available(). */
void ck_amx_gemm(int rows, int n, int k, const unsigned short *rows_split, const unsigned short *weights_split,
                 const float *bias, float *c, int ldc, int first_group, int end_group, int first_panel, int end_panel,
                 int activation);
/* The calling thread's buffer of at least `count` bf16 values for the split operands (64-byte
 * aligned, kept and grown for the thread's life; its contents are not kept when it grows). */
unsigned short *ck_amx_thread_buffer(size_t count);

/* The kernel threads' pool (Pool.c): runs body(context, w) for w in 0..<workers, worker 0 on
 * the calling thread, and returns when every call has returned. Idle workers spin for about
 * 0.3 ms before they sleep, so that steps that follow each other closely do not wait for a
 * thread to wake. One step at a time: a call made while the pool is busy (from inside a body,
 * or from another thread) runs body(context, 0) alone on the calling thread, so bodies must
 * share their work through a counter (worker 0 alone must be able to do all of it). */
typedef void (*ck_pool_body)(void *context, int worker);
void ck_pool_run(int workers, ck_pool_body body, void *context);

#ifdef __cplusplus
}
#endif

#endif
