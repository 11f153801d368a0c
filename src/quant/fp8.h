// FP8 e4m3 quantization as plain host functions: the oracle every GPU FP8 mode is tested against, and the CPU
// model's fake quantization (quantize, dequantize, fp32 math). The arithmetic is fp8_math.h's.
//
//   per_tensor  one scale for the whole matrix (FastWan-QAD-FP8's weights and its dynamic activations)
//   per_row     one scale per row: per-output-channel weights, per-token activations (--linear fp8-row)
//
// A NaN or infinite input is an error naming the tensor and the element, never garbage codes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "fastwan/status.h"
#include "quant/fp8_math.h"

namespace fastwan::quant {

enum class Fp8Granularity { per_tensor, per_row };

// One value's code for a given scale. `bf16_input`: x is a bf16 value and the quotient is rounded to bf16
// before the e4m3 conversion (torch divides a bf16 tensor by a bf16 scale in bf16).
uint8_t fp8_code(float x, float scale, bool bf16_input);

struct Fp8Matrix {
  int64_t rows = 0, cols = 0;
  Fp8Granularity granularity = Fp8Granularity::per_tensor;
  std::vector<uint8_t> codes;  // [rows, cols] e4m3 bit patterns
  std::vector<float> scales;   // [1] (per_tensor) or [rows] (per_row), fp32

  float scale_of_row(int64_t row) const { return scales[granularity == Fp8Granularity::per_row ? row : 0]; }
  Tensor dequantize() const;  // f32 [rows, cols]: code * scale
};

// x: f32 or bf16, any shape; rows = all but the last dimension. `name` labels errors.
Expected<Fp8Matrix> quantize_fp8(const Tensor& x, Fp8Granularity granularity, std::string_view name);
// quantize_fp8 then dequantize, in x's shape (f32).
Expected<Tensor> fake_quantize_fp8(const Tensor& x, Fp8Granularity granularity, std::string_view name);

}  // namespace fastwan::quant
