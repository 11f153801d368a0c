// Scaled-FP8 single files (ComfyUI / Kijai style), multiplied out to bf16 at load.
//
// Two generations of the format:
//   - a `scaled_fp8` marker tensor; each quantized linear has an FP8 `<layer>.weight` and a scalar
//     `<layer>.scale_weight` (weight = FP8 value x scale_weight), optionally `<layer>.scale_input`;
//   - newer files: `<layer>.weight_scale` / `<layer>.input_scale`, and a per-layer format record, either a
//     `<layer>.comfy_quant` tensor of JSON bytes or a `_quantization_metadata` JSON entry in the metadata
//     ({"format_version", "layers": {name: {"format"}}}). Only float8_e4m3fn and float8_e5m2 layers are read.
// The input scales are dropped: activations stay in the compute precision. Loading these weights straight
// into the FP8 linears (no round trip through bf16) comes with the GPU FP8 linear.
#pragma once

#include <string>

#include "io/weight_store.h"

namespace fastwan {

// Replaces every scaled FP8 weight in `store` by a reader that gives the bf16 product and removes the
// scales, markers and format records. Returns what was found in words ("scaled FP8 (f8_e4m3), 12 layers"),
// or "" when the store holds no scaled FP8. Errors name the layer and what was expected.
Expected<std::string> dequantize_scaled_fp8(WeightStore& store);

// The bf16 tensor `fp8 x scale` (scale: one value, or one per row of fp8's dimension 0).
Expected<Tensor> multiply_fp8_scale(const Tensor& fp8, const Tensor& scale);

}  // namespace fastwan
