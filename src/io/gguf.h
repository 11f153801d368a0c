// GGUF files (the ggml project's container), read-only: validated like safetensors, mmapped, tensors decoded
// on demand.
//
// Layout (version 2 and 3, little-endian): "GGUF", u32 version, u64 tensor count, u64 key/value count; the
// key/values (u64-length strings, a u32 type, the value); per tensor its name, u32 dimension count, u64
// dimensions (innermost first), u32 ggml type and u64 offset into the data area, which starts at the next
// multiple of general.alignment (default 32). Every field is checked before a tensor is read: counts against
// the bytes left, dimensions and byte sizes for overflow, offsets aligned, in range and not overlapping.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/ggml_quants.h"
#include "io/weight_store.h"

namespace fastwan {

struct GgufTensor {
  std::string name;
  const GgmlType* type = nullptr;
  Shape shape;          // outermost first, like torch (the file lists dimensions innermost first)
  uint64_t offset = 0;  // in the data area
  uint64_t bytes = 0;
};

struct GgufHeader {
  uint32_t version = 0;
  std::map<std::string, std::string> metadata;  // every key; non-string values as text
  std::vector<GgufTensor> tensors;              // in file order
  uint64_t data_start = 0;                      // file offset of the data area
};

// Parses and validates the header of a whole file image (exposed for the fuzz tests).
Expected<GgufHeader> parse_gguf(const uint8_t* data, uint64_t size);

class GgufFile {
 public:
  static Expected<std::shared_ptr<GgufFile>> open(const std::string& path);
  const std::string& path() const { return path_; }
  const GgufHeader& header() const { return header_; }
  // F32, F16, BF16: a view on the mapping; quantized types: dequantized to bf16 (the weights' working type).
  Tensor tensor(const GgufTensor& t) const;
  // The dtype tensor() returns for a type.
  static DType decoded_dtype(const GgmlType& type);

 private:
  std::string path_;
  std::shared_ptr<Storage> mapping_;
  GgufHeader header_;
};

// True when the file starts with the GGUF magic.
bool is_gguf_file(const std::string& path);
// A WeightStore over a GGUF file's tensors (under their names in the file).
Expected<WeightStore> open_gguf_store(const std::string& path);

}  // namespace fastwan
