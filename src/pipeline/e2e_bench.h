// `fastwan bench --e2e`: the real `fastwan generate` path (plan, text encoder, sampler loop, decoder, writer)
// run N times on one model folder, with the minimum and median of each stage and of the whole run, so the
// benchmark's total and what a user measures end to end are the same number. Each run loads its models as
// generate does; "without loading" leaves the load stages out. Loading is timed from the page cache (warm),
// or with `cold` from the disk: before each run the model's files are dropped from the page cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/generate_plan.h"

namespace fastwan {

struct E2eStage {
  std::string name;
  std::vector<double> seconds;  // one per run
  double min() const;
  double median() const;
};

struct E2eReport {
  std::string settings;  // GeneratePlan::describe()
  // In pipeline order, then "total", "total without loading", "gaps (total - stages)" and the gap before each
  // stage and after the last.
  std::vector<E2eStage> stages;
  std::string loading;  // "warm (page cache)" or, cold, what was left resident after dropping
  // The most device memory the stages held at once over the runs (Backend::peak_device_bytes); unset on the
  // CPU.
  std::optional<int64_t> peak_device_bytes;
  std::string table() const;
};

// Runs `plan` (one prompt) `runs` times; the output file is rewritten each time. cold: the model's files are
// dropped from the page cache before each run.
Expected<E2eReport> run_e2e_bench(const GeneratePlan& plan, int runs, bool cold = false);

}  // namespace fastwan
