// Hand-made GGUF files for the tests: a writer that puts exactly the given fields into a file image, valid
// images of every supported type, and the corrupt variants real and hostile files show (truncation, hostile
// offsets, huge counts). Shared by the GGUF tests and as the seed corpus of the fuzzer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/corrupt_files.h"

namespace fastwan::test {

struct GgufTensorField {
  std::string name;
  std::vector<uint64_t> dims;  // innermost first, as the file stores them
  uint32_t type = 0;
  uint64_t offset = 0;
};

// Every field of a GGUF file; counts default to the list sizes.
struct GgufFields {
  uint32_t version = 3;
  std::optional<uint64_t> tensor_count, kv_count;
  std::vector<std::pair<std::string, std::string>> string_kvs;
  std::vector<std::pair<std::string, std::vector<int32_t>>> int_array_kvs;
  std::optional<uint32_t> alignment;  // written as general.alignment when set
  std::vector<GgufTensorField> tensors;
  std::string data;  // the data area (written after padding the header to the alignment)
};
std::string gguf_serialize(const GgufFields& fields);

// One tensor to put in a file: its torch shape and the bytes of its type's blocks.
struct GgufTensorData {
  std::string name;
  uint32_t type = 0;
  std::vector<int64_t> shape;  // outermost first
  std::string bytes;
};
// A valid image: offsets aligned to 32, tensors one after another; a tensor of more than 4 dimensions is
// stored as [shape[0], rest] with its shape in comfy.gguf.orig_shape.<name>, as ComfyUI-GGUF writes it.
std::string gguf_image(const std::vector<GgufTensorData>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& string_kvs = {});
std::string valid_gguf_image();
std::vector<CorruptFile> corrupt_gguf_files();

}  // namespace fastwan::test
