// umt5_encoder golden case through the GPU encoder (bf16); the token embedding rows come from the host model.
#include "cuda/context.h"
#include "cuda/device.h"
#include "models/umt5/cuda/umt5_cuda.h"
#include "models/umt5/encoder.h"
#include "verify/cuda/cuda_verifiers.h"
#include "verify/verifiers.h"

namespace fastwan {

Expected<VerifyReport> verify_umt5_encoder_cuda(const GoldenCase& c, const VerifyOptions&) {
  FW_RETURN_IF_ERROR(cuda::device_info());
  FW_ASSIGN_OR_RETURN(WeightStore store, WeightStore::open(c.dir));
  Umt5Backend gpu;
  gpu.tolerance = 2e-2;
  gpu.make = [&store](const Umt5EncoderModel& model) -> Expected<Umt5Forward> {
    FW_ASSIGN_OR_RETURN(cuda::Umt5Weights weights, cuda::upload_umt5_weights(model.config(), store));
    auto encoder = std::make_shared<cuda::Umt5EncoderCuda>(cuda::DeviceContext::create(), model.config(),
                                                           std::move(weights));
    return Umt5Forward([&model, encoder](std::span<const int32_t> ids,
                                         std::span<const int32_t> mask) -> Expected<Tensor> {
      FW_ASSIGN_OR_RETURN(Tensor rows, model.embed(ids, mask));
      FW_ASSIGN_OR_RETURN(Tensor out, encoder->forward(rows, std::vector<int32_t>(mask.begin(), mask.end())));
      return cuda::to_host(out.contiguous()).to_f32();
    });
  };
  return verify_umt5_encoder_on(c, gpu);
}

}  // namespace fastwan
