// The checks every host quantizer makes on its input, in one place: f32 or bf16 values, a non-empty tensor,
// no NaN or infinity (an error naming the tensor and the element, never garbage codes).
#pragma once

#include <string_view>

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan::quant {

// x's values as a contiguous f32 tensor (exact for bf16). Elements are named by row and column of x seen as
// [rows, last dimension]; `format` ("FP8", "NVFP4") says who needs finite values.
Expected<Tensor> quantizer_input(const Tensor& x, std::string_view name, std::string_view format);

}  // namespace fastwan::quant
