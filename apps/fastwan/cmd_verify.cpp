#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "verify/golden_case.h"

namespace fastwan::cli {

Command add_verify(CLI::App& app) {
  auto* sub =
      app.add_subcommand("verify", "Run one golden case; the last line is PASS <case> or FAIL <case>: <why>");
  auto dir = std::make_shared<std::string>();
  auto device = std::make_shared<std::string>("cpu");
  sub->add_option("CASE_DIR", *dir, "Golden case folder (format: tests/data/golden/README.md)")->required();
  sub->add_option("--device", *device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  return {sub, [=] {
            // The case is named by its folder, also when the folder cannot be read.
            std::string name = std::filesystem::path(*dir).lexically_normal().filename().string();
            if (name.empty())
              name = std::filesystem::path(*dir).lexically_normal().parent_path().filename().string();
            auto failed = [&](const std::string& why) {
              std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
              return 1;
            };
            auto gc = GoldenCase::load(*dir);
            if (!gc) return failed(gc.error().message());
            name = gc->name;
            // Only the DiT runs in precision modes; a mode case of another component must not pass exact.
            if (gc->has_modes && gc->component != "wan_dit")
              return failed("component '" + gc->component + "' does not run in precision modes (case.json " +
                            "names " + gc->modes.describe() + ")");
            VerifyOptions options;
            options.device = *device == "cuda" ? VerifyDevice::cuda : VerifyDevice::cpu;
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
                        gc->has_modes ? (", " + gc->modes.describe()).c_str() : "", device->c_str(), secs,
                        report->table().c_str());
            if (!report->passed()) return failed(report->first_failure());
            std::printf("PASS %s\n", name.c_str());
            return 0;
          }};
}

}  // namespace fastwan::cli
