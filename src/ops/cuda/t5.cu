#include <cuda_bf16.h>

#include <cfloat>

#include "cuda/check.h"
#include "ops/cuda/activation.cuh"
#include "ops/cuda/t5.h"

namespace fastwan::cuda {
namespace {

using bf16 = __nv_bfloat16;

__device__ __forceinline__ float block_reduce(float v, bool is_max, float* shared) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffff, v, o);
    v = is_max ? fmaxf(v, w) : v + w;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < blockDim.x / 32 ? shared[lane] : (is_max ? -INFINITY : 0.0f);
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffff, v, o);
    v = is_max ? fmaxf(v, w) : v + w;
  }
  __syncthreads();
  return v;
}

// One block per (head, query row).
__global__ void relative_bias_softmax_kernel(const RelativeBiasSoftmaxParams p) {
  __shared__ float red[32];
  const int row = blockIdx.x, head = blockIdx.y, n = p.rows;
  const float* s = p.scores + (static_cast<int64_t>(head) * n + row) * n;
  bf16* out = static_cast<bf16*>(p.probs) + (static_cast<int64_t>(head) * n + row) * n;
  const bf16* table = static_cast<const bf16*>(p.table);
  auto value = [&](int j) {
    float v = s[j] + __bfloat162float(table[p.bucket[j - row + n - 1] * p.heads + head]);
    if (p.key_mask && p.key_mask[j] == 0) v += -FLT_MAX;  // HF: finfo.min added to masked keys
    return v;
  };
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < n; j += blockDim.x) mx = fmaxf(mx, value(j));
  mx = block_reduce(mx, true, red);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) sum += __expf(value(j) - mx);
  sum = block_reduce(sum, false, red);
  const float inv = 1.0f / sum;
  for (int j = threadIdx.x; j < n; j += blockDim.x) out[j] = __float2bfloat16_rn(__expf(value(j) - mx) * inv);
}

__global__ void gated_gelu_kernel(const bf16* gu, bf16* out, int64_t rows, int64_t d_ff) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * d_ff) return;
  const int64_t r = i / d_ff, c = i % d_ff;
  const float g = __bfloat162float(gu[r * 2 * d_ff + c]), u = __bfloat162float(gu[r * 2 * d_ff + d_ff + c]);
  const float gelu = gelu_tanh(g);
  out[i] = __float2bfloat16_rn(__bfloat162float(__float2bfloat16_rn(gelu)) * u);
}

}  // namespace

void relative_bias_softmax(const RelativeBiasSoftmaxParams& p, cudaStream_t stream) {
  FW_CHECK(p.rows > 0 && p.heads > 0, "relative_bias_softmax: empty problem");
  relative_bias_softmax_kernel<<<dim3(p.rows, p.heads), 128, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

void gated_gelu(const void* gate_up, void* out, int64_t rows, int64_t d_ff, cudaStream_t stream) {
  const int64_t n = rows * d_ff;
  gated_gelu_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(
      static_cast<const bf16*>(gate_up), static_cast<bf16*>(out), rows, d_ff);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
