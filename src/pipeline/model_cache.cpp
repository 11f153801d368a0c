#include "pipeline/model_cache.h"

namespace fastwan {
namespace {

// Drops `stage` when it was loaded for another key than `key`.
template <typename Stage>
void keep_if_same(std::unique_ptr<Stage>& stage, std::string& loaded_for, const std::string& key) {
  if (loaded_for != key) stage.reset();
  loaded_for = key;
}

}  // namespace

LoadedStages& ModelCache::stages_for(const GeneratePlan& plan) {
  const std::string device = plan.device.backend.name + ":";
  keep_if_same(stages_.text, text_key_, device + plan.model.text_encoder + "|" + plan.model.spiece_model);
  keep_if_same(stages_.dit, dit_key_, device + plan.model.transformer + "|" + plan.modes.describe());
  keep_if_same(stages_.decoder, decoder_key_,
               device + (plan.decoder == DecoderKind::taehv ? plan.model.taehv : plan.model.vae));
  stages_.negative.reset();
  return stages_;
}

Status load_text_encoder(const GeneratePlan& plan, LoadedStages& s, Progress& progress) {
  if (s.text) return Status::Ok();
  progress.begin("text encoder load");
  FW_ASSIGN_OR_RETURN(s.text, plan.device.backend.load_text_encoder(plan.model));
  progress.end();
  return Status::Ok();
}

Status load_denoiser(const GeneratePlan& plan, LoadedStages& s, Progress& progress) {
  if (s.dit) return Status::Ok();
  progress.begin("transformer load");
  FW_ASSIGN_OR_RETURN(s.dit, plan.device.backend.load_denoiser(plan.model, plan.modes));
  progress.end();
  return Status::Ok();
}

DecoderLoading start_decoder_load(const GeneratePlan& plan, const LoadedStages& s) {
  const Backend& backend = plan.device.backend;
  if (s.decoder || !backend.loads_beside_denoise) return {};
  const int device = backend.current_device();
  return std::async(std::launch::async, [&plan, device]() -> Expected<std::unique_ptr<VideoDecoder>> {
    FW_RETURN_IF_ERROR(plan.device.backend.use_device(device));
    FW_ASSIGN_OR_RETURN(auto decoder, plan.device.backend.load_decoder(plan.model, plan.decoder));
    if (Status warm = decoder->warm_up(plan.latent_shape()); !warm)
      return warm.error().with_context("decoder warm-up");
    return decoder;
  });
}

Status load_decoder(const GeneratePlan& plan, LoadedStages& s, Progress& progress, DecoderLoading* loading) {
  const bool started = loading && loading->valid();
  if (s.decoder && !started) return Status::Ok();
  progress.begin("decoder load");
  FW_ASSIGN_OR_RETURN(s.decoder,
                      started ? loading->get() : plan.device.backend.load_decoder(plan.model, plan.decoder));
  progress.end();
  return Status::Ok();
}

Status ModelCache::load(const GeneratePlan& plan, Progress& progress) {
  LoadedStages& s = stages_for(plan);
  FW_RETURN_IF_ERROR(load_text_encoder(plan, s, progress));
  FW_RETURN_IF_ERROR(load_denoiser(plan, s, progress));
  return load_decoder(plan, s, progress);
}

}  // namespace fastwan
