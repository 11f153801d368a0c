// Matrix products through cuBLASLt, the only place GEMM descriptors are built. Row-major everywhere:
//   D[b] = alpha * scale(A) scale(B) * A[b] (m x k) . B[b]^T (when b_transposed: B stored n x k, as torch
//   Linear
//          weights) + beta * D[b] + bias[n] (epilogue), batched with element strides.
// Operands are bf16, or FP8 e4m3 with fp32 scales in device memory (per tensor, applied by cuBLASLt; or per
// row of A and per row of B, applied by gemm_epilogue.h to fp32 products); accumulation is fp32; D is bf16 or
// f32. Plans (descriptors + the
// heuristic's algorithm) are cached per shape in the DeviceContext's engine, so graph capture and repeated
// calls do no host-side search.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"
#include "cuda/context.h"

namespace fastwan::cuda {

enum class Epilogue { none, bias, gelu_bias };

// How FP8 operands are scaled: one fp32 per operand, or one per row of A ([m]) and of B ([n]).
enum class GemmScaling { none, per_tensor, per_row };

struct GemmParams {
  const void* a = nullptr;     // [m, k], row stride lda
  DType a_type = DType::bf16;  // bf16 or fp8_e4m3 (then b_type too)
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;  // [n, k] (b_transposed) or [k, n], row stride ldb
  DType b_type = DType::bf16;
  int64_t ldb = 0, stride_b = 0;
  bool b_transposed = true;
  GemmScaling scaling = GemmScaling::none;  // FP8 operands only
  const float* a_scale = nullptr;           // device fp32: [1] (per_tensor) or [m] (per_row)
  const float* b_scale = nullptr;           // device fp32: [1] (per_tensor) or [n] (per_row)
  void* d = nullptr;                        // [m, n], row stride ldd
  int64_t ldd = 0, stride_d = 0;
  DType d_type = DType::bf16;  // bf16 or f32
  const void* bias = nullptr;  // [n] bf16 (same dtype as d), with Epilogue::bias / gelu_bias
  Epilogue epilogue = Epilogue::none;
  int64_t m = 0, n = 0, k = 0;
  int batch = 1;
  float alpha = 1.0f;
  float beta = 0.0f;  // D = alpha*AB + beta*D (+bias)
};

void gemm(DeviceContext& ctx, const GemmParams& p);

// The engine a DeviceContext owns (cuBLASLt handle, workspace, plans).
GemmEngine* new_gemm_engine();
void delete_gemm_engine(GemmEngine* engine);

}  // namespace fastwan::cuda
