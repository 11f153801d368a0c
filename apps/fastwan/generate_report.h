// What `fastwan generate` tells a script: the --json report (settings, stage times, peak memory, outputs).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "pipeline/text_to_video.h"

namespace fastwan::cli {

// The peak resident memory of this process so far (getrusage), in bytes.
int64_t peak_host_memory_bytes();
// "peak host memory 0.35 GB" and, on a GPU, ", peak device memory 9.55 GB".
std::string peak_memory_text(const GeneratePlan& plan);

nlohmann::json generate_report(const GeneratePlan& plan, const Progress& progress,
                               const std::vector<GenerateResult>& results);

// Writes `report` to `path`, or to stdout for "-". The error names --json.
Status write_json_report(const std::string& path, const nlohmann::json& report);

}  // namespace fastwan::cli
