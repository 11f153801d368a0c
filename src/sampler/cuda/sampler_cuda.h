// The samplers' elementwise ops on the GPU (sampler/sampler_ops.h's device table, ops/cuda/sampler.h's
// kernels).
#pragma once

namespace fastwan::cuda {

// Installs them (and the device allocator and copy); idempotent. The CUDA denoiser calls it when it is made,
// since its velocity function takes and returns device latents.
void install_sampler_ops();

}  // namespace fastwan::cuda
