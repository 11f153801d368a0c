#include "pipeline/model_defaults.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace fastwan {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// One piece of evidence: the model it points to, and where it was found.
struct Clue {
  ModelVariant variant;
  std::string reason;
};

// The model a text names: the first FastWan-QAD repository name in it (FastWan-QAD-FP8-1.3B,
// FastWan-QAD-1.3B-SA2, FastWan-QAD-1.3B), a student without saying which, Wan2.1, or nothing. A FastWan-QAD
// model card also names its Wan2.1 base, so FastWan-QAD wins.
std::optional<ModelVariant> variant_named_in(const std::string& text) {
  const std::string t = lower(text);
  const std::string_view qad = "fastwan-qad";
  bool student = false;
  for (size_t at = t.find(qad); at != std::string::npos; at = t.find(qad, at + 1)) {
    student = true;
    const std::string_view rest = std::string_view(t).substr(at + qad.size());
    if (rest.starts_with("-fp8")) return ModelVariant::fastwan_qad_fp8;
    if (rest.starts_with("-1.3b-sa2")) return ModelVariant::fastwan_qad_nvfp4_sa2;
    if (rest.starts_with("-1.3b")) return ModelVariant::fastwan_qad_nvfp4;
  }
  if (student) return ModelVariant::fastwan_qad;
  if (t.find("wan2.1") != std::string::npos) return ModelVariant::wan21;
  return std::nullopt;
}

// Strongest first: what the publisher wrote about the model, then names a user may have chosen.
std::vector<Clue> clues_of(const ModelEvidence& e) {
  std::vector<Clue> out;
  auto named = [&](const std::string& text, const std::string& where) {
    if (auto v = variant_named_in(text))
      out.push_back({*v, where + " mentions " + std::string(model_variant_name(*v))});
  };
  named(e.model_card, "the model card README.md");
  if (e.pipeline_class == "WanDMDPipeline")
    out.push_back({ModelVariant::fastwan_qad, "model_index.json names WanDMDPipeline"});
  named(e.transformer_origin, "transformer/config.json's _name_or_path");
  named(e.name, "the name " + e.name);
  if (e.overlay)
    out.push_back(
        {ModelVariant::fastwan_qad, "a transformer-only folder over a base (how FastWan-QAD is published)"});
  return out;
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

ModelFamily variant_family(ModelVariant variant) {
  return variant == ModelVariant::wan21 ? ModelFamily::wan21 : ModelFamily::fastwan_qad;
}

std::string_view model_variant_name(ModelVariant variant) {
  switch (variant) {
    case ModelVariant::wan21:
      return "Wan2.1-T2V-1.3B";
    case ModelVariant::fastwan_qad:
      return "FastWan-QAD";
    case ModelVariant::fastwan_qad_fp8:
      return "FastWan-QAD-FP8-1.3B";
    case ModelVariant::fastwan_qad_nvfp4_sa2:
      return "FastWan-QAD-1.3B-SA2";
    case ModelVariant::fastwan_qad_nvfp4:
      return "FastWan-QAD-1.3B";
  }
  return "?";
}

FamilyGuess detect_model_family(const ModelEvidence& e) {
  const std::vector<Clue> clues = clues_of(e);
  FamilyGuess g;
  if (clues.empty()) {
    g.reason = "nothing names the model";
    g.ambiguity =
        "model " + e.name +
        ": nothing tells its family (no model card README.md, no FastWan-QAD or Wan2.1 in its name, "
        "no WanDMDPipeline): using wan2.1 defaults; pass --family fastwan-qad or --family wan2.1";
    return g;
  }
  g.variant = clues.front().variant;
  g.family = variant_family(g.variant);
  g.reason = clues.front().reason;
  for (const Clue& c : clues) {
    const bool other_family = variant_family(c.variant) != g.family;
    const bool other_student = !other_family && c.variant != ModelVariant::fastwan_qad &&
                               g.variant != ModelVariant::fastwan_qad && c.variant != g.variant;
    if (other_family || other_student) {
      g.ambiguity = "model " + e.name + ": " + clues.front().reason + ", but " + c.reason + ": using " +
                    std::string(model_variant_name(g.variant)) + " defaults" +
                    (other_family ? "; pass --family fastwan-qad or --family wan2.1" : "");
      break;
    }
    if (g.variant == ModelVariant::fastwan_qad) g.variant = c.variant;  // a weaker clue says which student
  }
  return g;
}

FamilyGuess choose_model_family(const FamilyGuess& guess, ModelFamily family) {
  FamilyGuess g;
  g.family = family;
  g.variant = family == ModelFamily::wan21              ? ModelVariant::wan21
              : variant_family(guess.variant) == family ? guess.variant
                                                        : ModelVariant::fastwan_qad;
  g.reason = "--family " + std::string(model_family_name(family));
  return g;
}

FamilyDefaults family_defaults(ModelFamily family) {
  FamilyDefaults d;
  if (family == ModelFamily::fastwan_qad) {
    d.sampler = SamplerKind::dmd;
    d.decoder = DecoderKind::taehv;
  }
  return d;
}

ModesGuess default_model_options(ModelVariant variant, std::string_view device,
                                 const std::function<bool(const quant::ModelOptions&)>& runs) {
  using quant::AttentionMode, quant::LinearMode;
  quant::ModelOptions trained;
  switch (variant) {
    case ModelVariant::wan21:
      return {{}, "Wan2.1 runs in bf16"};
    case ModelVariant::fastwan_qad:
      return {{},
              "a FastWan-QAD student whose folder does not say which one (give --linear and --attention)"};
    case ModelVariant::fastwan_qad_fp8:
      trained = {LinearMode::fp8, AttentionMode::sage8};
      break;
    case ModelVariant::fastwan_qad_nvfp4_sa2:
      trained = {LinearMode::nvfp4, AttentionMode::sage8};
      break;
    case ModelVariant::fastwan_qad_nvfp4:
      trained = {LinearMode::nvfp4, AttentionMode::fp4};
      break;
  }
  const std::string checkpoint(model_variant_name(variant));
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
