// The samplers' elementwise arithmetic, run where the tensors live: on the host for host tensors, through
// the ops a device backend installs for device tensors (the CUDA backend's kernels, ops/cuda/sampler.h). The
// loops call these and so run unchanged whether the latents stay on the host or on the GPU; every device
// implementation must give the host's bits (same operations, same roundings, no fused multiply-add).
//
// Operands: f32, contiguous, same shape and device. The results are fresh tensors on that device.
#pragma once

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan {

// DMD's data prediction: x0 = float(double(x) - double(sigma) * double(v)), rounded once (FastVideo's
// pred_noise_to_pred_video in float64).
Expected<Tensor> dmd_data_prediction(const Tensor& x, float sigma, const Tensor& v);
// DMD's re-noising (add_noise in float32): x = (1 - sigma) * x0 + sigma * noise, as a = (1 - sigma) * x0,
// b = sigma * noise, a + b, each rounded.
Expected<Tensor> dmd_add_noise(const Tensor& x0, const Tensor& noise, float sigma);
// Flow Euler's step: x + dt * v (product and sum each rounded).
Expected<Tensor> euler_step(const Tensor& x, float dt, const Tensor& v);

// The device implementations; each takes checked operands (see above) and returns the result on their
// device.
struct SamplerDeviceOps {
  Tensor (*dmd_data_prediction)(const Tensor& x, float sigma, const Tensor& v) = nullptr;
  Tensor (*dmd_add_noise)(const Tensor& x0, const Tensor& noise, float sigma) = nullptr;
  Tensor (*euler_step)(const Tensor& x, float dt, const Tensor& v) = nullptr;
};
// Installed by a device backend (cuda::install_sampler_ops; `ops` must outlive every call, a static); until
// then device operands are an error.
void set_sampler_device_ops(const SamplerDeviceOps* ops);

}  // namespace fastwan
