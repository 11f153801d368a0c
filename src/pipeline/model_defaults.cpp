#include "pipeline/model_defaults.h"

#include <algorithm>
#include <cctype>

namespace fastwan {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

Expected<ModelFamily> parse_model_family(const std::string& name) {
  if (name == "fastwan-qad") return ModelFamily::fastwan_qad;
  if (name == "wan2.1") return ModelFamily::wan21;
  return Error("--family: unknown model family '" + name + "' (expected fastwan-qad or wan2.1)");
}

std::string_view model_family_name(ModelFamily family) {
  return family == ModelFamily::fastwan_qad ? "fastwan-qad" : "wan2.1";
}

FamilyGuess detect_model_family(const std::string& name, const std::string& pipeline_class) {
  if (lower(name).find("fastwan-qad") != std::string::npos)
    return {ModelFamily::fastwan_qad, "the name " + name + " contains FastWan-QAD"};
  if (pipeline_class == "WanDMDPipeline")
    return {ModelFamily::fastwan_qad, "model_index.json names WanDMDPipeline"};
  return {ModelFamily::wan21,
          "the name " + name + " does not contain FastWan-QAD" +
              (pipeline_class.empty() ? "" : " and model_index.json names " + pipeline_class)};
}

FamilyDefaults family_defaults(ModelFamily family) {
  FamilyDefaults d;
  if (family == ModelFamily::fastwan_qad) {
    d.sampler = SamplerKind::dmd;
    d.decoder = DecoderKind::taehv;
  }
  return d;
}

ModesGuess default_model_options(ModelFamily family, const std::string& name, std::string_view device,
                                 const std::function<bool(const quant::ModelOptions&)>& runs) {
  using quant::AttentionMode, quant::LinearMode;
  if (family != ModelFamily::fastwan_qad) return {{}, "Wan2.1 runs in bf16"};
  const std::string n = lower(name);
  quant::ModelOptions trained{LinearMode::nvfp4, AttentionMode::fp4};
  std::string checkpoint = "FastWan-QAD-1.3B";
  if (n.find("fp8") != std::string::npos) {
    trained = {LinearMode::fp8, AttentionMode::sage8};
    checkpoint = "FastWan-QAD-FP8";
  } else if (n.find("sa2") != std::string::npos) {
    trained.attention = AttentionMode::sage8;
    checkpoint = "FastWan-QAD-1.3B-SA2";
  }
  // A mode the device does not run falls back to bf16, the linears and the attention each on their own.
  quant::ModelOptions chosen;
  for (const quant::ModelOptions& o : {trained, quant::ModelOptions{trained.linear, AttentionMode::bf16},
                                       quant::ModelOptions{LinearMode::bf16, trained.attention}})
    if (runs(o)) {
      chosen = o;
      break;
    }
  if (chosen == trained) return {chosen, "as " + checkpoint + " was trained"};
  std::string lacking;
  if (chosen.linear != trained.linear)
    lacking = "linear " + std::string(quant::linear_mode_name(trained.linear));
  if (chosen.attention != trained.attention)
    lacking += (lacking.empty() ? "attention " : " and attention ") +
               std::string(quant::attention_mode_name(trained.attention));
  return {chosen, checkpoint + " was trained with " + trained.describe() + "; " + std::string(device) +
                      " cannot run " + lacking + " yet (--device cpu can)"};
}

SamplerConfig family_sampler_config(ModelFamily family, SamplerKind kind,
                                    std::optional<double> scheduler_shift) {
  SamplerConfig c = kind == SamplerKind::dmd ? fastwan_sampler_defaults() : wan_t2v_sampler_defaults();
  c.kind = kind;
  if (kind != SamplerKind::dmd && scheduler_shift) c.flow_shift = *scheduler_shift;
  if (family == ModelFamily::fastwan_qad) {
    c.cfg_scale = 1.0;
    // FastVideo's released examples run the students through the base UniPC for 3 steps (reference §2.1).
    if (kind != SamplerKind::dmd) c.steps = 3;
  } else {
    c.cfg_scale = wan_t2v_sampler_defaults().cfg_scale;
  }
  return c;
}

}  // namespace fastwan
