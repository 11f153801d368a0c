#include "ops/cuda/gemm_epilogue.h"

#include <cuda_bf16.h>

#include "cuda/check.h"
#include "ops/cuda/activation.cuh"

namespace fastwan::cuda {
namespace {

__device__ __forceinline__ float load(const float* p, int64_t i) {
  return p[i];
}
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}
__device__ __forceinline__ void store(float* p, int64_t i, float v) {
  p[i] = v;
}
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, float v) {
  p[i] = __float2bfloat16_rn(v);
}

template <typename T>
__global__ void row_scaled_epilogue_kernel(RowScaledEpilogueParams p) {
  const int64_t total = p.rows * p.n;
  const T* bias = static_cast<const T*>(p.bias);
  T* d = static_cast<T*>(p.d);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / p.n, c = i % p.n, at = r * p.ldd + c;
    float v = p.alpha * p.row_scale[r] * p.col_scale[c] * p.acc[r * p.ld_acc + c];
    if (p.beta != 0.0f) v += p.beta * load(d, at);
    if (bias) v += load(bias, c);
    if (p.gelu) v = gelu_tanh(v);
    store(d, at, v);
  }
}

}  // namespace

void row_scaled_epilogue(const RowScaledEpilogueParams& p, cudaStream_t stream) {
  FW_CHECK(p.d_type == DType::bf16 || p.d_type == DType::f32, "row_scaled_epilogue: d must be bf16 or f32");
  if (p.rows == 0 || p.n == 0) return;
  const int64_t blocks = std::min<int64_t>((p.rows * p.n + 255) / 256, 65536);
  if (p.d_type == DType::bf16)
    row_scaled_epilogue_kernel<__nv_bfloat16><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(p);
  else
    row_scaled_epilogue_kernel<float><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
