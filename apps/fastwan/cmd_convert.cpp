#include <cstdio>

#include "commands.h"
#include "models/convert.h"

namespace fastwan::cli {

Command add_convert(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "convert",
      "Write a DiT, text encoder or VAE (any layout fastwan reads) as a diffusers folder or scaled FP8");
  auto o = std::make_shared<ConvertOptions>();
  sub->add_option("INPUT", o->input, "A single file (.safetensors, .gguf) or a component folder")->required();
  sub->add_option("-o,--output", o->output,
                  "The diffusers component folder to write (or, with --scaled-fp8, the file)")
      ->required();
  sub->add_flag("--scaled-fp8", o->scaled_fp8,
                "Write one .safetensors file with FP8 linears and per-tensor scales (ComfyUI's scaled_fp8)");
  return {sub, [=] {
            auto summary = convert_checkpoint(*o);
            if (!summary) return fail(summary.error().message());
            std::printf("%s\n", summary->c_str());
            return 0;
          }};
}

}  // namespace fastwan::cli
