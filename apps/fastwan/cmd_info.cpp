#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "io/checkpoint_info.h"
#include "io/hf_cache.h"
#include "pipeline/backend.h"
#include "pipeline/model_folder.h"
#include "video/metadata.h"

namespace fastwan::cli {
namespace {

namespace fs = std::filesystem;

// Files fastwan does not load, told apart by their first bytes: a user's next question is what they are.
// (GGUF files are checkpoints fastwan reads: describe_checkpoint names their layout.)
std::optional<std::string> describe_by_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(16, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  // torch.save writes a zip archive (data.pkl inside) since PyTorch 1.6, a bare pickle before.
  const bool zip = head.starts_with("PK\x03\x04");
  const bool pickle =
      head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x80 && head[1] >= 2 && head[1] <= 5;
  if (zip || pickle)
    return std::string("format: PyTorch pickle checkpoint (torch.save, ") +
           (zip ? "zip archive" : "bare pickle") +
           "); fastwan does not unpickle (a pickle can run code): use the safetensors file (for TAEHV: "
           "safetensors/taew2_1.safetensors in github.com/madebyollin/taehv)\n";
  return std::nullopt;
}

bool is_video_file(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  return ext == ".mp4" || ext == ".png" || ext == ".MP4" || ext == ".PNG";
}

Expected<std::string> describe_video(const std::string& path) {
  FW_ASSIGN_OR_RETURN(VideoMetadata metadata, read_video_metadata(path));
  std::string out = "path: " + path + "\n";
  bool ours = false;
  for (const auto& [key, value] : metadata) {
    out += key + ": " + value + "\n";
    ours = ours || key == "fastwan";
  }
  out += ours ? "rerun: fastwan generate --from " + path + "\n"
              : "(no fastwan settings in its metadata: not written by fastwan generate)\n";
  return out;
}

// What `fastwan generate --model DIR` would run with, and whether this machine can.
std::string describe_generate_defaults(const std::string& dir) {
  auto folder = locate_model_folder(dir, "");
  if (!folder) return "";
  const FamilyGuess guess = detect_model_family(folder->evidence);
  std::ostringstream os;
  os << "family: " << model_family_name(guess.family) << " (" << model_variant_name(guess.variant) << ": "
     << guess.reason << ")\n";
  if (!guess.ambiguity.empty()) os << "warning: " << guess.ambiguity << "\n";
  const FamilyDefaults d = family_defaults(guess.family);
  const SamplerConfig s = family_sampler_config(guess.family, d.sampler, std::nullopt);
  os << "generate defaults: " << sampler_kind_name(s.kind) << ", "
     << (s.kind == SamplerKind::dmd ? s.dmd_timesteps.size() : static_cast<size_t>(s.steps)) << " steps, ";
  if (s.cfg_scale == 1.0)
    os << "guidance off";
  else
    os << "guidance " << s.cfg_scale;
  os << ", " << d.width << "x" << d.height << ", " << d.frames << " frames at " << d.fps << " fps, "
     << (d.decoder == DecoderKind::taehv ? "taehv" : "wan-vae") << " decoder\n";
  std::error_code ec;
  const fs::path taehv = fs::path(dir) / "taew2_1.safetensors";
  os << "taehv: "
     << (fs::is_regular_file(taehv, ec)
             ? taehv.string()
             : "none in this folder (generate takes --taehv FILE or the --base folder's)")
     << "\n";
  auto device = choose_device(std::nullopt);
  os << "device: " << (device ? device->note : device.error().message()) << "\n";
#ifdef FASTWAN_CUDA_BUILD
  os << "gpu code: " << FASTWAN_CUDA_BUILD << "\n";
#endif
  return os.str();
}

}  // namespace

Command add_info(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "info", "Print what a checkpoint, model folder, Hugging Face id or fastwan video holds");
  auto path = std::make_shared<std::string>();
  auto options = std::make_shared<InfoOptions>();
  sub->add_option(
         "PATH", *path,
         "A .safetensors file, an index json, a component or diffusers folder, ORG/NAME in the Hugging "
         "Face cache, or an MP4 / PNG written by fastwan generate")
      ->required();
  sub->add_flag("--tensors", options->list_tensors, "List every tensor with its dtype and shape");
  return {sub, [=] {
            std::error_code ec;
            std::string where = *path;
            std::string header;
            if (!fs::exists(where, ec) && is_hf_repo_id(where)) {
              auto snapshot = resolve_model_location(where, "info");
              if (!snapshot) return fail(snapshot.error().message());
              header = "hugging face id: " + where + " (cache snapshot " + *snapshot + ")\n";
              where = *snapshot;
            }
            if (fs::is_regular_file(where, ec)) {
              if (auto kind = describe_by_magic(where)) {
                std::printf("path: %s\n%s", where.c_str(), kind->c_str());
                return 0;
              }
              if (is_video_file(where)) {
                auto report = describe_video(where);
                if (!report) return fail(report.error().message());
                std::fputs(report->c_str(), stdout);
                return 0;
              }
            }
            // A FastWan-QAD-style repository without model_index.json: its transformer is the model.
            const fs::path transformer = fs::path(where) / "transformer";
            const bool overlay = fs::is_directory(transformer, ec) &&
                                 !fs::exists(fs::path(where) / "model_index.json", ec) &&
                                 !fs::exists(fs::path(where) / "config.json", ec);
            auto report = describe_checkpoint(overlay ? transformer.string() : where, *options);
            if (!report) return fail(report.error().message());
            if (overlay)
              header +=
                  "layout: a transformer without the other components (run it over a base: generate --base "
                  "Wan-AI/Wan2.1-T2V-1.3B-Diffusers)\n";
            std::fputs((header + *report).c_str(), stdout);
            if (fs::is_directory(fs::path(where) / "transformer", ec))
              std::fputs(describe_generate_defaults(where).c_str(), stdout);
            return 0;
          }};
}

}  // namespace fastwan::cli
