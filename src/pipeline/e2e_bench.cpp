#include "pipeline/e2e_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "io/page_cache.h"
#include "pipeline/text_to_video.h"

namespace fastwan {
namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

E2eStage& stage(E2eReport& r, const std::string& name) {
  for (auto& s : r.stages)
    if (s.name == name) return s;
  r.stages.push_back({name, {}});
  return r.stages.back();
}

// Every file a run reads its models from.
std::vector<std::string> model_paths(const ModelFolder& m) {
  std::vector<std::string> paths;
  for (const std::string* p : {&m.model_dir, &m.base_dir, &m.transformer, &m.transformer_config,
                               &m.text_encoder, &m.spiece_model, &m.vae, &m.taehv})
    if (!p->empty()) paths.push_back(*p);
  return paths;
}

std::string megabytes(int64_t bytes) {
  return std::to_string((bytes + (1 << 19)) >> 20) + " MB";
}

}  // namespace

double E2eStage::min() const {
  return seconds.empty() ? 0.0 : *std::min_element(seconds.begin(), seconds.end());
}

double E2eStage::median() const {
  return median_of(seconds);
}

Expected<E2eReport> run_e2e_bench(const GeneratePlan& plan, int runs, bool cold) {
  if (runs < 1) return Error("--runs must be >= 1");
  if (plan.prompts.size() != 1 || plan.prompt_stream)
    return Error("bench --e2e: give one prompt (-p); several prompts are a throughput question");
  E2eReport report;
  report.settings = plan.describe();
  report.loading = "warm (the model's files in the page cache)";
  const std::vector<std::string> files = model_paths(plan.model);
  int64_t most_resident = 0;
  for (int r = 0; r < runs; ++r) {
    if (cold) {
      FW_RETURN_IF_ERROR(evict_from_page_cache(files));
      FW_ASSIGN_OR_RETURN(const PageCacheUsage usage, page_cache_usage(files));
      most_resident = std::max(most_resident, usage.resident);
      report.loading = "cold (before each run the model's " + std::to_string(usage.files) + " files, " +
                       megabytes(usage.bytes) + ", were dropped from the page cache; at most " +
                       megabytes(most_resident) + " stayed resident)";
    }
    Progress progress(Progress::Mode::quiet);
    const auto t0 = std::chrono::steady_clock::now();
    FW_ASSIGN_OR_RETURN(auto written, text_to_video(plan, progress));
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double loading = 0, stages = 0;
    // Where the time between stages goes: the gap before each stage (freeing the previous model, setting up
    // the next one's inputs) and after the last (closing the file, freeing what is left).
    std::vector<std::pair<std::string, double>> gaps;
    double last_end = 0;
    for (const auto& s : progress.stages()) {
      stage(report, s.name).seconds.push_back(s.seconds);
      stages += s.seconds;
      if (s.name.ends_with(" load")) loading += s.seconds;
      gaps.emplace_back("  before " + s.name, s.start - last_end);
      last_end = s.start + s.seconds;
    }
    gaps.emplace_back("  after the last stage", total - last_end);
    stage(report, "total").seconds.push_back(total);
    stage(report, "total without loading").seconds.push_back(total - loading);
    // What the stages do not account for: planning the run, handing tensors between stages, closing files.
    stage(report, "gaps (total - stages)").seconds.push_back(total - stages);
    for (const auto& [name, seconds] : gaps) stage(report, name).seconds.push_back(seconds);
  }
  if (const auto& peak = plan.device.backend.peak_device_bytes) report.peak_device_bytes = peak();
  return report;
}

std::string E2eReport::table() const {
  std::ostringstream os;
  os << "end to end, " << (stages.empty() ? 0 : stages.front().seconds.size()) << " runs: " << settings
     << "\nloading: " << loading << "\n";
  char line[160];
  if (peak_device_bytes) {
    std::snprintf(line, sizeof line, "peak device memory: %.2f GB (what the stages held at once)\n",
                  static_cast<double>(*peak_device_bytes) / 1e9);
    os << line;
  }
  std::snprintf(line, sizeof line, "%-24s %10s %10s\n", "stage", "min s", "median s");
  os << line;
  for (const auto& s : stages) {
    std::snprintf(line, sizeof line, "%-24s %10.3f %10.3f\n", s.name.c_str(), s.min(), s.median());
    os << line;
  }
  return os.str();
}

}  // namespace fastwan
