// FP8 e4m3 and NVFP4 quantization on the GPU. FP8 with quant/fp8_math.h's arithmetic: bit-exact with the
// host oracle quant/fp8.h on the same bf16 values. NVFP4 with quant/nvfp4_math.h's E2M1 rounding.
//   fp8_amax      amax = max(amax, max |x|) over a bf16 matrix: the per-tensor statistic where no producer
//                 kernel accumulates it (weights at load, the FFN's GELU output)
//   fp8_quantize  codes = e4m3(clamp(bf16(x / bf16(s)))) with one scale s = fp8_scale(amax) for the
//                 tensor, or one per row computed from the row itself (one warp per row); writes the fp32
//                 scales the GEMM reads, so the whole chain stays on the device (and in a CUDA graph)
//   nvfp4_quantize NVFP4 fake quantization (quant/nvfp4.h's linear recipe, flashinfer's nvfp4_quantize): each
//                 16 elements along a row get SF = e4m3(g * amax * rcp(6)) and codes e2m1(x * rcp(SF *
//                 rcp(g))), and the kernel writes the bf16 values code * SF (exact: at most 6 significant
//                 bits), which a bf16 GEMM with alpha = 1 / bf16(g) multiplies as the FP4 tensor cores would.
//                 One pass, 2 bytes read and 2 written per element. rcp is rcp.approx.ftz.f32 as in
//                 flashinfer, where the host oracle divides exactly (the two differ only at exact ties:
//                 docs/numerics.md). A NaN input gives NaN (the host refuses it), an infinity saturates to ±6
//                 * 448
//   nvfp4_reciprocals the GPU's rcp.approx.ftz.f32 of n floats: the tests hand it to the host oracle
//                 (quant::Nvfp4Reciprocal) to check the kernel bit for bit
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace fastwan::cuda {

struct Fp8QuantizeParams {
  const void* x = nullptr;  // bf16 [rows, cols], row stride ld_x (elements, % 8 == 0)
  int64_t rows = 0, cols = 0, ld_x = 0;
  void* codes = nullptr;        // e4m3 [rows, cols], dense
  float* scale = nullptr;       // out: [1] (per tensor) or [rows] (per_row)
  const float* amax = nullptr;  // per tensor: max |x| over the whole tensor
  bool per_row = false;
};

struct Nvfp4QuantizeParams {
  const void* x = nullptr;  // bf16 [rows, cols], row stride ld_x (elements, % 8 == 0), cols % 16 == 0
  int64_t rows = 0, cols = 0, ld_x = 0;
  void* out = nullptr;  // bf16 [rows, cols], row stride ld_out (% 8 == 0); may be x (same ld)
  int64_t ld_out = 0;
  float global_scale = 1.0f;  // g: 1 for activations, 448 * 6 / max|W| for a weight
};

void fp8_amax(const void* x, int64_t rows, int64_t cols, int64_t ld_x, float* amax, cudaStream_t stream);
void fp8_quantize(const Fp8QuantizeParams& p, cudaStream_t stream);
void nvfp4_quantize(const Nvfp4QuantizeParams& p, cudaStream_t stream);
void nvfp4_reciprocals(const float* x, float* out, int64_t n, cudaStream_t stream);  // device arrays

}  // namespace fastwan::cuda
