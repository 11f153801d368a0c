// The E2M1 rounding of NVFP4 (quant/nvfp4.h), shared by the host quantizer (the oracle) and the CUDA kernel
// (ops/cuda/quant.cu) so that both round x * scale to the same code: round to nearest, ties to the even code,
// saturating at ±6 (what cvt.rn.satfinite.e2m1x2.f32 does on the GPUs that have it; Hopper does not).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

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

// a >= 0 (finite, below 2^100) rounded to nearest even on a grid of kMantissaBits mantissa bits whose
// smallest binade is min_binade (the float bits of a power of two; below it the spacing stays that binade's,
// the subnormals of a small format). By the adder, not by comparisons: with q the grid's spacing at a,
// adding and subtracting M = 1.5 * 2^23 * q rounds a to a multiple of q with the FPU's ties-to-even, which is
// the even code at every midpoint. These run once per element of P in the FP4 attention kernels.
template <int kMantissaBits>
FW_HOST_DEVICE inline float round_to_grid(float a, uint32_t min_binade) {
  uint32_t bits;
  memcpy(&bits, &a, sizeof bits);
  const uint32_t binade = bits & 0x7f800000u;  // 2^e
  const uint32_t m_bits =
      (binade > min_binade ? binade : min_binade) + ((23u - kMantissaBits) << 23) + 0x00400000u;
  float m;
  memcpy(&m, &m_bits, sizeof m);
  return (a + m) - m;  // two roundings: no FMA to contract, no reassociation
}

// a >= 0 rounded to E2M1's magnitudes: one mantissa bit, spacing 0.5 below 2; a is clamped to 8 first and the
// result to 6 (saturation). a must not be NaN.
FW_HOST_DEVICE inline float e2m1_round_magnitude(float a) {
  return fminf(round_to_grid<1>(fminf(a, 8.0f), 0x3f800000u), 6.0f);  // grid from 1
}

// The same for a quotient φ of P makes, 0 <= y <= 6 (1 + 2^-22) (x <= amax, s = amax / 6 rounded): nothing to
// clamp, since the grid of [4, 8) rounds every such y to at most 6. Two operations fewer per element of P.
FW_HOST_DEVICE inline float e2m1_round_block_quotient(float y) {
  return round_to_grid<1>(y, 0x3f800000u);
}

// y rounded to E2M1, as a float: the value of e2m1_index's code without its compare chain. -0 and +0 give +0
// (the code of y < 0 carries the sign: small negatives give -0). y must not be NaN. Equal to
// e2m1_magnitude(e2m1_index) for every float checked (tests/unit/nvfp4_test.cpp).
FW_HOST_DEVICE inline float e2m1_round(float y) {
  const float r = e2m1_round_magnitude(y < 0.0f ? -y : y);
  return y < 0.0f ? -r : r;
}

// s >= 0 rounded to E4M3 (round to nearest even, saturating at 448: what the conversion with satfinite
// gives), as a float: φ's block scale without the conversion unit's round trip (two conversions on the
// quarter-rate pipe the attention kernels' exponentials need). Three mantissa bits, subnormals below 2^-6. s
// must not be NaN. Equal to the conversion for every float checked (tests/unit/nvfp4_test.cpp).
FW_HOST_DEVICE inline float e4m3_round(float s) {
  return fminf(round_to_grid<3>(fminf(s, 512.0f), 0x3c800000u), 448.0f);  // grid from 2^-6
}

// x / s correctly rounded, given r = RN(1 / s): Markstein's correction of the product x * r (one product and
// two FMAs where a division is a subroutine); exact for quotients in the normal range, as P's are.
FW_HOST_DEVICE inline float divide_by(float x, float s, float r) {
  const float q = x * r;
  const float e = fmaf(-q, s, x);  // exact
  return fmaf(e, r, q);
}

}  // namespace fastwan::quant
