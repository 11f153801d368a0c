// libFuzzer target for the GGUF reader (built with -DFASTWAN_FUZZ=ON under clang; the sanitizer build runs it
// for a fixed number of iterations from the corrupt-file seeds), like fuzz_safetensors.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz/fuzz_target.h"
#include "fuzz/gguf_files.h"
#include "io/gguf.h"

namespace {

// The parser works on the bytes; every tensor it accepts is decoded, so ASan sees every block read.
void run_one(const uint8_t* data, size_t size) {
  auto header = fastwan::parse_gguf(data, size);
  if (!header.ok()) return;
  const std::string path = "/tmp/fastwan-fuzz-" + std::to_string(::getpid()) + ".gguf";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto file = fastwan::GgufFile::open(path);
  if (!file.ok()) return;
  volatile float sink = 0;
  for (const auto& t : (*file)->header().tensors) {
    const fastwan::Tensor x = (*file)->tensor(t);
    for (int64_t i = 0; i < x.numel(); ++i) sink = sink + x.item_f32(i);
  }
}

}  // namespace

FASTWAN_FUZZ_TARGET(run_one, fastwan::test::corrupt_gguf_files, fastwan::test::valid_gguf_image)
