// The samplers' elementwise steps on the GPU, the twins of sampler/sampler_ops.cpp: with the latents kept on
// the device for the whole loop, these must give the host's bits, so every product and sum is an explicit
// round-to-nearest intrinsic (__dmul_rn, __fadd_rn, ...) that nvcc cannot contract into a fused multiply-add.
//   dmd_data_prediction  out = float(double(a) - double(scalar) * double(b))   (x0 from x, sigma, v)
//   dmd_add_noise        out = (1 - scalar) * a + scalar * b, as keep * a, scalar * b, then their sum
//                        (x from x0, sigma, noise)
//   euler_step           out = a + scalar * b   (x + dt * v)
// All operands are n contiguous f32 values; `out` may be `a` (in place) but not partially overlap it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace fastwan::cuda {

enum class SamplerStepOp { dmd_data_prediction, dmd_add_noise, euler_step };

struct SamplerStepParams {
  SamplerStepOp op = SamplerStepOp::dmd_data_prediction;
  const float* a = nullptr;  // x (dmd_data_prediction, euler_step) or x0 (dmd_add_noise)
  const float* b = nullptr;  // v, or the re-noising noise
  float scalar = 0;          // sigma, or dt for euler_step
  float* out = nullptr;
  int64_t n = 0;
};

void sampler_step(const SamplerStepParams& p, cudaStream_t stream);

}  // namespace fastwan::cuda
