// wan_vae_decoder golden case through the GPU decoder (bf16, cuDNN): the frames, mapped back from [0, 1] to
// the reference's [-1, 1], against the decoded video.
#include <vector>

#include "models/wan_vae/cuda/wan_vae_cuda.h"
#include "ops/ops.h"
#include "verify/cuda/cuda_verifiers.h"

namespace fastwan {

Expected<VerifyReport> verify_wan_vae_cuda(const GoldenCase& c, const VerifyOptions&) {
  FW_ASSIGN_OR_RETURN(WanVaeDecoder cpu, WanVaeDecoder::load(c.dir));
  FW_ASSIGN_OR_RETURN(auto gpu, cuda::WanVaeDecoderCuda::create(cpu, cuda::DeviceContext::create()));
  FW_ASSIGN_OR_RETURN(Tensor latents, c.tensor("latents"));
  FW_ASSIGN_OR_RETURN(Tensor expected, c.tensor("video"));  // [1, 3, T', H, W] in [-1, 1]
  std::vector<Tensor> frames;
  FW_RETURN_IF_ERROR(gpu->decode(latents, [&](const Tensor& f) {
    Tensor v = f.clone();
    float* p = v.f32();
    for (int64_t i = 0; i < v.numel(); ++i) p[i] = p[i] * 2.0f - 1.0f;
    frames.push_back(v.reshape({v.dim(0), 1, v.dim(1), v.dim(2)}));
    return Status::Ok();
  }));
  if (frames.empty()) return Error("wan_vae_decoder: the GPU decoder produced no frames");
  const Tensor video = ops::concat(frames, 1);
  // bf16 activations over ~15 convolutions: relative L2 is held to the GPU bound; the max relative error (one
  // pixel's worst rounding) is reported (docs/numerics.md).
  const Tensor got = video.reshape({1, video.dim(0), video.dim(1), video.dim(2), video.dim(3)});
  VerifyReport report;
  report.compare("video", got, expected, 2e-2, Metric::rel_l2);
  report.compare("video", got, expected, -1.0, Metric::max_rel);
  return report;
}

}  // namespace fastwan
