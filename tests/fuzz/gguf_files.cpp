#include "fuzz/gguf_files.h"

#include <cstring>

namespace fastwan::test {
namespace {

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_string(std::string& s, const std::string& v) {
  put<uint64_t>(s, v.size());
  s += v;
}

constexpr uint32_t kString = 8, kU32 = 4, kI32 = 5, kArray = 9, kF32 = 0, kQ8_0 = 8;

GgufFields valid_fields() {
  GgufFields f;
  f.string_kvs = {{"general.architecture", "wan"}};
  f.tensors = {{"a", {4, 2}, kF32, 0}, {"b", {32}, kQ8_0, 32}};
  f.data = std::string(32 + 34, '\0');
  for (size_t i = 0; i < 32; ++i) f.data[i] = static_cast<char>(i * 7 + 3);
  f.data[32] = 0x00, f.data[33] = 0x3c;  // Q8_0 scale 1.0 (f16)
  for (size_t i = 34; i < f.data.size(); ++i) f.data[i] = static_cast<char>(i - 50);
  return f;
}

}  // namespace

std::string gguf_serialize(const GgufFields& f) {
  std::string s = "GGUF";
  put<uint32_t>(s, f.version);
  put<uint64_t>(s, f.tensor_count.value_or(f.tensors.size()));
  put<uint64_t>(s, f.kv_count.value_or(f.string_kvs.size() + f.int_array_kvs.size() + (f.alignment ? 1 : 0)));
  for (const auto& [k, v] : f.string_kvs) {
    put_string(s, k);
    put<uint32_t>(s, kString);
    put_string(s, v);
  }
  for (const auto& [k, values] : f.int_array_kvs) {
    put_string(s, k);
    put<uint32_t>(s, kArray);
    put<uint32_t>(s, kI32);
    put<uint64_t>(s, values.size());
    for (int32_t v : values) put<int32_t>(s, v);
  }
  if (f.alignment) {
    put_string(s, "general.alignment");
    put<uint32_t>(s, kU32);
    put<uint32_t>(s, *f.alignment);
  }
  for (const auto& t : f.tensors) {
    put_string(s, t.name);
    put<uint32_t>(s, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(s, d);
    put<uint32_t>(s, t.type);
    put<uint64_t>(s, t.offset);
  }
  const uint64_t align = f.alignment && *f.alignment ? *f.alignment : 32;
  s.append((align - s.size() % align) % align, '\0');
  return s + f.data;
}

std::string gguf_image(const std::vector<GgufTensorData>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& string_kvs) {
  GgufFields f;
  f.string_kvs = string_kvs;
  for (const auto& t : tensors) {
    f.data.append((32 - f.data.size() % 32) % 32, '\0');
    std::vector<int64_t> stored = t.shape;
    if (stored.size() > 4) {
      f.int_array_kvs.push_back({"comfy.gguf.orig_shape." + t.name, {t.shape.begin(), t.shape.end()}});
      int64_t rest = 1;
      for (size_t d = 1; d < stored.size(); ++d) rest *= stored[d];
      stored = {stored[0], rest};
    }
    f.tensors.push_back({t.name, {stored.rbegin(), stored.rend()}, t.type, f.data.size()});
    f.data += t.bytes;
  }
  return gguf_serialize(f);
}

std::string valid_gguf_image() {
  return gguf_serialize(valid_fields());
}

std::vector<CorruptFile> corrupt_gguf_files() {
  const std::string valid = valid_gguf_image();
  auto with = [](auto change) {
    GgufFields f = valid_fields();
    change(f);
    return gguf_serialize(f);
  };
  std::vector<CorruptFile> c;
  c.push_back({"empty", "", "does not start with the GGUF magic"});
  c.push_back({"magic_only", "GGUF", "version runs past the end"});
  c.push_back({"version_1", with([](GgufFields& f) { f.version = 1; }), "version 1 (expected 2 or 3)"});
  c.push_back({"huge_tensor_count", with([](GgufFields& f) { f.tensor_count = 1ull << 40; }), "claims"});
  c.push_back({"huge_kv_count", with([](GgufFields& f) { f.kv_count = ~0ull; }), "claims"});
  c.push_back({"kv_count_past_end", with([](GgufFields& f) { f.kv_count = 5; }), "invalid GGUF header"});
  c.push_back({"truncated_infos", valid.substr(0, 70), "runs past the end"});
  c.push_back({"truncated_data", valid.substr(0, valid.size() - 3), "truncated file?"});
  c.push_back(
      {"unknown_type", with([](GgufFields& f) { f.tensors[0].type = 99; }), "tensor 'a' has ggml type 99"});
  c.push_back({"five_dims", with([](GgufFields& f) {
                 f.tensors[0].dims = {1, 1, 1, 1, 8};
               }),
               "tensor 'a' has 5 dimensions"});
  c.push_back({"absurd_shape", with([](GgufFields& f) {
                 f.tensors[0].dims = {1ull << 32, 1ull << 32};
               }),
               "tensor 'a' has an absurd shape"});
  c.push_back({"overflowing_shape", with([](GgufFields& f) {
                 f.tensors[0].dims = {1ull << 40, 1ull << 40};
               }),
               "tensor 'a' has an absurd shape"});
  c.push_back({"partial_block", with([](GgufFields& f) { f.tensors[1].dims = {33}; }),
               "not a multiple of the 32-value block"});
  c.push_back({"misaligned_offset", with([](GgufFields& f) { f.tensors[1].offset = 33; }),
               "tensor 'b' offset 33 is not a multiple of the alignment"});
  c.push_back({"offset_past_end", with([](GgufFields& f) { f.tensors[1].offset = 1ull << 62; }),
               "tensor 'b' q8_0[32] needs bytes"});
  c.push_back({"overlap", with([](GgufFields& f) { f.tensors[1].offset = 0; }), "overlap"});
  c.push_back({"orig_shape_mismatch", with([](GgufFields& f) {
                 f.int_array_kvs = {{"comfy.gguf.orig_shape.a", {3, 3}}};
               }),
               "tensor 'a' [2, 4]: comfy.gguf.orig_shape.a does not give a shape of the same size"});
  c.push_back({"bad_alignment", with([](GgufFields& f) { f.alignment = 3; }), "not a power of two"});
  // Headers whose lengths claim more than the file holds.
  auto start = [](uint64_t tensors, uint64_t kvs) {
    std::string s = "GGUF";
    put<uint32_t>(s, 3);
    put<uint64_t>(s, tensors);
    put<uint64_t>(s, kvs);
    return s;
  };
  std::string huge_name = start(1, 0);
  put<uint64_t>(huge_name, ~0ull >> 1);
  c.push_back({"huge_name", huge_name, "tensor 0 name of 9223372036854775807 bytes runs past the end"});
  std::string huge_array = start(0, 1);
  put_string(huge_array, "tokenizer.ggml.tokens");
  put<uint32_t>(huge_array, 9);
  put<uint32_t>(huge_array, 0);
  put<uint64_t>(huge_array, 1ull << 40);
  c.push_back({"huge_array", huge_array, "claims 1099511627776 array items"});
  std::string bad_value = start(0, 1);
  put_string(bad_value, "k");
  put<uint32_t>(bad_value, 77);
  c.push_back({"unknown_value_type", bad_value, "key 'k' has unknown value type 77"});
  return c;
}

}  // namespace fastwan::test
