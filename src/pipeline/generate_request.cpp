#include "pipeline/generate_request.h"

#include <charconv>
#include <cmath>
#include <utility>

namespace fastwan {
namespace {

// plan_generation's errors begin with the flag; the API names its own fields.
constexpr std::pair<const char*, const char*> kFieldOfFlag[] = {
    {"-p/--prompt", "prompt"},
    {"-W/--width", "size (width)"},
    {"-H/--height", "size (height)"},
    {"--frames", "num_frames"},
    {"--fps", "fps"},
    {"--steps", "num_inference_steps"},
    {"--cfg-scale", "guidance_scale"},
    {"--flow-shift", "flow_shift"},
    {"--sampler", "sampler"},
    {"--decoder", "decoder"},
    {"--timesteps", "num_inference_steps"},
};

// Far beyond any video the model makes; keeps the arithmetic of a hostile request in range.
constexpr int kMaxFrames = 100001;

Error with_field_names(const Error& e) {
  const std::string& m = e.message();
  for (const auto& [flag, field] : kFieldOfFlag) {
    const std::string f = flag;
    if (m.starts_with(f) && (m.size() == f.size() || m[f.size()] == ' ' || m[f.size()] == ':'))
      return Error(field + m.substr(f.size()));
  }
  return e;
}

std::optional<int> parse_int(std::string_view text) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

Status parse_size(const std::string& size, GenerateFlags& f) {
  const size_t x = size.find('x');
  std::optional<int> w, h;
  if (x != std::string::npos) {
    w = parse_int(std::string_view(size).substr(0, x));
    h = parse_int(std::string_view(size).substr(x + 1));
  }
  if (!w || !h) return Error("size '" + size + "': expected WIDTHxHEIGHT such as 832x480");
  f.width = *w;
  f.height = *h;
  return Status::Ok();
}

}  // namespace

Expected<int> frames_for_seconds(double seconds, int fps) {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 3600)
    return Error("seconds " + std::to_string(seconds) + ": expected a duration above 0 (and at most 3600)");
  // 4n+1: the VAE packs 4 frames per latent after the first.
  const double frames = 4 * std::max(std::round(seconds * fps / 4.0), 0.0) + 1;
  if (frames > kMaxFrames)
    return Error("seconds " + std::to_string(seconds) + " at " + std::to_string(fps) + " fps: more than " +
                 std::to_string(kMaxFrames) + " frames");
  return static_cast<int>(frames);
}

Expected<GeneratePlan> plan_request(const GenerateRequest& r, GenerateFlags f) {
  f.prompts = {r.prompt};
  f.negative_prompt = r.negative_prompt;
  if (r.size) FW_RETURN_IF_ERROR(parse_size(*r.size, f));
  if (r.fps) f.fps = *r.fps;
  if (r.num_frames) {
    f.frames = *r.num_frames;
  } else if (r.seconds) {
    FW_ASSIGN_OR_RETURN(f.frames, frames_for_seconds(*r.seconds, r.fps.value_or(VideoOutputOptions().fps)));
  }
  if (r.num_inference_steps) f.steps = *r.num_inference_steps;
  if (r.guidance_scale) f.cfg_scale = *r.guidance_scale;
  if (r.flow_shift) f.flow_shift = *r.flow_shift;
  if (r.sampler) f.sampler = *r.sampler;
  if (r.decoder) f.decoder = *r.decoder;
  if (r.seed) f.seed = *r.seed;
  auto plan = plan_generation(f);
  if (!plan) return with_field_names(plan.error());
  return plan;
}

}  // namespace fastwan
