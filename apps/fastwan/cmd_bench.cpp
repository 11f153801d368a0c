#include <cstdio>
#include <fstream>

#include "commands.h"
#ifdef FASTWAN_HAVE_CUDA
#include "pipeline/cuda/bench.h"
#endif

namespace fastwan::cli {

#ifdef FASTWAN_HAVE_CUDA
Command add_bench(CLI::App& app) {
  auto* sub =
      app.add_subcommand("bench", "End-to-end stage timings on the GPU (synthetic real-size weights)");
  auto options = std::make_shared<BenchOptions>();
  auto json = std::make_shared<std::string>();
  sub->add_option("--preset", options->preset, "Model geometry of the synthetic weights (wan2.1-1.3b)");
  sub->add_option("--runs", options->runs, "Timed repetitions after one warm-up")->check(CLI::Range(1, 1000));
  sub->add_option("--json", *json, "Also write the stage table as JSON to this file");
  return {sub, [=] {
            auto report = run_bench(*options);
            if (!report) return fail(report.error().message());
            std::fputs(report->table().c_str(), stdout);
            if (!json->empty()) {
              std::ofstream out(*json);
              out << report->json() << "\n";
              if (!out) return fail(*json + ": cannot write");
            }
            return 0;
          }};
}
#else
Command add_bench(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "End-to-end stage timings on the GPU (needs a CUDA build)");
  sub->allow_extras();
  return {sub, [] {
            return fail("bench: this fastwan was built without CUDA (nvcc was not found at build time)");
          }};
}
#endif

}  // namespace fastwan::cli
