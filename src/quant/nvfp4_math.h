// The E2M1 rounding of NVFP4 (quant/nvfp4.h), shared by the host quantizer (the oracle) and the CUDA kernel
// (ops/cuda/quant.cu) so that both round x * scale to the same code: round to nearest, ties to the even code,
// saturating at ±6 (what cvt.rn.satfinite.e2m1x2.f32 does on the GPUs that have it; Hopper does not).
#pragma once

#include "quant/fp8_math.h"  // FW_HOST_DEVICE

namespace fastwan::quant {

// The index of the E2M1 magnitude nearest a >= 0 in {0, 0.5, 1, 1.5, 2, 3, 4, 6}. The midpoints 0.25, 1.25,
// 2.5 and 5 round down to the even index, 0.75, 1.75 and 3.5 up; above 5 is 6 (saturation).
FW_HOST_DEVICE inline int e2m1_index(float a) {
  int i = a > 0.25f ? 1 : 0;
  if (a >= 0.75f) i = 2;
  if (a > 1.25f) i = 3;
  if (a >= 1.75f) i = 4;
  if (a > 2.5f) i = 5;
  if (a >= 3.5f) i = 6;
  if (a > 5.0f) i = 7;
  return i;
}

// The magnitude of index i (0..7).
FW_HOST_DEVICE inline float e2m1_magnitude(int i) {
  return i < 5 ? 0.5f * static_cast<float>(i) : (i == 5 ? 3.0f : (i == 6 ? 4.0f : 6.0f));
}

// y rounded to E2M1, as a float; -0 and +0 give +0 (the code of y < 0 carries the sign). y must not be NaN.
FW_HOST_DEVICE inline float e2m1_round(float y) {
  const float m = e2m1_magnitude(e2m1_index(y < 0.0f ? -y : y));
  return y < 0.0f ? -m : m;
}

}  // namespace fastwan::quant
