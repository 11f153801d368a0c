#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <cmath>

#include "cuda/check.h"
#include "ops/cuda/amax.cuh"
#include "ops/cuda/quant.h"
#include "quant/fp8_math.h"
#include "quant/nvfp4_math.h"

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

// flashinfer's reciprocal_approximate_ftz: MUFU.RCP, at most 1 ulp from 1 / x (its last bit unspecified).
__device__ __forceinline__ float rcp_approx_ftz(float x) {
  float y;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ float e4m3_rn_satfinite(float v) {
  return static_cast<float>(__nv_fp8_e4m3(v));  // the constructor rounds to nearest even, saturating
}

// Eight consecutive elements a thread, two threads (lanes 2j, 2j + 1) a 16-element block: the pair exchanges
// its maxima, then each thread writes its eight values code * SF. Every lane reaches the shuffle.
__global__ void nvfp4_quantize_kernel(const Nvfp4QuantizeParams p) {
  const int64_t groups = p.cols / 8, n = p.rows * groups;
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const bool valid = i < n;
  const int64_t row = i / groups, col = (i % groups) * 8;
  Bf16x8 x{};
  if (valid) x = load8(static_cast<const bf16*>(p.x) + row * p.ld_x + col);
  // max |x| in fp32 (exact: bf16 values), NaN ignored; then the block's, from the partner lane.
  float amax = max_abs8(x);
  amax = fmaxf(amax, __shfl_xor_sync(0xffffffff, amax, 1));
  if (!valid) return;
  // flashinfer's order of operations: SF = e4m3(g * (amax * rcp(6))), scale = rcp(SF * rcp(g)).
  const float sf = e4m3_rn_satfinite(p.global_scale * (amax * rcp_approx_ftz(6.0f)));
  const float scale = amax != 0.0f && sf != 0.0f ? rcp_approx_ftz(sf * rcp_approx_ftz(p.global_scale)) : 0.0f;
  Bf16x8 out;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    const float y = __bfloat162float(x.v[k]) * scale;
    out.v[k] = __float2bfloat16_rn(isnan(y) ? y : quant::e2m1_round(y) * sf);  // exact in bf16
  }
  *reinterpret_cast<uint4*>(static_cast<bf16*>(p.out) + row * p.ld_out + col) =
      *reinterpret_cast<const uint4*>(&out);
}

__global__ void reciprocals_kernel(const float* x, float* out, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = rcp_approx_ftz(x[i]);
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

void nvfp4_quantize(const Nvfp4QuantizeParams& p, cudaStream_t stream) {
  FW_CHECK(p.rows > 0 && p.cols > 0 && p.cols % 16 == 0 && p.ld_x % 8 == 0 && p.ld_out % 8 == 0 &&
               p.ld_x >= p.cols && p.ld_out >= p.cols && p.x && p.out,
           "nvfp4_quantize: cols must be % 16, ld % 8, buffers set");
  FW_CHECK(p.global_scale > 0.0f && std::isfinite(p.global_scale),
           "nvfp4_quantize: the global scale must be > 0");
  const int64_t threads = p.rows * (p.cols / 8);
  const int64_t blocks = (threads + kThreads - 1) / kThreads;
  FW_CHECK(blocks < (int64_t(1) << 31), "nvfp4_quantize: too many rows");
  nvfp4_quantize_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

void nvfp4_reciprocals(const float* x, float* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  reciprocals_kernel<<<static_cast<unsigned>((n + kThreads - 1) / kThreads), kThreads, 0, stream>>>(x, out,
                                                                                                    n);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
