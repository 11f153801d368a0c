#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "commands.h"
#include "core/log.h"
#include "generate_report.h"
#include "pipeline/text_to_video.h"

namespace fastwan::cli {
namespace {

// A number with nothing before or after it; unsigned values without a sign (CLI11 would wrap -1).
template <typename T>
std::optional<T> parse_number(const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  if constexpr (std::is_floating_point_v<T>) {
    char* stop = nullptr;
    value = static_cast<T>(std::strtod(text.c_str(), &stop));
    if (text.empty() || stop != end) return std::nullopt;
  } else {
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  }
  return value;
}

// Options whose default depends on the model: unset stays std::nullopt. Numbers are parsed here so that a
// bad value gives the same one-line error as every other check (the first one is kept in `error`).
struct OptionalFlags {
  CLI::App* sub;
  std::shared_ptr<std::string> error = std::make_shared<std::string>();

  template <typename T>
  void add(const std::string& names, std::optional<T>& target, const std::string& help) {
    const std::string flag = names.substr(names.rfind(',') + 1);
    auto error_ = error;
    sub->add_option_function<std::string>(
           names,
           [&target, error_, flag](const std::string& text) {
             if constexpr (std::is_same_v<T, std::string>) {
               target = text;
             } else if (auto v = parse_number<T>(text)) {
               target = *v;
             } else if (error_->empty()) {
               // A number too large for its type is said so, not "expected an integer".
               const bool digits = !text.empty() &&
                                   text.find_first_not_of("-0123456789") == std::string::npos &&
                                   !(std::is_unsigned_v<T> && text[0] == '-');
               *error_ = flag + " " + text + (digits ? ": too large for " : ": expected ") +
                         (std::is_floating_point_v<T> ? "a number"
                          : std::is_unsigned_v<T>     ? "a non-negative integer"
                                                      : "an integer");
             }
           },
           help)
        ->type_name(std::is_same_v<T, std::string> ? "TEXT"
                    : std::is_floating_point_v<T>  ? "FLOAT"
                    : std::is_unsigned_v<T>        ? "UINT"
                                                   : "INT");
  }
};

}  // namespace

Command add_generate(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "Generate a video from a text prompt");
  sub->fallthrough();  // `fastwan generate ... -v` works like `fastwan -v generate ...`
  auto f = std::make_shared<GenerateFlags>();
  OptionalFlags opt{sub};
  sub->add_option("-p,--prompt", f->prompts, "The prompt (UTF-8); repeat for several videos")
      ->allow_extra_args(false);
  sub->add_option("--prompts-file", f->prompts_file,
                  "Prompts, one per line (UTF-8); - reads stdin, a video per line as lines arrive");
  sub->add_flag("--keep-text-encoder", f->keep_text_encoder,
                "Keep the text encoder (and the DiT, the decoder) loaded between streamed prompts");
  sub->add_option("-n,--negative-prompt", f->negative_prompt, "Negative prompt (used with guidance only)");
  sub->add_option(
      "--model", f->model,
      "Model folder, ORG/NAME in the Hugging Face cache, or one transformer file (.safetensors, .gguf) "
      "(required unless --from)");
  sub->add_option("--text-encoder", f->text_encoder, "UMT5 text encoder: a single file or a folder");
  sub->add_option("--vae", f->vae, "Wan VAE: a single file (wan_2.1_vae.safetensors) or a folder");
  sub->add_option("--tokenizer", f->tokenizer, "Folder with the UMT5 spiece.model (or the file)");
  sub->add_option("--lora", f->loras, "LoRA for the transformer, FILE[:SCALE] (default scale 1); repeatable")
      ->allow_extra_args(false);
  sub->add_option("--base", f->base, "Base Wan2.1 folder or ORG/NAME for the components the model lacks");
  sub->add_option("-o,--output", f->output,
                  "out.mp4 (default), out.y4m, a folder / frame_%05d.png, or - (Y4M on stdout)");
  opt.add("-W,--width", f->width, "Width, a multiple of 16 (default 832)");
  opt.add("-H,--height", f->height, "Height, a multiple of 16 (default 480)");
  opt.add("--frames", f->frames, "Frames, 4n+1 (default 81)");
  opt.add("--fps", f->fps, "Frames per second of the file (default 16)");
  opt.add("--crf", f->crf, "MP4 quality, x264 CRF 0 (lossless) .. 51 (default 18)");
  opt.add("--steps", f->steps, "Sampling steps (default: 3 for FastWan-QAD, 50 for Wan2.1)");
  opt.add("--sampler", f->sampler, "dmd, unipc or euler (default: dmd for FastWan-QAD, else unipc)");
  opt.add("--timesteps", f->timesteps, "dmd timesteps, comma-separated (default 1000,757,522)");
  opt.add("--cfg-scale", f->cfg_scale, "Guidance scale, 1 = off (default: 1 FastWan-QAD, 5 Wan2.1)");
  opt.add("--flow-shift", f->flow_shift, "Flow shift (default: 8 for dmd, else 3 or the scheduler's)");
  sub->add_option_function<std::string>(
         "-s,--seed",
         [f, error = opt.error](const std::string& text) {
           if (text == "-1") {
             f->seed.reset();
           } else if (auto v = parse_number<uint64_t>(text)) {
             f->seed = *v;
           } else if (error->empty()) {
             *error =
                 "-s/--seed " + text + ": expected -1 (random) or an integer from 0 to 18446744073709551615";
           }
         },
         "Seed, 0 to 2^64-1; -1 (default) draws a random one, printed with the settings")
      ->type_name("INT");
  opt.add("--rng", f->rng, "philox (default) or torch (PyTorch's CPU generator, bit-exact)");
  opt.add("--decoder", f->decoder, "taehv or wan-vae (default: taehv for FastWan-QAD, else wan-vae)");
  sub->add_option("--taehv", f->taehv,
                  "TAEHV weights (default: taew2_1.safetensors in the model or base folder)");
  opt.add("--device", f->device, "cpu or cuda (default: cuda when available)");
  opt.add("--format", f->format, "mp4, png or y4m (default: from the output's extension)");
  opt.add("--family", f->family, "Use the defaults of fastwan-qad or wan2.1 (default: from the model)");
  opt.add("--linear", f->linear,
          "DiT linears: bf16, fp8 (per-tensor), fp8-row or nvfp4 (emulated on the GPU) (default: as the "
          "checkpoint was trained, where the device runs it)");
  opt.add("--attention", f->attention,
          "DiT self-attention: bf16, sage8 (SageAttention2's 8-bit scheme) or fp4 (Attn-QAT's FP4) "
          "(default: as --linear)");
  opt.add("--kernels", f->kernels,
          "GPU kernels: auto (Hopper's on sm_90, else portable), hopper or portable (mma.sync, sm_80+)");
  sub->add_option("--save-latents", f->save_latents,
                  "Also write the sampler's latents (safetensors) for fastwan decode; numbered like -o");
  auto from = std::make_shared<std::string>();
  sub->add_option(
      "--from", *from,
      "Rerun a video fastwan made (MP4 or PNG): its prompt and settings, for every flag not given");
  auto json = std::make_shared<std::string>();
  sub->add_option(
      "--json", *json,
      "Write the settings, stage times, peak memory and outputs as JSON to FILE, or - for stdout");
  return {sub, [=] {
            if (!opt.error->empty()) return fail(*opt.error);
            if (*json == "-" && f->output == "-")
              return fail("--json -: stdout carries the video (-o -); give --json FILE");
            if (!from->empty())
              if (Status s = apply_rerun_settings(*from, *f); !s) return fail(s.error().message());
            if (f->model.empty()) return fail("--model is required (see fastwan generate --help)");
            auto plan = plan_generation(*f);
            if (!plan) return fail(plan.error().message());
            plan->software = version_line();
            // What a person reads goes to stdout, unless stdout carries the video or the JSON.
            std::FILE* text = f->output == "-" || *json == "-" ? stderr : stdout;
            // Once per run in every output mode, so that a log shows what made the video.
            if (!plan->family_ambiguity.empty()) log_warn(plan->family_ambiguity);
            std::fprintf(stderr, "settings: %s\n", plan->describe().c_str());
            Progress progress(Progress::default_mode());
            progress.note("device: " + plan->device.note);
            const ModelFolder& m = plan->model;
            progress.note("model: " + m.model_dir + (m.base_dir.empty() ? "" : " over base " + m.base_dir));
            progress.note("modes: " + plan->modes.describe() + " (" + plan->modes_reason + ")");
            const int fps = plan->output.options.fps;
            // With several videos each line also has that video's stage times (the stages since the last).
            size_t reported = 0;
            auto print = [&, fps, text](const GenerateResult& r) {
              const std::string times =
                  plan->numbered_outputs() ? "; " + progress.times_since(reported) : std::string();
              reported = progress.stages().size();
              std::fprintf(text, "wrote %s (%lld frames, %lldx%lld, %d fps%s)\n", r.written.c_str(),
                           static_cast<long long>(r.frames), static_cast<long long>(r.width),
                           static_cast<long long>(r.height), fps, times.c_str());
              std::fflush(text);
            };
            // One video: the times, then the file. Several: each file as it is written, then the times.
            auto result = text_to_video(*plan, progress, plan->numbered_outputs() ? print : VideoWritten());
            if (!result) {
              progress.abandon();
              return fail(result.error().message());
            }
            std::fprintf(text, "time: %s, %s\n", progress.summary().c_str(), peak_memory_text(*plan).c_str());
            if (!plan->numbered_outputs()) print(result->front());
            if (!json->empty()) {
              Status s = write_json_report(*json, generate_report(*plan, progress, *result));
              if (!s) return fail(s.error().message());
            }
            return 0;
          }};
}

}  // namespace fastwan::cli
