// What every benchmark here shares: the median time of a GPU workload by CUDA events, after a warm-up.
#pragma once

#include <algorithm>
#include <functional>
#include <vector>

#include "cuda/check.h"
#include "cuda/device.h"

namespace fastwan {

inline double median_ms(const std::function<void()>& fn, int warmup = 3, int repeats = 15) {
  for (int i = 0; i < warmup; ++i) fn();
  FW_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> t;
  cuda::Timer timer;
  for (int i = 0; i < repeats; ++i) {
    timer.start();
    fn();
    t.push_back(timer.stop_ms());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace fastwan
