#include "quant/fp8.h"

#include <algorithm>
#include <cmath>

#include "quant/input.h"

namespace fastwan::quant {

uint8_t fp8_code(float x, float scale, bool bf16_input) {
  float q = x / round_to_bf16(scale);
  if (bf16_input) q = round_to_bf16(q);
  return float_to_fp8_e4m3(fp8_clamp(q), Saturation::finite);
}

Tensor Fp8Matrix::dequantize() const {
  Tensor out = Tensor::empty({rows, cols}, DType::f32);
  float* o = out.f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float s = scale_of_row(r);
    for (int64_t c = 0; c < cols; ++c) o[r * cols + c] = fp8_e4m3_to_float(codes[r * cols + c]) * s;
  }
  return out;
}

Expected<Fp8Matrix> quantize_fp8(const Tensor& x, Fp8Granularity granularity, std::string_view name) {
  FW_ASSIGN_OR_RETURN(const Tensor values, quantizer_input(x, name, "FP8"));
  const bool bf16_input = x.dtype() == DType::bf16;
  const float* v = values.f32();
  Fp8Matrix m;
  m.cols = x.dim(-1);
  m.rows = x.numel() / m.cols;
  m.granularity = granularity;
  std::vector<float> amax(granularity == Fp8Granularity::per_row ? m.rows : 1, 0.0f);
  for (int64_t r = 0; r < m.rows; ++r) {
    float& a = amax[granularity == Fp8Granularity::per_row ? r : 0];
    for (int64_t c = 0; c < m.cols; ++c) a = std::max(a, std::fabs(v[r * m.cols + c]));
  }
  m.scales.resize(amax.size());
  std::transform(amax.begin(), amax.end(), m.scales.begin(), fp8_scale);
  m.codes.resize(static_cast<size_t>(m.rows * m.cols));
  for (int64_t r = 0; r < m.rows; ++r) {
    const float s = m.scale_of_row(r);
    for (int64_t c = 0; c < m.cols; ++c) m.codes[r * m.cols + c] = fp8_code(v[r * m.cols + c], s, bf16_input);
  }
  return m;
}

Expected<Tensor> fake_quantize_fp8(const Tensor& x, Fp8Granularity granularity, std::string_view name) {
  FW_ASSIGN_OR_RETURN(Fp8Matrix m, quantize_fp8(x, granularity, name));
  return m.dequantize().reshape(x.shape());
}

}  // namespace fastwan::quant
