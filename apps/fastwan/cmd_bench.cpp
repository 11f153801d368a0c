#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "pipeline/e2e_bench.h"
#ifdef FASTWAN_HAVE_CUDA
#include "pipeline/cuda/bench.h"
#endif

namespace fastwan::cli {
namespace {

// `--e2e`: the generate path itself, on any device.
struct E2eFlags {
  bool enabled = false;
  bool cold = false;  // --cold: each run loads from the disk, not the page cache
  GenerateFlags generate;
  std::string prompt = "A curious raccoon peers through a vibrant field of yellow sunflowers.";
  std::string width, height, frames;
};

int run_e2e(const E2eFlags& e, int runs) {
  if (e.generate.model.empty())
    return fail("bench --e2e: --model DIR is required (a model folder or ORG/NAME)");
  GenerateFlags f = e.generate;
  f.prompts = {e.prompt};
  for (auto [text, target, flag] :
       {std::tuple{&e.width, &f.width, "-W"}, std::tuple{&e.height, &f.height, "-H"},
        std::tuple{&e.frames, &f.frames, "--frames"}}) {
    if (text->empty()) continue;
    try {
      size_t used = 0;
      *target = std::stoi(*text, &used);
      if (used != text->size()) throw std::invalid_argument(*text);
    } catch (const std::exception&) {
      return fail(std::string(flag) + " " + *text + ": expected an integer");
    }
  }
  // The video goes to a scratch file: writing it is part of what a user waits for.
  const auto scratch =
      std::filesystem::temp_directory_path() / ("fastwan-bench-" + std::to_string(::getpid()) + ".y4m");
  f.output = scratch.string();
  auto plan = plan_generation(f);
  if (!plan) return fail(plan.error().message());
  auto report = run_e2e_bench(*plan, runs, e.cold);
  std::error_code ec;
  std::filesystem::remove(scratch, ec);
  if (!report) return fail(report.error().message());
  std::fputs(report->table().c_str(), stdout);
  return 0;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "bench", "Timings: GPU stages with synthetic real-size weights, or --e2e the generate path end to end");
  auto runs = std::make_shared<int>(5);
  auto e2e = std::make_shared<E2eFlags>();
  sub->add_option("--runs", *runs, "Timed repetitions (the stage bench adds one warm-up)")
      ->check(CLI::Range(1, 1000));
  sub->add_flag("--e2e", e2e->enabled,
                "Run `fastwan generate` itself N times; min and median of every stage");
  sub->add_option("--model", e2e->generate.model, "--e2e: model folder or ORG/NAME");
  sub->add_flag("--cold", e2e->cold,
                "--e2e: drop the model's files from the page cache before each run (loading from the disk)");
  sub->add_option("-p,--prompt", e2e->prompt, "--e2e: the prompt");
  sub->add_option("-W,--width", e2e->width, "--e2e: width (default: the model's)");
  sub->add_option("-H,--height", e2e->height, "--e2e: height (default: the model's)");
  sub->add_option("--frames", e2e->frames, "--e2e: frames (default: the model's)");
  sub->add_option("--device", e2e->generate.device, "--e2e: cpu or cuda");
  sub->add_option("--decoder", e2e->generate.decoder, "--e2e: taehv or wan-vae (default: the model's)");
  sub->add_option("--family", e2e->generate.family, "--e2e: fastwan-qad or wan2.1 (default: from the model)");
  auto linear = std::make_shared<std::string>();
  sub->add_option("--linear", *linear,
                  "DiT linears: bf16, fp8 or fp8-row (default: bf16; --e2e: the model's)");
  sub->add_option("--attention", e2e->generate.attention,
                  "DiT self-attention: bf16, sage8 or fp4 (default: bf16; --e2e: the model's)");
  sub->add_option(
      "--kernels", e2e->generate.kernels,
      "GPU kernels: auto (Hopper's on sm_90, else portable), hopper or portable (mma.sync, sm_80+)");
#ifdef FASTWAN_HAVE_CUDA
  auto options = std::make_shared<BenchOptions>();
  auto json = std::make_shared<std::string>();
  sub->add_option("--preset", options->preset, "Model geometry of the synthetic weights (wan2.1-1.3b)");
  sub->add_option("--json", *json, "Also write the stage table as JSON to this file");
#endif
  return {sub, [=] {
            if (e2e->enabled) {
              if (!linear->empty()) e2e->generate.linear = *linear;
              return run_e2e(*e2e, *runs);
            }
#ifdef FASTWAN_HAVE_CUDA
            auto mode = quant::parse_linear_mode(linear->empty() ? "bf16" : *linear);
            if (!mode) return fail(mode.error().message());
            options->modes.linear = *mode;
            auto attention = quant::parse_attention_mode(e2e->generate.attention.value_or("bf16"));
            if (!attention) return fail(attention.error().message());
            options->modes.attention = *attention;
            auto kernels = quant::parse_kernel_choice(e2e->generate.kernels.value_or("auto"));
            if (!kernels) return fail(kernels.error().message());
            options->modes.kernels = *kernels;
            options->runs = *runs;
            auto report = run_bench(*options);
            if (!report) return fail(report.error().message());
            std::fputs(report->table().c_str(), stdout);
            if (!json->empty()) {
              std::ofstream out(*json);
              out << report->json() << "\n";
              if (!out) return fail(*json + ": cannot write");
            }
            return 0;
#else
            return fail("bench: the stage bench needs a CUDA build (nvcc was not found at build time); "
                        "--e2e runs on the CPU too");
#endif
          }};
}

}  // namespace fastwan::cli
