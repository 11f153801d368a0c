#include "generate_report.h"

#include <sys/resource.h>

#include <cstdio>
#include <fstream>

namespace fastwan::cli {

int64_t peak_host_memory_bytes() {
  struct rusage usage = {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

std::string peak_memory_text(const GeneratePlan& plan) {
  char text[128];
  std::snprintf(text, sizeof text, "peak host memory %.2f GB",
                static_cast<double>(peak_host_memory_bytes()) / 1e9);
  std::string out = text;
  if (const auto& device = plan.device.backend.peak_device_bytes) {
    std::snprintf(text, sizeof text, ", peak device memory %.2f GB", static_cast<double>(device()) / 1e9);
    out += text;
  }
  return out;
}

nlohmann::json generate_report(const GeneratePlan& plan, const Progress& progress,
                               const std::vector<GenerateResult>& results) {
  nlohmann::json stages = nlohmann::json::array();
  for (const Progress::Stage& s : progress.stages()) {
    nlohmann::json stage = {{"name", s.name}, {"seconds", s.seconds}};
    if (!s.unit_seconds.empty()) stage["step_seconds"] = s.unit_seconds;
    stages.push_back(stage);
  }
  nlohmann::json outputs = nlohmann::json::array();
  for (const GenerateResult& r : results) {
    nlohmann::json o = {{"file", r.written},
                        {"prompt", r.prompt},
                        {"frames", r.frames},
                        {"width", r.width},
                        {"height", r.height}};
    if (!r.latents.empty()) o["latents"] = r.latents;
    outputs.push_back(o);
  }
  nlohmann::json report = {{"settings", plan.settings_json()},
                           {"stages", stages},
                           {"total_seconds", progress.elapsed()},
                           {"peak_host_memory_bytes", peak_host_memory_bytes()},
                           {"outputs", outputs}};
  if (plan.device.backend.peak_device_bytes)
    report["peak_device_memory_bytes"] = plan.device.backend.peak_device_bytes();
  return report;
}

Status write_json_report(const std::string& path, const nlohmann::json& report) {
  const std::string text = report.dump(2) + "\n";
  if (path == "-") {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    return Status::Ok();
  }
  std::ofstream out(path);
  out << text;
  if (!out) return Error("--json " + path + ": cannot write");
  return Status::Ok();
}

}  // namespace fastwan::cli
