// `fastwan bench`: end-to-end stage timings on the GPU with synthetic real-size weights made on the device
// (no files) or a model folder. CUDA events, warm-up, median over runs; peak device memory per stage.
#pragma once

#include <string>
#include <vector>

#include "fastwan/status.h"
#include "quant/modes.h"

namespace fastwan {

struct BenchOptions {
  std::string preset = "wan2.1-1.3b";  // synthetic weights of this geometry
  int runs = 5;                        // timed repetitions (after one warm-up)
  int frames = 81, height = 480, width = 832;
  int steps = 3;
  int text_tokens = 512;
  quant::ModelOptions modes;  // the DiT's precision modes (--linear)
};

struct BenchStage {
  std::string name;
  double ms = 0;       // median over runs
  double peak_gb = 0;  // device memory the stage holds while it runs (its weights and buffers)
  std::string note;
};

struct BenchReport {
  std::string device;
  std::vector<BenchStage> stages;
  std::string table() const;
  std::string json() const;
};

Expected<BenchReport> run_bench(const BenchOptions& options);

}  // namespace fastwan
