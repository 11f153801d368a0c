// One verifier per golden component.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "sampler/sampler.h"
#include "verify/golden_case.h"

namespace fastwan {

// The DiT a sampler case runs: the velocity function of the DiT folder `dit_dir` for a text context
// [1, L, text_dim], and the tolerance its outputs are held to (CPU fp32: 1e-4; GPU bf16: 2e-2).
struct DitBackend {
  std::function<Expected<VelocityFn>(const std::string& dit_dir, const Tensor& context, const Shape& latents)>
      make;
  double tolerance = 1e-4;
};
DitBackend cpu_dit_backend();

// The UMT5 encoder a umt5_encoder case runs, built on the loaded CPU model (its embedding table and config):
// forward(ids, mask) -> last_hidden_state f32 [S, d_model]; tolerance as for DitBackend.
class Umt5EncoderModel;
using Umt5Forward = std::function<Expected<Tensor>(std::span<const int32_t>, std::span<const int32_t>)>;
struct Umt5Backend {
  std::function<Expected<Umt5Forward>(const Umt5EncoderModel& model)> make;
  double tolerance = 1e-4;
};
Expected<VerifyReport> verify_umt5_encoder_on(const GoldenCase& c, const Umt5Backend& backend);

Expected<VerifyReport> verify_dmd_sampler_on(const GoldenCase& c, const DitBackend& dit);
Expected<VerifyReport> verify_unipc_sampler_on(const GoldenCase& c, const DitBackend& dit);

Expected<VerifyReport> verify_wan_dit(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_dmd_sampler(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_unipc_sampler(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_torch_cpu_rng(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_umt5_encoder(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_umt5_tokenizer(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_taehv(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_wan_vae(const GoldenCase& c, const VerifyOptions& options);
Expected<VerifyReport> verify_attn_qat(const GoldenCase& c, const VerifyOptions& options);

}  // namespace fastwan
