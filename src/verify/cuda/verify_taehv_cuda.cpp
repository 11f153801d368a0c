// taehv_decoder golden case through the GPU decoder (fp16, cuDNN): the parallel schedule (all latent frames
// in one chunk) and the streaming one (one latent frame per chunk), against the reference and each other.
#include <vector>

#include "models/taehv/cuda/taehv_cuda.h"
#include "ops/ops.h"
#include "verify/cuda/cuda_verifiers.h"

namespace fastwan {

Expected<VerifyReport> verify_taehv_cuda(const GoldenCase& c, const VerifyOptions&) {
  FW_ASSIGN_OR_RETURN(TaehvConfig config, TaehvConfig::load(c.path("config.json")));
  FW_ASSIGN_OR_RETURN(TaehvDecoder cpu, TaehvDecoder::load(c.path("taew2_1.safetensors"), config));
  FW_ASSIGN_OR_RETURN(cuda::TaehvDecoderCuda gpu,
                      cuda::TaehvDecoderCuda::create(cpu, cuda::DeviceContext::create()));
  FW_ASSIGN_OR_RETURN(Tensor latents, c.tensor("latents"));  // [1, T, C, H, W]
  FW_ASSIGN_OR_RETURN(Tensor expected, c.tensor("frames"));  // [1, 4T - 3, 3, 8H, 8W]
  if (latents.ndim() != 5 || latents.dim(0) != 1)
    return Error("taehv_decoder: io latents must be [1, T, C, H, W], found " + latents.describe());
  const Tensor bcthw = latents.permute({0, 2, 1, 3, 4}).contiguous();

  auto run = [&](int chunk) -> Expected<Tensor> {
    gpu.set_chunk(chunk);
    std::vector<Tensor> frames;
    FW_RETURN_IF_ERROR(gpu.decode(bcthw, [&](const Tensor& f) {
      frames.push_back(f.reshape({1, f.dim(0), f.dim(1), f.dim(2)}));
      return Status::Ok();
    }));
    if (frames.empty()) return Error("taehv_decoder: the GPU decoder produced no frames");
    return ops::concat(frames, 0);
  };
  FW_ASSIGN_OR_RETURN(Tensor parallel, run(0));
  FW_ASSIGN_OR_RETURN(Tensor streaming, run(1));
  // fp16 activations: 2e-2 of the [0, 1] frame range, the README's bound for the GPU path.
  constexpr double kTolerance = 2e-2;
  VerifyReport report;
  report.compare("frames (parallel)", parallel, expected, kTolerance, Metric::max_abs);
  report.compare("frames (streaming)", streaming, expected, kTolerance, Metric::max_abs);
  report.compare("streaming vs parallel", streaming, parallel, kTolerance, Metric::max_abs);
  return report;
}

}  // namespace fastwan
