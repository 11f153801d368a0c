// The epilogue of an FP8 GEMM with per-row scales, for the GEMMs whose scales cuBLASLt cannot apply itself
// (gemm.cpp: its outer-vector scale mode is not offered on sm_90). From the unscaled fp32 products:
//   d[r][c] = act(alpha * row_scale[r] * col_scale[c] * acc[r][c] + beta * d[r][c] + bias[c])
// in fp32, rounded once to d's type; act is GELU (tanh form, as cuBLASLt's GELU_BIAS) or none. The same order
// as cuBLASLt's epilogue (alpha and the scales, then beta * C, then the bias, then GELU).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace fastwan::cuda {

struct RowScaledEpilogueParams {
  const float* acc = nullptr;  // [rows, n], row stride ld_acc
  int64_t ld_acc = 0;
  const float* row_scale = nullptr;  // [rows]
  const float* col_scale = nullptr;  // [n]
  const void* bias = nullptr;        // [n] of d's type, or null
  bool gelu = false;
  void* d = nullptr;  // [rows, n], row stride ldd
  int64_t ldd = 0;
  DType d_type = DType::bf16;  // bf16 or f32
  float alpha = 1.0f, beta = 0.0f;
  int64_t rows = 0, n = 0;
};

void row_scaled_epilogue(const RowScaledEpilogueParams& p, cudaStream_t stream);

}  // namespace fastwan::cuda
