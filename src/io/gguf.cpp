#include "io/gguf.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <type_traits>

#include "core/thread_pool.h"
#include "io/mapped_file.h"

namespace fastwan {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint64_t kMaxCount = 1u << 20;  // tensors or key/values: real files have a few thousand
constexpr uint64_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr uint64_t kMaxDim = 1ull << 40;
constexpr int kMaxNesting = 2;
constexpr char kOrigShape[] =
    "comfy.gguf.orig_shape.";  // ComfyUI-GGUF's key for a tensor's real shape  // arrays of arrays (tokenizer
                               // merges) are the deepest real files go

// Names and keys are raw bytes in the file: control characters become '?' so the message stays one line.
Error header_error(std::string what) {
  for (char& ch : what)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  return Error("invalid GGUF header: " + what);
}

// Bounds-checked little-endian reads from the file image.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  template <typename T>
  Expected<T> read(const std::string& what) {
    if (left() < sizeof(T))
      return header_error(what + " runs past the end of the " + std::to_string(size_) +
                          "-byte file (truncated?)");
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  Expected<std::string> string(const std::string& what) {
    FW_ASSIGN_OR_RETURN(uint64_t n, read<uint64_t>(what + " length"));
    if (n > left())
      return header_error(what + " of " + std::to_string(n) +
                          " bytes runs past the end of the file (truncated?)");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  Status skip(uint64_t n, const std::string& what) {
    if (n > left()) return header_error(what + " runs past the end of the file (truncated?)");
    pos_ += n;
    return Status::Ok();
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// One number as text; integers also go to `ints` when given (array items: comfy.gguf.orig_shape).
template <typename T>
Expected<std::string> number(Cursor& c, const std::string& key, std::vector<int64_t>* ints) {
  FW_ASSIGN_OR_RETURN(T v, c.read<T>(key));
  if constexpr (std::is_integral_v<T>) {
    if (ints) ints->push_back(static_cast<int64_t>(v));
  }
  return std::to_string(v);
}

// GGUF value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64,
// 11 i64, 12 f64.
Expected<std::string> read_value(Cursor& c, uint32_t type, const std::string& key, int depth,
                                 std::vector<int64_t>* ints) {
  switch (type) {
    case 0:
      return number<uint8_t>(c, key, ints);
    case 1:
      return number<int8_t>(c, key, ints);
    case 2:
      return number<uint16_t>(c, key, ints);
    case 3:
      return number<int16_t>(c, key, ints);
    case 4:
      return number<uint32_t>(c, key, ints);
    case 5:
      return number<int32_t>(c, key, ints);
    case 6:
      return number<float>(c, key, nullptr);
    case 7: {
      FW_ASSIGN_OR_RETURN(uint8_t v, c.read<uint8_t>(key));
      return std::string(v ? "true" : "false");
    }
    case 8:
      return c.string("value of '" + key + "'");
    case 10:
      return number<uint64_t>(c, key, ints);
    case 11:
      return number<int64_t>(c, key, ints);
    case 12:
      return number<double>(c, key, nullptr);
    case 9: {
      if (depth >= kMaxNesting) return header_error("key '" + key + "' nests arrays too deeply");
      FW_ASSIGN_OR_RETURN(uint32_t item_type, c.read<uint32_t>(key + " array type"));
      FW_ASSIGN_OR_RETURN(uint64_t n, c.read<uint64_t>(key + " array length"));
      if (n > c.left())  // every item takes at least one byte
        return header_error("key '" + key + "' claims " + std::to_string(n) + " array items in " +
                            std::to_string(c.left()) + " bytes");
      for (uint64_t i = 0; i < n; ++i) {
        auto item = read_value(c, item_type, key, depth + 1, ints);
        if (!item) return item.error();
      }
      return "[" + std::to_string(n) + " values]";
    }
    default:
      return header_error("key '" + key + "' has unknown value type " + std::to_string(type));
  }
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

Expected<GgufTensor> read_tensor_info(Cursor& c, uint64_t index) {
  GgufTensor t;
  FW_ASSIGN_OR_RETURN(t.name, c.string("tensor " + std::to_string(index) + " name"));
  const std::string where = "tensor '" + t.name + "'";
  FW_ASSIGN_OR_RETURN(uint32_t n_dims, c.read<uint32_t>(where + " dimension count"));
  if (n_dims == 0 || n_dims > kMaxDims)
    return header_error(where + " has " + std::to_string(n_dims) + " dimensions (expected 1 to 4)");
  std::vector<uint64_t> ne(n_dims);
  uint64_t numel = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    FW_ASSIGN_OR_RETURN(ne[d], c.read<uint64_t>(where + " dimensions"));
    if (ne[d] > kMaxDim || mul_overflows(numel, ne[d], &numel))
      return header_error(where + " has an absurd shape");
  }
  for (auto it = ne.rbegin(); it != ne.rend(); ++it) t.shape.push_back(static_cast<int64_t>(*it));
  FW_ASSIGN_OR_RETURN(uint32_t type, c.read<uint32_t>(where + " type"));
  t.type = ggml_type(type);
  if (!t.type)
    return header_error(where + " has ggml type " + std::to_string(type) + ", not one fastwan reads (" +
                        ggml_supported_types() + ")");
  if (ne[0] % static_cast<uint64_t>(t.type->block_elems) != 0)
    return header_error(where + " " + t.type->name + shape_string(t.shape) + ": the innermost dimension " +
                        std::to_string(ne[0]) + " is not a multiple of the " +
                        std::to_string(t.type->block_elems) + "-value block");
  t.bytes = numel / static_cast<uint64_t>(t.type->block_elems) * static_cast<uint64_t>(t.type->block_bytes);
  FW_ASSIGN_OR_RETURN(t.offset, c.read<uint64_t>(where + " offset"));
  return t;
}

}  // namespace

Expected<GgufHeader> parse_gguf(const uint8_t* data, uint64_t size) {
  Cursor c(data, size);
  if (size < 4 || std::memcmp(data, kMagic, 4) != 0)
    return header_error("the file does not start with the GGUF magic");
  FW_RETURN_IF_ERROR(c.skip(4, "magic"));
  GgufHeader h;
  FW_ASSIGN_OR_RETURN(h.version, c.read<uint32_t>("version"));
  if (h.version != 2 && h.version != 3)
    return header_error("version " + std::to_string(h.version) + " (expected 2 or 3)");
  FW_ASSIGN_OR_RETURN(uint64_t n_tensors, c.read<uint64_t>("tensor count"));
  FW_ASSIGN_OR_RETURN(uint64_t n_kv, c.read<uint64_t>("key/value count"));
  if (n_tensors > kMaxCount || n_kv > kMaxCount)
    return header_error("claims " + std::to_string(n_tensors) + " tensors and " + std::to_string(n_kv) +
                        " key/values (the limit is " + std::to_string(kMaxCount) + ")");
  uint64_t alignment = 32;
  std::map<std::string, std::vector<int64_t>> orig_shapes;
  for (uint64_t i = 0; i < n_kv; ++i) {
    FW_ASSIGN_OR_RETURN(std::string key, c.string("key " + std::to_string(i)));
    FW_ASSIGN_OR_RETURN(uint32_t type, c.read<uint32_t>("type of key '" + key + "'"));
    std::vector<int64_t> ints;
    FW_ASSIGN_OR_RETURN(std::string value, read_value(c, type, key, 0, &ints));
    if (key.starts_with(kOrigShape)) orig_shapes[key.substr(std::string(kOrigShape).size())] = ints;
    if (key == "general.alignment") {
      if (type != 4) return header_error("general.alignment is not a u32");
      alignment = std::stoull(value);
      if (alignment == 0 || alignment > 4096 || (alignment & (alignment - 1)) != 0)
        return header_error("general.alignment " + value + " is not a power of two up to 4096");
    }
    h.metadata[key] = std::move(value);
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    FW_ASSIGN_OR_RETURN(GgufTensor t, read_tensor_info(c, i));
    // Tensors of more than 4 dimensions (or reshaped for their blocks) carry their real shape in a key.
    if (auto it = orig_shapes.find(t.name); it != orig_shapes.end()) {
      const Shape orig(it->second.begin(), it->second.end());
      bool valid = !orig.empty() && orig.size() <= 16;
      uint64_t numel = 1;
      for (int64_t d : orig)
        valid = valid && d >= 0 && static_cast<uint64_t>(d) <= kMaxDim &&
                !mul_overflows(numel, static_cast<uint64_t>(d), &numel);
      if (!valid || numel != static_cast<uint64_t>(shape_numel(t.shape)))
        return header_error("tensor '" + t.name + "' " + shape_string(t.shape) + ": " + kOrigShape + t.name +
                            " does not give a shape of the same size");
      t.shape = orig;
    }
    h.tensors.push_back(std::move(t));
  }
  h.data_start = (c.pos() + alignment - 1) / alignment * alignment;
  const uint64_t data_bytes = h.data_start <= size ? size - h.data_start : 0;
  std::vector<const GgufTensor*> by_offset;
  for (const auto& t : h.tensors) {
    const std::string where = "tensor '" + t.name + "'";
    if (t.offset % alignment != 0)
      return header_error(where + " offset " + std::to_string(t.offset) +
                          " is not a multiple of the alignment " + std::to_string(alignment));
    if (t.offset > data_bytes || t.bytes > data_bytes - t.offset)
      return header_error(where + " " + t.type->name + shape_string(t.shape) + " needs bytes " +
                          std::to_string(t.offset) + " to " + std::to_string(t.offset + t.bytes) +
                          " of a data area of " + std::to_string(data_bytes) + " bytes (truncated file?)");
    if (t.bytes) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->offset < by_offset[i - 1]->offset + by_offset[i - 1]->bytes)
      return header_error("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name +
                          "' overlap");
  return h;
}

Expected<std::shared_ptr<GgufFile>> GgufFile::open(const std::string& path) {
  FW_ASSIGN_OR_RETURN(auto mapping, map_file(path));
  auto header = parse_gguf(static_cast<const uint8_t*>(mapping->data), mapping->bytes);
  if (!header) return header.error().with_context(path);
  auto file = std::make_shared<GgufFile>();
  file->path_ = path;
  file->mapping_ = std::move(mapping);
  file->header_ = std::move(*header);
  return file;
}

DType GgufFile::decoded_dtype(const GgmlType& type) {
  switch (type.id) {
    case 0:
      return DType::f32;
    case 1:
      return DType::f16;
    default:
      return DType::bf16;
  }
}

Tensor GgufFile::tensor(const GgufTensor& t) const {
  const uint64_t offset = header_.data_start + t.offset;
  const auto* src = static_cast<const uint8_t*>(mapping_->data) + offset;
  const DType dtype = decoded_dtype(*t.type);
  if (!t.type->dequantize) {
    if (reinterpret_cast<uintptr_t>(src) % dtype_size(dtype) == 0)
      return Tensor::wrap(mapping_, offset, t.shape, dtype);
    Tensor copy = Tensor::empty(t.shape, dtype);
    std::memcpy(copy.raw(), src, t.bytes);
    return copy;
  }
  Tensor out = Tensor::empty(t.shape, DType::bf16);
  const int64_t elems = t.type->block_elems, blocks = shape_numel(t.shape) / elems;
  auto* dst = out.data<uint16_t>();
  parallel_for(blocks, 256, [&](int64_t begin, int64_t end) {
    std::vector<float> values(static_cast<size_t>(elems));
    for (int64_t b = begin; b < end; ++b) {
      t.type->dequantize(src + b * t.type->block_bytes, values.data());
      for (int64_t i = 0; i < elems; ++i) dst[b * elems + i] = float_to_bf16(values[static_cast<size_t>(i)]);
    }
  });
  return out;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, kMagic, 4) == 0;
}

Expected<WeightStore> open_gguf_store(const std::string& path) {
  FW_ASSIGN_OR_RETURN(auto file, GgufFile::open(path));
  WeightStore store = WeightStore::of_readers(path, file);
  store.set_layout("GGUF");
  store.set_metadata(file->header().metadata);
  for (const auto& t : file->header().tensors) {
    if (store.contains(t.name)) return Error(path + ": tensor '" + t.name + "' appears twice");
    TensorInfo info{t.name, GgufFile::decoded_dtype(*t.type), t.shape, t.offset, t.offset + t.bytes};
    const GgufFile* f = file.get();
    const GgufTensor* tensor = &t;
    store.set(t.name, info, [f, tensor]() -> Expected<Tensor> { return f->tensor(*tensor); });
  }
  return store;
}

}  // namespace fastwan
