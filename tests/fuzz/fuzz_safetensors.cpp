// libFuzzer target for the safetensors reader (built with -DFASTWAN_FUZZ=ON under clang; the sanitizer
// build runs it for a fixed number of iterations from the corrupt-file seeds).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz/corrupt_files.h"
#include "fuzz/fuzz_target.h"
#include "io/safetensors.h"

namespace {

std::string scratch_path() {
  return "/tmp/fastwan-fuzz-" + std::to_string(::getpid()) + ".safetensors";
}

void run_one(const uint8_t* data, size_t size) {
  const std::string path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto file = fastwan::SafetensorsFile::open(path);
  if (!file.ok()) return;
  volatile uint8_t sink = 0;
  for (const auto& info : (*file)->tensors()) {
    fastwan::Tensor t = (*file)->tensor(info);
    const auto* p = static_cast<const uint8_t*>(t.raw());
    for (size_t i = 0; i < t.nbytes(); ++i) sink = sink + p[i];
  }
}

}  // namespace

FASTWAN_FUZZ_TARGET(run_one, fastwan::test::corrupt_safetensors_files, fastwan::test::valid_safetensors_image)
