#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "pipeline/backend.h"
#include "verify/golden_case.h"

namespace fastwan::cli {
namespace {

enum class Outcome { pass, fail, skip };

// One case: its table, then "PASS <case>", "FAIL <case>: <why>" or "SKIP <case>: <why>".
Outcome verify_case(const std::string& dir, const VerifyOptions& options, const std::string& skip_reason) {
  const VerifyDevice device = options.device;
  // The case is named by its folder, also when the folder cannot be read.
  std::string name = std::filesystem::path(dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();
  auto failed = [&](const std::string& why) {
    std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
    return Outcome::fail;
  };
  auto gc = GoldenCase::load(dir);
  if (!gc) return failed(gc.error().message());
  name = gc->name;
  // Only the DiT runs in precision modes; a mode case of another component must not pass exact.
  if (gc->has_modes && gc->component != "wan_dit")
    return failed("component '" + gc->component + "' does not run in precision modes (case.json names " +
                  gc->modes.describe() + ")");
  if (!skip_reason.empty()) {
    std::printf("SKIP %s: %s\n", name.c_str(), skip_reason.c_str());
    return Outcome::skip;
  }
  auto verifier = find_verifier(gc->component, options.device);
  if (!verifier) return failed(verifier.error().message());
  const auto t0 = std::chrono::steady_clock::now();
  Expected<VerifyReport> report = Error("not run");
  try {
    report = (*verifier)(*gc, options);
  } catch (const std::exception& e) {
    return failed(e.what());
  }
  if (!report) return failed(report.error().message());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s (%s%s, %s, %.2f s)\n%s", name.c_str(), gc->component.c_str(),
              gc->has_modes ? (", " + gc->modes.describe()).c_str() : "",
              device == VerifyDevice::cuda
                  ? ("cuda, " + std::string(quant::kernel_choice_name(options.kernels)) + " kernels").c_str()
                  : "cpu",
              secs, report->table().c_str());
  if (!report->passed()) return failed(report->first_failure());
  std::printf("PASS %s\n", name.c_str());
  return Outcome::pass;
}

}  // namespace

Command add_verify(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "verify",
      "Run golden cases; a line PASS <case>, FAIL <case>: <why> or SKIP <case>: <why> (no GPU) for each");
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto device = std::make_shared<std::string>("cpu");
  sub->add_option("CASE_DIR", *dirs, "Golden case folders (format: tests/data/golden/README.md)")->required();
  sub->add_option("--device", *device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  auto kernels = std::make_shared<std::string>("auto");
  sub->add_option("--kernels", *kernels,
                  "--device cuda: the DiT's kernel set, auto (Hopper's on sm_90, else portable), hopper or "
                  "portable");
  return {sub, [=] {
            VerifyOptions options;
            options.device = *device == "cuda" ? VerifyDevice::cuda : VerifyDevice::cpu;
            auto choice = quant::parse_kernel_choice(*kernels);
            if (!choice) return fail(choice.error().message());
            options.kernels = *choice;
            const VerifyDevice d = options.device;
            // A machine without a GPU (or a build without CUDA) cannot run the cuda cases: skipped, not
            // failed.
            std::string skip;
            if (d == VerifyDevice::cuda)
              if (auto chosen = choose_device(Device::cuda); !chosen) skip = chosen.error().message();
            int passed = 0, failed = 0, skipped = 0;
            for (const std::string& dir : *dirs) {
              switch (verify_case(dir, options, skip)) {
                case Outcome::pass:
                  ++passed;
                  break;
                case Outcome::fail:
                  ++failed;
                  break;
                case Outcome::skip:
                  ++skipped;
                  break;
              }
            }
            if (dirs->size() > 1) std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
            return failed ? 1 : 0;
          }};
}

}  // namespace fastwan::cli
