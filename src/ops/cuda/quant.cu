#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include "cuda/check.h"
#include "ops/cuda/amax.cuh"
#include "ops/cuda/quant.h"
#include "quant/fp8_math.h"

namespace fastwan::cuda {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kThreads = 256;

struct Bf16x8 {
  bf16 v[8];
};

__device__ __forceinline__ Bf16x8 load8(const bf16* p) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  return *reinterpret_cast<const Bf16x8*>(&raw);
}

// Eight codes of consecutive elements; `divisor` = bf16(scale), rounding as quant::fp8_code with bf16 input.
__device__ __forceinline__ uint2 codes8(const Bf16x8& x, float divisor) {
  uint32_t packed[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 q;
    q.x = quant::fp8_clamp(
        __bfloat162float(__float2bfloat16_rn(__fdiv_rn(__bfloat162float(x.v[2 * i]), divisor))));
    q.y = quant::fp8_clamp(
        __bfloat162float(__float2bfloat16_rn(__fdiv_rn(__bfloat162float(x.v[2 * i + 1]), divisor))));
    packed[i] = __nv_cvt_float2_to_fp8x2(q, __NV_SATFINITE, __NV_E4M3);
  }
  return make_uint2(packed[0] | (packed[1] << 16), packed[2] | (packed[3] << 16));
}

__device__ __forceinline__ float max_abs8(const Bf16x8& x) {
  float m = 0.0f;
#pragma unroll
  for (int i = 0; i < 8; ++i) m = fmaxf(m, fabsf(__bfloat162float(x.v[i])));
  return m;
}

__global__ void amax_kernel(const bf16* x, int64_t rows, int64_t cols, int64_t ld, float* amax) {
  const int64_t groups = cols / 8, n = rows * groups;
  float m = 0.0f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    m = fmaxf(m, max_abs8(load8(x + (i / groups) * ld + (i % groups) * 8)));
  warp_fold_amax(amax, m);
}

__global__ void quantize_tensor_kernel(const Fp8QuantizeParams p) {
  const float s = quant::fp8_scale(*p.amax);
  const float divisor = __bfloat162float(__float2bfloat16_rn(s));
  if (blockIdx.x == 0 && threadIdx.x == 0) *p.scale = s;
  const int64_t groups = p.cols / 8, n = p.rows * groups;
  const bf16* x = static_cast<const bf16*>(p.x);
  uint2* out = static_cast<uint2*>(p.codes);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = codes8(load8(x + (i / groups) * p.ld_x + (i % groups) * 8), divisor);
}

// One warp per row: the row's maximum, then its codes (the second read hits L1).
__global__ void quantize_rows_kernel(const Fp8QuantizeParams p) {
  const int64_t row = blockIdx.x * int64_t(kThreads / 32) + threadIdx.x / 32;
  if (row >= p.rows) return;
  const int lane = threadIdx.x % 32;
  const bf16* x = static_cast<const bf16*>(p.x) + row * p.ld_x;
  float m = 0.0f;
  for (int64_t c = lane * 8; c < p.cols; c += 256) m = fmaxf(m, max_abs8(load8(x + c)));
  const float s = quant::fp8_scale(warp_max(m));
  const float divisor = __bfloat162float(__float2bfloat16_rn(s));
  if (lane == 0) p.scale[row] = s;
  uint2* out = reinterpret_cast<uint2*>(static_cast<uint8_t*>(p.codes) + row * p.cols);
  for (int64_t c = lane * 8; c < p.cols; c += 256) out[c / 8] = codes8(load8(x + c), divisor);
}

unsigned grid_for(int64_t work) {
  const int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 132 * 16 ? blocks : 132 * 16);  // a few waves, grid-stride beyond
}

}  // namespace

void fp8_amax(const void* x, int64_t rows, int64_t cols, int64_t ld_x, float* amax, cudaStream_t stream) {
  FW_CHECK(rows > 0 && cols > 0 && cols % 8 == 0 && ld_x % 8 == 0, "fp8_amax: cols and ld must be % 8");
  amax_kernel<<<grid_for(rows * cols / 8), kThreads, 0, stream>>>(static_cast<const bf16*>(x), rows, cols,
                                                                  ld_x, amax);
  FW_CUDA_CHECK_LAUNCH();
}

void fp8_quantize(const Fp8QuantizeParams& p, cudaStream_t stream) {
  FW_CHECK(p.rows > 0 && p.cols > 0 && p.cols % 8 == 0 && p.ld_x % 8 == 0 && p.x && p.codes && p.scale,
           "fp8_quantize: cols and ld must be % 8, buffers set");
  if (p.per_row) {
    const unsigned blocks = static_cast<unsigned>((p.rows + kThreads / 32 - 1) / (kThreads / 32));
    quantize_rows_kernel<<<blocks, kThreads, 0, stream>>>(p);
  } else {
    FW_CHECK(p.amax != nullptr, "fp8_quantize: a per-tensor scale needs the tensor's amax");
    quantize_tensor_kernel<<<grid_for(p.rows * p.cols / 8), kThreads, 0, stream>>>(p);
  }
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
