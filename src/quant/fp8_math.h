// The FP8 e4m3 scaling arithmetic of FastWan-QAD-FP8 (reference fastwan_qad_inference.md §3.2), shared by the
// host quantizer (the oracle) and the CUDA kernels so that both compute the same scales and codes:
//   scale    s = max(amax / 448, 1 / (448 * 512))                 fp32
//   divisor  d = bf16(s)                                           the quirk: the GEMM gets s, the codes d
//   quotient q = x / d  (fp32 IEEE division; rounded to bf16 when x is bf16, as torch divides bf16 tensors)
//   code       e4m3(clamp(q, -448, 448)), round to nearest even
#pragma once

#if defined(__CUDACC__)
#define FW_HOST_DEVICE __host__ __device__
#else
#define FW_HOST_DEVICE
#endif

namespace fastwan::quant {

inline constexpr float kFp8Max = 448.0f;
// FastVideo's FP8_MIN_SCALE = 1 / (448 * 512), a Python double cast to fp32 by the clamp.
inline constexpr float kFp8MinScale = static_cast<float>(1.0 / (448.0 * 512.0));

FW_HOST_DEVICE inline float fp8_scale(float amax) {
  const float s = amax / kFp8Max;
  return s < kFp8MinScale ? kFp8MinScale : s;
}

FW_HOST_DEVICE inline float fp8_clamp(float q) {
  return q > kFp8Max ? kFp8Max : (q < -kFp8Max ? -kFp8Max : q);
}

}  // namespace fastwan::quant
