// The ggml tensor types a GGUF file may hold, and how each block of a quantized type is decoded (the block
// layouts of ggml's quantization formats: Q4_0 .. Q8_0 with 32 values per block, the K-quants with 256).
#pragma once

#include <cstdint>
#include <string>

namespace fastwan {

struct GgmlType {
  uint32_t id = 0;
  const char* name = "";    // as ggml names it: "f32", "q8_0", "q4_K"
  int64_t block_elems = 1;  // values per block (1 for f32/f16/bf16)
  int64_t block_bytes = 4;
  // Decodes one block into block_elems floats; null for the plain float types.
  void (*dequantize)(const uint8_t* block, float* out) = nullptr;
};

// The types fastwan reads (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K);
// nullptr for any other id.
const GgmlType* ggml_type(uint32_t id);
// Every supported type's name, for messages ("f32, f16, ...").
std::string ggml_supported_types();

}  // namespace fastwan
