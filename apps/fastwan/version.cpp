#include <cstdio>

#include "commands.h"
#include "core/thread_pool.h"
#include "version_info.h"
#include "video/sinks.h"

namespace fastwan::cli {

std::string version_line() {
  return "fastwan " FASTWAN_VERSION " (commit " FASTWAN_COMMIT ")";
}

std::string version_text() {
  std::string text = version_line() + "\n";
#ifdef FASTWAN_CUDA_BUILD
  text += "CUDA backend: " FASTWAN_CUDA_BUILD "\n";
#else
  text += "CUDA backend: not built in (nvcc was not found at build time, or -DFASTWAN_CUDA=OFF)\n";
#endif
  const Status mp4 = mp4_available();
  text += "MP4 output: " + (mp4 ? std::string("libfastwan_mp4.so loaded") : mp4.error().message()) + "\n";
  text += "CPU threads: " + std::to_string(num_threads()) + " (-t/--threads, FASTWAN_THREADS)\n";
  return text;
}

}  // namespace fastwan::cli
