#include "commands.h"
#include "core/log.h"
#include "synth/synth.h"

namespace fastwan::cli {

Command add_synth(CLI::App& app) {
  auto* sub = app.add_subcommand("synth", "Write a model folder (diffusers layout) with random weights");
  auto preset = std::make_shared<std::string>();
  auto options = std::make_shared<SynthOptions>();
  sub->add_option("--preset", *preset, "tiny or wan2.1-1.3b")->required();
  auto family = std::make_shared<std::string>("wan2.1");
  sub->add_option(
      "--family", *family,
      "wan2.1 (default) or fastwan-qad: the checkpoint the model card names, so generate uses its "
      "defaults");
  sub->add_option("--out", options->out_dir, "Output folder (new or empty)")->required();
  sub->add_flag("--force", options->force, "Write into a folder that is not empty");
  // CLI11 would wrap -1 into 2^64 - 1; its own NonNegativeNumber check prints a 300-digit range.
  sub->add_option("--seed", options->seed, "Seed of the random weights, 0 to 2^64-1")
      ->check(CLI::Validator(
          [](const std::string& text) {
            return text.starts_with("-") ? "expected an integer from 0 to 18446744073709551615" : "";
          },
          "UINT"));
  return {sub, [=] {
            auto p = parse_synth_preset(*preset);
            if (!p) return fail(p.error().message());
            auto f = parse_model_family(*family);
            if (!f) return fail(f.error().message());
            SynthOptions o = *options;
            o.preset = *p;
            o.family = *f;
            Status s = synthesize_model(o);
            if (!s) return fail(s.error().message());
            log_info("synth: wrote " + o.out_dir);
            return 0;
          }};
}

}  // namespace fastwan::cli
