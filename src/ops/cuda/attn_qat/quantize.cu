// φ on Q, K and V (Attn-QAT's fake quantization to NVFP4 values, stored as bf16, which holds them exactly).
// One thread per 16-block: along the head dim a block is 16 consecutive elements (two 16-byte loads); along
// tokens it is 16 rows of one channel, and consecutive threads take consecutive channels (coalesced).
#include "core/check.h"
#include "cuda/check.h"
#include "ops/cuda/attn_qat/attn_qat.h"
#include "ops/cuda/fp4_attention.cuh"

namespace fastwan::cuda::attn_qat {
namespace {

// n_blocks blocks of 16 consecutive elements.
__global__ void quantize_head_dim_kernel(const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
                                         int64_t n_blocks) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= n_blocks) return;
  uint4 raw[2];
  raw[0] = reinterpret_cast<const uint4*>(x)[2 * b];
  raw[1] = reinterpret_cast<const uint4*>(x)[2 * b + 1];
  __nv_bfloat16* e = reinterpret_cast<__nv_bfloat16*>(raw);
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < 16; ++i) amax = fmaxf(amax, fabsf(__bfloat162float(e[i])));
  const Fp4Block block(amax);
#pragma unroll
  for (int i = 0; i < 16; ++i) e[i] = __float2bfloat16_rn(block.rounded(__bfloat162float(e[i])));
  reinterpret_cast<uint4*>(y)[2 * b] = raw[0];
  reinterpret_cast<uint4*>(y)[2 * b + 1] = raw[1];
}

// x [heads][rows][d]: block (h, r0, c) is rows r0 .. r0 + 15 of channel c; a last, partial block on its own.
__global__ void quantize_tokens_kernel(const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
                                       int rows, int d) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= d) return;
  const int r0 = blockIdx.y * 16;
  const size_t base = (static_cast<size_t>(blockIdx.z) * rows + r0) * d + c;
  const int n = min(16, rows - r0);
  float v[16];
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < 16; ++i) {
    v[i] = i < n ? __bfloat162float(x[base + static_cast<size_t>(i) * d]) : 0.0f;
    amax = fmaxf(amax, fabsf(v[i]));
  }
  const Fp4Block block(amax);
#pragma unroll
  for (int i = 0; i < 16; ++i)
    if (i < n) y[base + static_cast<size_t>(i) * d] = __float2bfloat16_rn(block.rounded(v[i]));
}

void quantize_head_dim(const __nv_bfloat16* x, __nv_bfloat16* y, int64_t elements, cudaStream_t stream) {
  const int64_t n_blocks = elements / 16;
  constexpr int kThreads = 256;
  quantize_head_dim_kernel<<<static_cast<unsigned>((n_blocks + kThreads - 1) / kThreads), kThreads, 0,
                             stream>>>(x, y, n_blocks);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace

void quantize(const QuantizeParams& p, cudaStream_t stream) {
  const Problem& pb = p.problem;
  const int64_t q_elements = static_cast<int64_t>(pb.batch_heads) * pb.seq_q * pb.head_dim;
  const int64_t kv_elements = static_cast<int64_t>(pb.batch_heads) * pb.seq_k * pb.head_dim;
  quantize_head_dim(p.q, p.q_hat, q_elements, stream);
  quantize_head_dim(p.k, p.k_hat, kv_elements, stream);
  if (p.v_axis == VAxis::head_dim) {
    quantize_head_dim(p.v, p.v_hat, kv_elements, stream);
    return;
  }
  FW_CHECK(pb.batch_heads <= 65535, "attn_qat: at most 65535 batch x heads");
  const dim3 grid((pb.head_dim + 63) / 64, (pb.seq_k + 15) / 16, pb.batch_heads);
  quantize_tokens_kernel<<<grid, 64, 0, stream>>>(p.v, p.v_hat, pb.seq_k, pb.head_dim);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda::attn_qat
