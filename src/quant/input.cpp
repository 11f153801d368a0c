#include "quant/input.h"

#include <cmath>
#include <string>

namespace fastwan::quant {

Expected<Tensor> quantizer_input(const Tensor& x, std::string_view name, std::string_view format) {
  if (x.dtype() != DType::f32 && x.dtype() != DType::bf16)
    return Error("quantize " + std::string(name) + ": expected f32 or bf16 values, got " + x.describe());
  if (x.ndim() < 1 || x.numel() == 0)
    return Error("quantize " + std::string(name) + ": expected a non-empty tensor, got " + x.describe());
  Tensor values = x.to_f32();  // a contiguous copy
  const float* v = values.f32();
  const int64_t cols = x.dim(-1);
  for (int64_t i = 0; i < values.numel(); ++i)
    if (!std::isfinite(v[i]))
      return Error("quantize " + std::string(name) + ": " + (std::isnan(v[i]) ? "NaN" : "an infinity") +
                   " at row " + std::to_string(i / cols) + ", column " + std::to_string(i % cols) + " (" +
                   std::string(format) + " needs finite values)");
  return values;
}

}  // namespace fastwan::quant
