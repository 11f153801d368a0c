// `fastwan generate --from FILE`: the settings kept in a video's metadata, for the flags the user left out.
#include "commands.h"
#include "pipeline/generate_plan.h"

namespace fastwan::cli {
namespace {

// Sets `target` from j[key] when the user did not give it.
template <typename T>
void fill(std::optional<T>& target, const nlohmann::json& j, const char* key) {
  if (!target && j.contains(key)) target = j[key].get<T>();
}
void fill(std::string& target, const nlohmann::json& j, const char* key) {
  if (target.empty() && j.contains(key)) target = j[key].get<std::string>();
}

}  // namespace

Status apply_rerun_settings(const std::string& file, GenerateFlags& f) {
  auto metadata = read_video_metadata(file);
  if (!metadata) return metadata.error().with_context("--from");
  const std::string what = "--from " + file;
  std::string text;
  for (const auto& [key, value] : *metadata)
    if (key == "fastwan") text = value;
  if (text.empty())
    return Error(what + ": no fastwan settings in its metadata (was it written by fastwan generate?)");
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Error(what + ": the fastwan metadata is not a JSON object");
  try {
    if (f.prompts.empty() && f.prompts_file.empty() && j.contains("prompt"))
      f.prompts.push_back(j["prompt"].get<std::string>());
    fill(f.model, j, "model");
    fill(f.base, j, "base");
    fill(f.negative_prompt, j, "negative_prompt");
    // The family only when it was chosen by --family; otherwise the folder's evidence tells it again.
    if (j.value("family_reason", "").starts_with("--family")) fill(f.family, j, "family");
    fill(f.sampler, j, "sampler");
    fill(f.decoder, j, "decoder");
    if (f.decoder == "taehv") fill(f.taehv, j, "taehv");  // it may have come from --taehv FILE
    fill(f.rng, j, "rng");
    fill(f.width, j, "width");
    fill(f.height, j, "height");
    fill(f.frames, j, "frames");
    fill(f.fps, j, "fps");
    fill(f.seed, j, "seed");
    fill(f.cfg_scale, j, "cfg_scale");
    fill(f.flow_shift, j, "flow_shift");
    // Steps belong to the sampler they were run with; another sampler (--sampler given) gets its own default.
    if (j.value("sampler", "") == f.sampler.value_or("")) {
      if (!f.timesteps && j.contains("timesteps")) {
        std::string list;
        for (const auto& t : j["timesteps"])
          list += (list.empty() ? "" : ",") + std::to_string(t.get<int64_t>());
        f.timesteps = list;
      } else if (!j.contains("timesteps")) {
        fill(f.steps, j, "steps");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(what + ": unexpected fastwan metadata (" + std::string(e.what()) + ")");
  }
  return Status::Ok();
}

}  // namespace fastwan::cli
