// FP8 e4m3 quantization on the GPU, with quant/fp8_math.h's arithmetic: bit-exact with the host oracle
// quant/fp8.h on the same bf16 values.
//   fp8_amax      amax = max(amax, max |x|) over a bf16 matrix: the per-tensor statistic where no producer
//                 kernel accumulates it (weights at load, the FFN's GELU output)
//   fp8_quantize  codes = e4m3(clamp(bf16(x / bf16(s)))) with one scale s = fp8_scale(amax) for the tensor,
//   or
//                 one per row computed from the row itself (one warp per row); writes the fp32 scales the
//                 GEMM reads, so the whole chain stays on the device (and in a CUDA graph)
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

void fp8_amax(const void* x, int64_t rows, int64_t cols, int64_t ld_x, float* amax, cudaStream_t stream);
void fp8_quantize(const Fp8QuantizeParams& p, cudaStream_t stream);

}  // namespace fastwan::cuda
