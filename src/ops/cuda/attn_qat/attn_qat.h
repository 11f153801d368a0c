// Attn-QAT's training attention on the GPU (reference attn_qat.md §7; docs/attn_qat.md): φ on Q, K, V, the
// forward with two accumulators (O from P^, O' from P), and the backward with matched recomputation. The CPU
// oracle is quant/attn_qat.h (double precision); the C interface over these is include/fastwan/attn_qat.h.
//
// Tensors are contiguous bf16 [batch * heads][tokens][head_dim]; lse, row_max, delta float [batch * heads]
// [seq_q]. The kernels use the mma.sync bf16 tensor-core path (sm_80 and later), on values that bf16 holds
// exactly: φ's outputs are an E2M1 code times an E4M3 scale. On sm_90 the forward and the backward have a
// wgmma + TMA kernel too (forward_hopper.cu, backward_hopper.cu), with the same numerics.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace fastwan::cuda::attn_qat {

constexpr int kBlockN =
    64;  // the forward's key tile: P^ is quantized relative to the running max at its start

enum class VAxis { tokens, head_dim };
enum class DvP { fq_normalized, fq_row_max, exact };

struct Problem {
  int batch_heads = 0, seq_q = 0, seq_k = 0, head_dim = 0;  // head_dim 64 or 128
  float sm_scale = 0.0f;                                    // > 0
  bool causal = false;                                      // key j > query i masked (top-left aligned)
  bool quantize_p = true;
};

struct QuantizeParams {
  Problem problem;
  VAxis v_axis = VAxis::tokens;
  const __nv_bfloat16 *q = nullptr, *k = nullptr, *v = nullptr;
  __nv_bfloat16 *q_hat = nullptr, *k_hat = nullptr, *v_hat = nullptr;
};

// The forward's kernel: automatic is the wgmma one on sm_90 (H100, H200) and the mma.sync one elsewhere, or
// what the environment variable FASTWAN_ATTN_QAT_FORWARD says (auto, hopper or portable: how the tests and
// attn_qat_bench run both through the C interface). hopper where the device is not sm_90 is an error.
enum class ForwardKernel { automatic, portable, hopper };

struct ForwardParams {
  Problem problem;
  ForwardKernel kernel = ForwardKernel::automatic;
  const __nv_bfloat16 *q = nullptr, *k = nullptr, *v = nullptr;  // Q^, K^, V^
  __nv_bfloat16 *o = nullptr, *o_prime = nullptr;
  float *lse = nullptr, *row_max = nullptr;  // base 2, scaled-score units: m + log2(l), and m
};

// The backward's kernel: automatic is the mma.sync one everywhere until the wgmma one (sm_90) has passed its
// GPU tests, or what FASTWAN_ATTN_QAT_BACKWARD says (auto, hopper or portable).
enum class BackwardKernel { automatic, portable, hopper };

struct BackwardParams {
  Problem problem;
  BackwardKernel kernel = BackwardKernel::automatic;
  DvP dv_p = DvP::fq_normalized;
  const __nv_bfloat16 *q = nullptr, *k = nullptr, *v = nullptr;  // Q^, K^, V^
  const __nv_bfloat16 *o_for_d = nullptr, *d_o = nullptr;        // O' (or O) and dO
  const float *lse = nullptr, *row_max = nullptr;                // row_max: read only for fq_row_max
  __nv_bfloat16 *dq = nullptr, *dk = nullptr, *dv = nullptr;
  float* workspace = nullptr;  // backward_workspace_floats(problem): the dQ accumulator, then D
};

// φ on Q and K per 16 head-dim channels, on V per 16 tokens of a channel or per 16 channels (v_axis):
// bit-exact with quant::fq_nvfp4_block (Fp4Rounding::reciprocal_of_rounded).
void quantize(const QuantizeParams& p, cudaStream_t stream);
void forward(const ForwardParams& p, cudaStream_t stream);
int64_t backward_workspace_floats(const Problem& p);
void backward(const BackwardParams& p, cudaStream_t stream);

}  // namespace fastwan::cuda::attn_qat
