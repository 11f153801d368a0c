// The libFuzzer entry points shared by the reader targets: every seed of the corrupt-file list runs once
// first, so the fuzzer starts at the interesting edges, and half of the mutations start from a valid file so
// they explore the header fields rather than only garbage.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

// RUN_ONE(const uint8_t*, size_t) reads one input; SEEDS() lists CorruptFile; VALID() is a valid image.
#define FASTWAN_FUZZ_TARGET(RUN_ONE, SEEDS, VALID)                                       \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {              \
    static bool seeded = [] {                                                            \
      for (const auto& c : SEEDS())                                                      \
        RUN_ONE(reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size());       \
      return true;                                                                       \
    }();                                                                                 \
    (void)seeded;                                                                        \
    RUN_ONE(data, size);                                                                 \
    return 0;                                                                            \
  }                                                                                      \
  extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, \
                                            unsigned int seed) {                         \
    if (seed % 2 == 0) {                                                                 \
      const std::string valid = VALID();                                                 \
      if (valid.size() <= max_size) {                                                    \
        std::copy(valid.begin(), valid.end(), data);                                     \
        size = valid.size();                                                             \
      }                                                                                  \
    }                                                                                    \
    return LLVMFuzzerMutate(data, size, max_size);                                       \
  }
