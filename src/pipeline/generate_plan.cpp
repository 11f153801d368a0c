#include "pipeline/generate_plan.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "core/log.h"

namespace fastwan {
namespace {

// Wan VAE (and TAEHV) compression: latent frames = (frames - 1) / 4 + 1, latent size = size / 8.
constexpr int64_t kTimeScale = 4, kSpaceScale = 8;
constexpr int kMaxSize = 16384;  // the video writers' limit

template <typename T, typename Parse>
Status parse_if(const std::optional<std::string>& value, std::optional<T>& out, const std::string& flag,
                Parse parse) {
  if (!value) return Status::Ok();
  auto parsed = parse(*value);
  if (!parsed) {
    const std::string& m = parsed.error().message();
    return m.starts_with("--") ? parsed.error() : parsed.error().with_context(flag);
  }
  out = *parsed;
  return Status::Ok();
}

Expected<std::vector<int64_t>> parse_timesteps(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size())
      return Error("--timesteps " + text + ": expected comma-separated integers such as 1000,757,522");
    out.push_back(v);
  }
  if (out.empty()) return Error("--timesteps: expected comma-separated integers such as 1000,757,522");
  return out;
}

Status check_size(const std::optional<int>& v, const char* flag) {
  if (!v) return Status::Ok();
  if (*v < 16 || *v > kMaxSize || *v % 16 != 0)
    return Error(std::string(flag) + " " + std::to_string(*v) + ": expected a multiple of 16 from 16 to " +
                 std::to_string(kMaxSize) + " (8x VAE compression times the DiT's 2x2 patches)");
  return Status::Ok();
}

Status check_numbers(const GenerateFlags& f) {
  FW_RETURN_IF_ERROR(check_size(f.width, "-W/--width"));
  FW_RETURN_IF_ERROR(check_size(f.height, "-H/--height"));
  if (f.frames && (*f.frames < 1 || (*f.frames - 1) % kTimeScale != 0))
    return Error(
        "--frames " + std::to_string(*f.frames) +
        ": expected 4n+1 frames (1, 5, 9, ..., 81): the VAE packs 4 frames per latent after the first");
  if (f.steps && *f.steps < 1) return Error("--steps " + std::to_string(*f.steps) + ": expected at least 1");
  if (f.cfg_scale && (!std::isfinite(*f.cfg_scale) || *f.cfg_scale < 0))
    return Error("--cfg-scale " + std::to_string(*f.cfg_scale) + ": expected a finite value >= 0 (1 = off)");
  if (f.flow_shift && (!std::isfinite(*f.flow_shift) || *f.flow_shift <= 0))
    return Error("--flow-shift " + std::to_string(*f.flow_shift) + ": expected a finite value > 0");
  return Status::Ok();
}

Expected<SamplerConfig> sampler_config(const GenerateFlags& f, ModelFamily family, SamplerKind kind,
                                       std::optional<double> scheduler_shift) {
  SamplerConfig c = family_sampler_config(family, kind, scheduler_shift);
  if (f.timesteps) {
    if (kind != SamplerKind::dmd)
      return Error("--timesteps: only used with --sampler dmd (" + std::string(sampler_kind_name(kind)) +
                   " takes --steps)");
    FW_ASSIGN_OR_RETURN(c.dmd_timesteps, parse_timesteps(*f.timesteps));
  }
  if (f.steps) {
    if (kind == SamplerKind::dmd && static_cast<size_t>(*f.steps) != c.dmd_timesteps.size())
      return Error("--steps " + std::to_string(*f.steps) + ": the dmd sampler runs one step per timestep (" +
                   std::to_string(c.dmd_timesteps.size()) + " now); choose them with --timesteps");
    c.steps = *f.steps;
  }
  if (f.cfg_scale) c.cfg_scale = *f.cfg_scale;
  if (f.flow_shift) c.flow_shift = *f.flow_shift;
  auto schedule = make_schedule(c);
  if (!schedule) return schedule.error().with_context("--sampler " + std::string(sampler_kind_name(kind)));
  return c;
}

const char* rng_name(RngKind rng) {
  return rng == RngKind::philox ? "philox" : "torch";
}

const char* decoder_name(DecoderKind decoder) {
  return decoder == DecoderKind::taehv ? "taehv" : "wan-vae";
}

// std::random_device is the OS's entropy (getrandom), so two runs in the same second differ.
uint64_t draw_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) | device();
}

// A prompt per line; blank lines (and a Windows line end's '\r') are skipped.
std::optional<std::string> prompt_of_line(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.find_first_not_of(" \t") == std::string::npos) return std::nullopt;
  return line;
}

Status read_prompts(const GenerateFlags& f, GeneratePlan& p) {
  p.prompts = f.prompts;
  if (f.prompts_file == "-") {
    p.prompt_stream = &std::cin;
  } else if (!f.prompts_file.empty()) {
    std::ifstream in(f.prompts_file);
    if (!in || std::filesystem::is_directory(f.prompts_file))
      return Error("--prompts-file " + f.prompts_file +
                   ": cannot read it (expected a text file, one prompt per line, or - for stdin)");
    const size_t given = p.prompts.size();
    for (std::string line; std::getline(in, line);)
      if (auto prompt = prompt_of_line(line)) p.prompts.push_back(*prompt);
    if (in.bad()) return Error("--prompts-file " + f.prompts_file + ": read error");
    if (p.prompts.size() == given)
      return Error("--prompts-file " + f.prompts_file + ": no prompts in it (expected one per line)");
  }
  if (p.prompts.empty() && !p.prompt_stream)
    return Error("-p/--prompt: a prompt is required (or --prompts-file FILE, one per line)");
  p.keep_text_encoder = f.keep_text_encoder;
  return Status::Ok();
}

}  // namespace

std::optional<std::string> next_streamed_prompt(std::istream& in) {
  for (std::string line; std::getline(in, line);)
    if (auto prompt = prompt_of_line(line)) return prompt;
  return std::nullopt;
}

// out.mp4 -> out-2.mp4 when there are several videos.
std::string GeneratePlan::numbered(const std::string& file, int n) const {
  if (!numbered_outputs()) return file;
  const std::filesystem::path path(file);
  return (path.parent_path() / path.stem()).string() + "-" + std::to_string(n) + path.extension().string();
}

VideoOutput GeneratePlan::output_for(int n) const {
  VideoOutput o = output;
  o.options.path = numbered(o.options.path, n);
  return o;
}

std::string GeneratePlan::latents_for(int n) const {
  return numbered(save_latents, n);
}

Shape GeneratePlan::latent_shape() const {
  return {1, model.dit.in_channels, (frames - 1) / kTimeScale + 1, height / kSpaceScale, width / kSpaceScale};
}

std::string GeneratePlan::describe() const {
  std::ostringstream os;
  os << model_family_name(family) << " (" << model_variant_name(variant) << ": " << family_reason << "), "
     << sampler_kind_name(sampler.kind) << ", ";
  if (sampler.kind == SamplerKind::dmd) {
    os << sampler.dmd_timesteps.size() << " steps (timesteps";
    for (size_t i = 0; i < sampler.dmd_timesteps.size(); ++i)
      os << (i ? ", " : " ") << sampler.dmd_timesteps[i];
    os << ")";
  } else {
    os << sampler.steps << " steps";
  }
  os << ", flow shift " << sampler.flow_shift << ", ";
  if (sampler.cfg_scale == 1.0)
    os << "guidance off";
  else
    os << "guidance " << sampler.cfg_scale;
  os << ", seed " << seed << " (" << (random_seed ? "random, " : "") << rng_name(rng) << "), " << width << "x"
     << height << ", " << frames << " frames at " << output.options.fps << " fps, " << decoder_name(decoder)
     << " decoder, " << modes.describe();
  return os.str();
}

nlohmann::json GeneratePlan::settings_json() const {
  nlohmann::json j = {
      {"model", model.model_dir},
      {"family", model_family_name(family)},
      {"variant", model_variant_name(variant)},
      {"family_reason", family_reason},
      {"negative_prompt", negative_prompt},
      {"sampler", sampler_kind_name(sampler.kind)},
      {"steps", sampler.kind == SamplerKind::dmd ? static_cast<int64_t>(sampler.dmd_timesteps.size())
                                                 : static_cast<int64_t>(sampler.steps)},
      {"cfg_scale", sampler.cfg_scale},
      {"flow_shift", sampler.flow_shift},
      {"seed", seed},
      {"rng", rng_name(rng)},
      {"width", width},
      {"height", height},
      {"frames", frames},
      {"fps", output.options.fps},
      {"decoder", decoder_name(decoder)},
      {"device", device.device == Device::cuda ? "cuda" : "cpu"}};
  if (!family_ambiguity.empty()) j["family_warning"] = family_ambiguity;
  if (!model.base_dir.empty()) j["base"] = model.base_dir;
  if (sampler.kind == SamplerKind::dmd) j["timesteps"] = sampler.dmd_timesteps;
  if (decoder == DecoderKind::taehv) j["taehv"] = model.taehv;
  return j;
}

VideoMetadata GeneratePlan::metadata_for(const std::string& prompt) const {
  nlohmann::json settings = settings_json();
  settings["prompt"] = prompt;
  settings["software"] = software;
  return {{"prompt", prompt}, {"negative_prompt", negative_prompt}, {"fastwan", settings.dump()}};
}

Expected<GeneratePlan> plan_generation(const GenerateFlags& f) {
  std::optional<SamplerKind> sampler;
  std::optional<DecoderKind> decoder;
  std::optional<RngKind> rng;
  std::optional<Device> device;
  std::optional<ModelFamily> family;
  std::optional<VideoFormat> format;
  std::optional<quant::LinearMode> linear;
  std::optional<quant::AttentionMode> attention;
  std::optional<quant::KernelChoice> kernels;
  FW_RETURN_IF_ERROR(
      parse_if(f.sampler, sampler, "--sampler", [](const std::string& s) { return parse_sampler_kind(s); }));
  FW_RETURN_IF_ERROR(parse_if(f.decoder, decoder, "--decoder", parse_decoder_kind));
  FW_RETURN_IF_ERROR(parse_if(f.rng, rng, "--rng", [](const std::string& s) { return parse_rng_kind(s); }));
  FW_RETURN_IF_ERROR(parse_if(f.device, device, "--device", parse_device));
  FW_RETURN_IF_ERROR(parse_if(f.family, family, "--family", parse_model_family));
  FW_RETURN_IF_ERROR(parse_if(f.format, format, "--format", parse_video_format));
  FW_RETURN_IF_ERROR(parse_if(f.linear, linear, "--linear", quant::parse_linear_mode));
  FW_RETURN_IF_ERROR(parse_if(f.attention, attention, "--attention", quant::parse_attention_mode));
  FW_RETURN_IF_ERROR(parse_if(f.kernels, kernels, "--kernels", quant::parse_kernel_choice));
  FW_RETURN_IF_ERROR(check_numbers(f));

  GeneratePlan p;
  FW_RETURN_IF_ERROR(read_prompts(f, p));
  p.negative_prompt = f.negative_prompt;
  FW_ASSIGN_OR_RETURN(p.model, locate_model_folder(f.model, f.base));
  const FamilyGuess guess = detect_model_family(p.model.evidence);
  const FamilyGuess chosen = family ? choose_model_family(guess, *family) : guess;
  p.family = chosen.family;
  p.variant = chosen.variant;
  p.family_reason = chosen.reason;
  p.family_ambiguity = chosen.ambiguity;
  const FamilyDefaults d = family_defaults(p.family);
  FW_ASSIGN_OR_RETURN(p.device, choose_device(device));
  const quant::KernelChoice kernel_choice = kernels.value_or(quant::KernelChoice::automatic);
  const ModesGuess modes = default_model_options(p.variant, p.device.note, [&](quant::ModelOptions o) {
    o.kernels = kernel_choice;
    return p.device.backend.runs(o);
  });
  p.modes = modes.options;
  p.modes.kernels = kernel_choice;
  p.modes_reason = modes.reason;
  if (linear) p.modes.linear = *linear;
  if (attention) p.modes.attention = *attention;
  if (linear || attention) p.modes_reason = "set on the command line";
  p.decoder = decoder.value_or(d.decoder);
  if (!f.taehv.empty() && p.decoder != DecoderKind::taehv)
    return Error(decoder ? "--taehv: only used with --decoder taehv, not with --decoder wan-vae"
                         : "--taehv: only used with --decoder taehv; this model's default decoder is wan-vae "
                           "(add --decoder taehv)");
  const ComponentRequest components{f.taehv, p.decoder == DecoderKind::wan_vae,
                                    p.decoder == DecoderKind::taehv};
  FW_RETURN_IF_ERROR(find_components(p.model, components, {f.text_encoder, f.vae, f.tokenizer}));
  for (const auto& text : f.loras) {
    FW_ASSIGN_OR_RETURN(LoraSpec spec, parse_lora_spec(text));
    p.model.loras.push_back(spec);
  }
  if (!p.model.loras.empty()) {
    // Matches every LoRA against the transformer now (headers only), so a bad one fails before any work.
    FW_ASSIGN_OR_RETURN(WeightStore checked, open_transformer_weights(p.model));
    (void)checked;
  }

  p.width = f.width.value_or(d.width);
  p.height = f.height.value_or(d.height);
  p.frames = f.frames.value_or(d.frames);
  const auto& patch = p.model.dit.patch_size;
  const Shape latent = p.latent_shape();
  if (latent[2] % patch[0] || latent[3] % patch[1] || latent[4] % patch[2])
    return Error("latents " + shape_string(latent) + " for " + std::to_string(p.width) + "x" +
                 std::to_string(p.height) + ", " + std::to_string(p.frames) +
                 " frames do not divide into the transformer's patches (" + p.model.transformer_config + ")");
  FW_ASSIGN_OR_RETURN(p.sampler,
                      sampler_config(f, p.family, sampler.value_or(d.sampler), p.model.flow_shift));
  p.noise_layout = p.sampler.kind == SamplerKind::dmd ? NoiseLayout::btchw : NoiseLayout::bcthw;
  p.random_seed = !f.seed;
  p.seed = f.seed ? *f.seed : draw_seed();
  p.rng = rng.value_or(RngKind::philox);
  if (!f.negative_prompt.empty() && p.sampler.cfg_scale == 1.0)
    log_warn("-n/--negative-prompt is not used: guidance is off (--cfg-scale 1)");

  FW_ASSIGN_OR_RETURN(
      p.output, check_video_output(
                    {f.output, format, f.fps.value_or(d.fps), f.crf.value_or(VideoOutputOptions().crf), {}}));
  if (p.numbered_outputs() && p.output.format == VideoFormat::png)
    return Error("-o " + f.output + ": PNG frames take one prompt; for several give a file such as out.mp4 " +
                 "(written as out-1.mp4, out-2.mp4, ...)");
  if (p.numbered_outputs() && f.output == "-")
    return Error("-o -: stdout takes one video; for several prompts give a file such as out.y4m");
  if (!f.save_latents.empty()) {
    std::error_code ec;
    const std::filesystem::path folder = std::filesystem::path(f.save_latents).parent_path();
    if (!folder.empty() && !std::filesystem::is_directory(folder, ec))
      return Error("--save-latents " + f.save_latents + ": folder " + folder.string() + " does not exist");
    p.save_latents = f.save_latents;
  }
  return p;
}

}  // namespace fastwan
