// Sampler golden cases with the GPU DiT as the velocity function (bf16, CUDA graph replay per step). The
// latents stay on the host here, so the sampler arithmetic is the same host code as on the CPU path (the
// device steps are held to its bits by tests/gpu/sampler_gpu_test.cpp).
#include "cuda/check.h"
#include "cuda/context.h"
#include "models/wan_dit/cuda/wan_dit_cuda.h"
#include "verify/cuda/cuda_verifiers.h"
#include "verify/verifiers.h"

namespace fastwan {

DitBackend gpu_dit_backend() {
  DitBackend b;
  b.tolerance = 2e-2;
  b.make = [](const std::string& dir, const Tensor& context, const Shape& latents) -> Expected<VelocityFn> {
    FW_RETURN_IF_ERROR(cuda::device_info());
    if (latents.size() != 5 || latents[0] != 1 || context.ndim() != 3)
      return Error("GPU DiT: expected latents [1, C, T, H, W] and context [1, L, text_dim]");
    FW_ASSIGN_OR_RETURN(WanDitConfig config, WanDitConfig::load(dir + "/config.json"));
    FW_ASSIGN_OR_RETURN(WeightStore store, WeightStore::open(dir));
    auto ctx = cuda::DeviceContext::create();
    FW_ASSIGN_OR_RETURN(cuda::DitWeights weights, cuda::upload_dit_weights(*ctx, config, store));
    auto dit = std::make_shared<cuda::WanDitCuda>(std::move(ctx), config, std::move(weights));
    FW_RETURN_IF_ERROR(dit->prepare(latents[2], latents[3], latents[4], context.dim(1)));
    FW_RETURN_IF_ERROR(dit->set_context(context.reshape({context.dim(1), context.dim(2)})));
    return VelocityFn([dit](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
      const Tensor in = x.to_f32();
      if (in.numel() != dit->latents().numel()) return Error("GPU DiT: latent shape changed between steps");
      FW_CUDA_CHECK(cudaMemcpy(dit->latents().raw(), in.raw(), in.nbytes(), cudaMemcpyHostToDevice));
      dit->forward(step.timestep);
      return cuda::to_host(dit->velocity()).reshape(x.shape());
    });
  };
  return b;
}

Expected<VerifyReport> verify_dmd_sampler_cuda(const GoldenCase& c, const VerifyOptions&) {
  return verify_dmd_sampler_on(c, gpu_dit_backend());
}

Expected<VerifyReport> verify_unipc_sampler_cuda(const GoldenCase& c, const VerifyOptions&) {
  return verify_unipc_sampler_on(c, gpu_dit_backend());
}

}  // namespace fastwan
