/* Attn-QAT's trainable FP4 attention (docs/attn_qat.md): the C interface of libfastwan_attn_qat.so, what the
 * PyTorch package in python/ loads with ctypes. Plain C so that no PyTorch headers (and no matching compiler
 * ABI) are needed to build it.
 *
 * Tensors are contiguous [batch, heads, tokens, head_dim] (PyTorch's scaled_dot_product_attention layout);
 * q, o, o_prime, d_o and dq have seq_q tokens, k, v, dk and dv seq_k; lse and row_max are float [batch,
 * heads, seq_q]. The CUDA entries take device pointers and enqueue on `stream` (a cudaStream_t; NULL is the
 * legacy default stream), bf16 tensors; the reference entries take host float tensors and run the
 * double-precision CPU reference (quant/attn_qat.h) synchronously. Every entry returns 0, or non-zero with a
 * one-line message in fastwan_attn_qat_last_error() (per thread).
 *
 * The passes, as the autograd op runs them:
 *   forward:  quantize(q, k, v) -> q^, k^, v^;  forward(q^, k^, v^) -> o, o', lse, row_max
 *   backward: backward(q^, k^, v^, o or o' (d_from), lse, row_max, d_o) -> dq, dk, dv (straight-through φ:
 *             the gradients with respect to q^, k^, v^ are those with respect to q, k, v)
 * lse is base 2 in units of scaled scores (m + log2 l with s = q^.k^ * sm_scale * log2 e): the kernel's M.
 */
#ifndef FASTWAN_ATTN_QAT_H
#define FASTWAN_ATTN_QAT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values of the switches (reference attn_qat.md §7). */
enum { FASTWAN_QAT_V_TOKENS = 0, FASTWAN_QAT_V_HEAD_DIM = 1 };
enum { FASTWAN_QAT_D_FROM_O_PRIME = 0, FASTWAN_QAT_D_FROM_O = 1 };
enum { FASTWAN_QAT_DV_FQ_NORMALIZED = 0, FASTWAN_QAT_DV_FQ_ROW_MAX = 1, FASTWAN_QAT_DV_EXACT = 2 };

typedef struct fastwan_attn_qat_params {
  int batch, heads, seq_q, seq_k;
  int head_dim;   /* 64 or 128 (the CUDA kernels); a multiple of 16 for the reference */
  float sm_scale; /* 0: 1 / sqrt(head_dim) */
  int causal;     /* key j > query i masked (top-left aligned, as the Triton kernel) */
  int v_axis;     /* FASTWAN_QAT_V_*: V quantized per 16 tokens of a channel (default) or per 16 channels */
  int d_from;     /* FASTWAN_QAT_D_FROM_*: D = rowsum(dO o O') (default) or rowsum(dO o O) */
  int dv_p; /* FASTWAN_QAT_DV_*: P in dV: fq of the normalized P (default), fq relative to the row max, P */
  int quantize_qkv, quantize_p; /* 1, 1 for Attn-QAT; 0 gives exact attention (tests) */
} fastwan_attn_qat_params;

/* The params of Attn-QAT as published (every switch at its default), for the given shape. */
fastwan_attn_qat_params fastwan_attn_qat_default_params(int batch, int heads, int seq_q, int seq_k,
                                                        int head_dim);

/* The forward's key tile width: P^ is quantized relative to the running max at the start of each tile, so
 * it depends on the tile (the reference's block_n must equal it for the two to agree). */
int fastwan_attn_qat_block_n(void);

const char* fastwan_attn_qat_last_error(void);

/* --- CUDA (device pointers, bf16 tensors, enqueued on stream) --- */

/* q^, k^, v^ = φ(q), φ(k), φ(v) (copies when quantize_qkv is 0). */
int fastwan_attn_qat_quantize(const fastwan_attn_qat_params* p, const void* q, const void* k, const void* v,
                              void* q_hat, void* k_hat, void* v_hat, void* stream);

/* o, o_prime: bf16 like q; lse, row_max: float [batch, heads, seq_q]. */
int fastwan_attn_qat_forward(const fastwan_attn_qat_params* p, const void* q_hat, const void* k_hat,
                             const void* v_hat, void* o, void* o_prime, float* lse, float* row_max,
                             void* stream);

/* Bytes of device scratch the backward needs (a float dQ accumulator and D). */
size_t fastwan_attn_qat_backward_workspace(const fastwan_attn_qat_params* p);

/* o_for_d: o' or o, as d_from says. dq, dk, dv: bf16 like q, k, v. workspace: at least
 * fastwan_attn_qat_backward_workspace(p) bytes, 16-byte aligned. */
int fastwan_attn_qat_backward(const fastwan_attn_qat_params* p, const void* q_hat, const void* k_hat,
                              const void* v_hat, const void* o_for_d, const float* lse, const float* row_max,
                              const void* d_o, void* dq, void* dk, void* dv, void* workspace, void* stream);

/* --- The double-precision CPU reference (host float tensors, the same layouts; block_n as the kernel's) ---
 */

int fastwan_attn_qat_reference_forward(const fastwan_attn_qat_params* p, const float* q, const float* k,
                                       const float* v, float* o, float* o_prime, float* lse);

/* Takes the unquantized q, k, v (it applies φ itself) and o, o_prime, lse as its forward returned them. */
int fastwan_attn_qat_reference_backward(const fastwan_attn_qat_params* p, const float* q, const float* k,
                                        const float* v, const float* o, const float* o_prime,
                                        const float* lse, const float* d_o, float* dq, float* dk, float* dv);

#ifdef __cplusplus
}
#endif

#endif /* FASTWAN_ATTN_QAT_H */
