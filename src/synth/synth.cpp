#include "synth/synth.h"

#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "models/taehv/parameters.h"
#include "models/umt5/parameters.h"
#include "models/wan_dit/parameters.h"
#include "models/wan_vae/parameters.h"
#include "synth/golden_spiece.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

Status write_file(const fs::path& path, std::string_view bytes) {
  const fs::path tmp = path.string() + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Error(path.string() + ": cannot write");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error(path.string() + ": cannot write: " + ec.message());
  return Status::Ok();
}

Status write_json(const fs::path& path, const nlohmann::json& j) {
  return write_file(path, j.dump(2) + "\n");
}

Status make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(dir.string() + ": cannot create folder: " + ec.message());
  return Status::Ok();
}

// model_index.json and scheduler/scheduler_config.json as diffusers writes them for
// Wan-AI/Wan2.1-T2V-1.3B-Diffusers (json.dumps(indent=2, sort_keys=True)).
Status write_pipeline_files(const fs::path& dir) {
  const nlohmann::json index = {{"_class_name", "WanPipeline"},
                                {"_diffusers_version", "0.33.0.dev0"},
                                {"scheduler", {"diffusers", "UniPCMultistepScheduler"}},
                                {"text_encoder", {"transformers", "UMT5EncoderModel"}},
                                {"tokenizer", {"transformers", "T5TokenizerFast"}},
                                {"transformer", {"diffusers", "WanTransformer3DModel"}},
                                {"vae", {"diffusers", "AutoencoderKLWan"}}};
  const nlohmann::json scheduler = {{"_class_name", "UniPCMultistepScheduler"},
                                    {"_diffusers_version", "0.33.0.dev0"},
                                    {"beta_end", 0.02},
                                    {"beta_schedule", "linear"},
                                    {"beta_start", 0.0001},
                                    {"disable_corrector", nlohmann::json::array()},
                                    {"dynamic_thresholding_ratio", 0.995},
                                    {"final_sigmas_type", "zero"},
                                    {"flow_shift", 3.0},
                                    {"lower_order_final", true},
                                    {"num_train_timesteps", 1000},
                                    {"predict_x0", true},
                                    {"prediction_type", "flow_prediction"},
                                    {"rescale_betas_zero_snr", false},
                                    {"sample_max_value", 1.0},
                                    {"solver_order", 2},
                                    {"solver_p", nullptr},
                                    {"solver_type", "bh2"},
                                    {"steps_offset", 0},
                                    {"thresholding", false},
                                    {"timestep_spacing", "linspace"},
                                    {"trained_betas", nullptr},
                                    {"use_beta_sigmas", false},
                                    {"use_exponential_sigmas", false},
                                    {"use_flow_sigmas", true},
                                    {"use_karras_sigmas", false}};
  FW_RETURN_IF_ERROR(make_dir(dir / "scheduler"));
  FW_RETURN_IF_ERROR(write_json(dir / "scheduler" / "scheduler_config.json", scheduler));
  return write_json(dir / "model_index.json", index);
}

// A model card like the ones Hugging Face downloads include: it names the checkpoint this folder stands in
// for, which is the strongest evidence of the family (pipeline/model_defaults.h).
std::string model_card(ModelFamily family) {
  if (family == ModelFamily::fastwan_qad)
    return "---\nbase_model: Wan-AI/Wan2.1-T2V-1.3B-Diffusers\n---\n"
           "# FastWan-QAD-FP8-1.3B (synthetic)\n\n"
           "Written by `fastwan synth`: random weights in the layout of FastVideo/FastWan-QAD-FP8-1.3B with "
           "the\n"
           "base model's components beside its transformer. `fastwan generate` runs it with the FastWan-QAD\n"
           "defaults: DMD at timesteps 1000, 757, 522, no guidance, TAEHV decoder.\n";
  return "# Wan2.1-T2V-1.3B (synthetic)\n\n"
         "Written by `fastwan synth`: random weights in the layout of Wan-AI/Wan2.1-T2V-1.3B-Diffusers.\n"
         "`fastwan generate` runs it with the Wan2.1 defaults: UniPC, 50 steps, guidance 5, Wan VAE.\n";
}

Status check_out_dir(const SynthOptions& o) {
  if (o.out_dir.empty()) return Error("--out: an output folder is required");
  std::error_code ec;
  if (!fs::exists(o.out_dir, ec)) return Status::Ok();
  if (!fs::is_directory(o.out_dir, ec)) return Error("--out " + o.out_dir + ": exists and is not a folder");
  if (!o.force && !fs::is_empty(o.out_dir, ec))
    return Error("--out " + o.out_dir + ": the folder is not empty (pass --force to write into it)");
  return Status::Ok();
}

}  // namespace

Expected<SynthPreset> parse_synth_preset(const std::string& name) {
  if (name == "tiny") return SynthPreset::tiny;
  if (name == "wan2.1-1.3b") return SynthPreset::wan21_1_3b;
  return Error("--preset: unknown preset '" + name + "' (expected tiny or wan2.1-1.3b)");
}

Status synthesize_transformer(const std::string& dir, SynthPreset preset, uint64_t seed) {
  const fs::path d = fs::path(dir) / "transformer";
  FW_RETURN_IF_ERROR(make_dir(d));
  const WanDitConfig config = preset == SynthPreset::tiny ? WanDitConfig::tiny() : WanDitConfig::wan21_1_3b();
  const auto specs = wan_dit_parameters(config);
  log_info("synth: transformer/ (" + std::to_string(specs.size()) + " tensors, " +
           std::to_string(count_parameters(specs)) + " parameters, bf16)");
  FW_RETURN_IF_ERROR(write_json(d / "config.json", config.to_json()));
  return write_random_safetensors((d / "diffusion_pytorch_model.safetensors").string(), specs, DType::bf16,
                                  seed);
}

Status synthesize_vae(const std::string& dir, SynthPreset preset, uint64_t seed) {
  const fs::path d = fs::path(dir) / "vae";
  FW_RETURN_IF_ERROR(make_dir(d));
  const WanVaeConfig config = preset == SynthPreset::tiny ? WanVaeConfig::tiny() : WanVaeConfig::wan21();
  const auto specs = wan_vae_parameters(config);
  log_info("synth: vae/ (" + std::to_string(specs.size()) + " tensors, " +
           std::to_string(count_parameters(specs)) + " parameters, f32)");
  FW_RETURN_IF_ERROR(write_json(d / "config.json", config.to_json()));
  return write_random_safetensors((d / "diffusion_pytorch_model.safetensors").string(), specs, DType::f32,
                                  seed);
}

Status synthesize_taehv(const std::string& path, uint64_t seed) {
  const auto specs = taehv_parameters(TaehvConfig::taew2_1());
  log_info("synth: " + fs::path(path).filename().string() + " (" + std::to_string(specs.size()) +
           " tensors, " + std::to_string(count_parameters(specs)) + " parameters, f16)");
  return write_random_safetensors(path, specs, DType::f16, seed);
}

Status synthesize_text_encoder(const std::string& dir, SynthPreset preset, uint64_t seed) {
  const fs::path te = fs::path(dir) / "text_encoder", tok = fs::path(dir) / "tokenizer";
  FW_RETURN_IF_ERROR(make_dir(te));
  FW_RETURN_IF_ERROR(make_dir(tok));
  const bool tiny = preset == SynthPreset::tiny;
  const Umt5Config config = tiny ? Umt5Config::tiny() : Umt5Config::umt5_xxl();
  // Shard sizes that give the published layouts: model-0000N-of-00005 for UMT5-XXL (11.4 GB in bf16),
  // two shards for the tiny model (like the golden umt5_tiny).
  const uint64_t shard_bytes = tiny ? 150'000 : 2'500'000'000;
  const auto specs = umt5_encoder_parameters(config);
  log_info("synth: text_encoder/ (" + std::to_string(specs.size()) + " tensors, " +
           std::to_string(count_parameters(specs)) + " parameters, bf16)");
  FW_RETURN_IF_ERROR(write_json(te / "config.json", config.to_json()));
  FW_RETURN_IF_ERROR(write_random_sharded(te.string(), "model", specs, DType::bf16, seed, shard_bytes));
  FW_RETURN_IF_ERROR(write_file(tok / "spiece.model", golden_spiece_model()));
  return write_file(
      tok / "README.md",
      "spiece.model here is fastwan's small test tokenizer (tests/data/golden/umt5_tokenizer), not\n"
      "UMT5's 256k-piece model: its ids fit text_encoder/config.json's vocab_size, but prompts are\n"
      "split differently than with the real tokenizer. Replace it with the published\n"
      "tokenizer/spiece.model to tokenize like Wan.\n");
}

Status synthesize_model(const SynthOptions& o) {
  FW_RETURN_IF_ERROR(check_out_dir(o));
  FW_RETURN_IF_ERROR(make_dir(o.out_dir));
  FW_RETURN_IF_ERROR(write_file(fs::path(o.out_dir) / "README.md", model_card(o.family)));
  FW_RETURN_IF_ERROR(synthesize_transformer(o.out_dir, o.preset, o.seed));
  FW_RETURN_IF_ERROR(synthesize_text_encoder(o.out_dir, o.preset, o.seed));
  FW_RETURN_IF_ERROR(synthesize_vae(o.out_dir, o.preset, o.seed));
  FW_RETURN_IF_ERROR(synthesize_taehv((fs::path(o.out_dir) / "taew2_1.safetensors").string(), o.seed));
  // Last, so that a folder with model_index.json is complete.
  return write_pipeline_files(o.out_dir);
}

}  // namespace fastwan
