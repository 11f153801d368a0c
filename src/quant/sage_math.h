// SageAttention2's per-thread INT8 quantization arithmetic, shared by the host oracle (quant/sage.cpp) and
// the CUDA pre-processing (ops/cuda/norm.cu, ops/cuda/sage_quant.cu) so that both compute the same scales and
// codes:
//   scale = amax / 127 + 1e-7 over a group;  code = trunc(x / scale + sign(x) / 2) (IEEE division; round half
//   away from zero, as the Triton per-thread quantizer).
#pragma once

#include <cmath>
#include <cstdint>

#include "quant/fp8_math.h"  // FW_HOST_DEVICE

namespace fastwan::quant {

FW_HOST_DEVICE inline float sage_int8_scale(float amax) {
  return amax / 127.0f + 1e-7f;
}

FW_HOST_DEVICE inline int8_t sage_int8_code(float x, float scale) {
  const float q = x / scale;
  return static_cast<int8_t>(truncf(q + (q > 0.0f ? 0.5f : q < 0.0f ? -0.5f : 0.0f)));
}

}  // namespace fastwan::quant
