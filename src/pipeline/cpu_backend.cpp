// The CPU stages: the float32 reference models behind the backend interfaces.
#include "core/thread_pool.h"
#include "models/wan_dit/transformer.h"
#include "pipeline/backend.h"
#include "sampler/guidance.h"

namespace fastwan {
namespace {

class CpuTextEncoder : public TextEncoderStage {
 public:
  explicit CpuTextEncoder(WanTextEncoder encoder) : encoder_(std::move(encoder)) {}
  Expected<PromptEmbedding> encode(std::string_view prompt) override { return encoder_.encode(prompt); }

 private:
  WanTextEncoder encoder_;
};

class CpuDenoiser : public Denoiser {
 public:
  explicit CpuDenoiser(WanTransformer3DModel dit) : dit_(std::move(dit)) {}

  Expected<VelocityFn> velocity(const DenoiseRequest& r) override {
    const WanDitConfig& c = dit_.config();
    if (r.latent_shape.size() != 5 || r.latent_shape[0] != 1 || r.latent_shape[1] != c.in_channels)
      return Error("transformer: latents " + shape_string(r.latent_shape) + " do not fit, expected [1, " +
                   std::to_string(c.in_channels) + ", T, H, W]");
    auto bind = [this](const PromptEmbedding* prompt) -> VelocityFn {
      if (!prompt) return nullptr;
      const Tensor context = prompt->embeds;
      return [this, context](const Tensor& x, const SamplerStep& step) {
        return dit_.forward(x, step.timestep, context);
      };
    };
    for (const PromptEmbedding* p : {r.positive, r.negative})
      if (p && (p->embeds.ndim() != 3 || p->embeds.dim(2) != c.text_dim))
        return Error("transformer: prompt embedding " + p->embeds.describe() + " does not fit text_dim " +
                     std::to_string(c.text_dim));
    return guided_velocity(bind(r.positive), bind(r.negative), r.cfg_scale);
  }

 private:
  WanTransformer3DModel dit_;
};

}  // namespace

Backend cpu_backend() {
  Backend b;
  b.name = "cpu";
  b.probe = []() -> Expected<std::string> { return std::to_string(num_threads()) + " threads"; };
  b.runs = [](const quant::ModelOptions&) { return true; };  // every mode, as the reference of the others
  b.use_device = [](int) { return Status::Ok(); };
  b.current_device = [] { return 0; };
  b.load_text_encoder = [](const ModelFolder& f) -> Expected<std::unique_ptr<TextEncoderStage>> {
    FW_ASSIGN_OR_RETURN(WanTextEncoder e, WanTextEncoder::load(f.text_encoder, f.spiece_model));
    return std::unique_ptr<TextEncoderStage>(new CpuTextEncoder(std::move(e)));
  };
  b.load_denoiser = [](const ModelFolder& f,
                       const quant::ModelOptions& options) -> Expected<std::unique_ptr<Denoiser>> {
    FW_ASSIGN_OR_RETURN(WeightStore store, open_transformer_weights(f));
    auto dit = WanTransformer3DModel::load(f.dit, store, options);
    if (!dit) return dit.error().with_context("transformer " + f.transformer);
    return std::unique_ptr<Denoiser>(new CpuDenoiser(std::move(*dit)));
  };
  b.load_decoder = [](const ModelFolder& f, DecoderKind kind) {
    DecodeOptions o;
    o.decoder = kind;
    if (kind == DecoderKind::taehv)
      o.taehv_path = f.taehv;
    else
      o.model_dir = f.vae;
    return load_video_decoder(o);
  };
  return b;
}

}  // namespace fastwan
