#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/mapped_file.h"

namespace fastwan {
namespace {

using json = nlohmann::json;

Error header_error(const std::string& what) {
  return Error("invalid safetensors header: " + what);
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

Expected<TensorInfo> parse_entry(const std::string& name, const json& e, uint64_t data_bytes) {
  const std::string where = "tensor '" + name + "'";
  if (!e.is_object()) return header_error(where + " is not an object");
  auto dt = e.find("dtype");
  auto sh = e.find("shape");
  auto off = e.find("data_offsets");
  if (dt == e.end() || !dt->is_string()) return header_error(where + " has no string 'dtype'");
  if (sh == e.end() || !sh->is_array()) return header_error(where + " has no 'shape' array");
  if (off == e.end() || !off->is_array() || off->size() != 2)
    return header_error(where + " has no 'data_offsets' [begin, end]");

  TensorInfo info;
  info.name = name;
  auto dtype = dtype_from_safetensors(dt->get<std::string>());
  if (!dtype) return header_error(where + " has unknown dtype '" + dt->get<std::string>() + "'");
  info.dtype = *dtype;

  if (sh->size() > 16) return header_error(where + " has more than 16 dimensions");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned())
      return header_error(where + " has a shape entry that is not a non-negative integer");
    uint64_t v = d.get<uint64_t>();
    if (v > (1ull << 40) || mul_overflows(numel, v, &numel))
      return header_error(where + " has an absurd shape");
    info.shape.push_back(static_cast<int64_t>(v));
  }
  for (const auto& o : *off)
    if (!o.is_number_unsigned())
      return header_error(where + " has data_offsets that are not non-negative integers");
  info.begin = (*off)[0].get<uint64_t>();
  info.end = (*off)[1].get<uint64_t>();
  if (info.begin > info.end) return header_error(where + " has data_offsets with begin > end");
  if (info.end > data_bytes)
    return header_error(where + " ends at byte " + std::to_string(info.end) + " but the data area has only " +
                        std::to_string(data_bytes) + " bytes (truncated file?)");
  uint64_t bytes;
  if (mul_overflows(numel, dtype_size(info.dtype), &bytes) || bytes != info.end - info.begin)
    return header_error(where + " " + std::string(dtype_safetensors_name(info.dtype)) +
                        shape_string(info.shape) + " needs " +
                        std::to_string(numel * dtype_size(info.dtype)) + " bytes but data_offsets span " +
                        std::to_string(info.end - info.begin));
  return info;
}

}  // namespace

Expected<std::vector<TensorInfo>> parse_safetensors_header(const char* text, size_t text_bytes,
                                                           uint64_t data_bytes,
                                                           std::map<std::string, std::string>* metadata) {
  json header = json::parse(text, text + text_bytes, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return header_error("not valid JSON");
  if (!header.is_object()) return header_error("not a JSON object");

  std::vector<TensorInfo> tensors;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return header_error("__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) return header_error("__metadata__ value '" + m.key() + "' is not a string");
        if (metadata) (*metadata)[m.key()] = m->get<std::string>();
      }
      continue;
    }
    FW_ASSIGN_OR_RETURN(TensorInfo info, parse_entry(it.key(), *it, data_bytes));
    tensors.push_back(std::move(info));
  }

  // Overlapping byte ranges would alias two tensors: reject them.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end && by_offset[i]->begin != by_offset[i]->end &&
        by_offset[i - 1]->begin != by_offset[i - 1]->end)
      return header_error("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name +
                          "' have overlapping data_offsets");
  }
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return tensors;
}

Expected<std::shared_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  auto fail = [&](const std::string& why) { return Error(path + ": " + why); };
  FW_ASSIGN_OR_RETURN(auto mapping, map_file(path));
  const uint64_t size = mapping->bytes;
  if (size < 8)
    return fail("file is " + std::to_string(size) +
                " bytes, too short for a safetensors header (truncated?)");
  auto file = std::make_shared<SafetensorsFile>();
  file->path_ = path;
  file->mapping_ = std::move(mapping);
  const void* p = file->mapping_->data;

  uint64_t n = 0;
  std::memcpy(&n, p, 8);  // little-endian on every platform we build for
  if (n > kMaxHeaderBytes)
    return fail("header length " + std::to_string(n) + " exceeds the " + std::to_string(kMaxHeaderBytes) +
                "-byte limit (corrupt file?)");
  if (n > size - 8)
    return fail("header length " + std::to_string(n) + " runs past the end of the " + std::to_string(size) +
                "-byte file (truncated?)");
  file->data_start_ = 8 + n;
  auto tensors = parse_safetensors_header(static_cast<const char*>(p) + 8, n, size - 8 - n, &file->metadata_);
  if (!tensors.ok()) return tensors.error().with_context(path);
  file->tensors_ = std::move(tensors).value();
  return file;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
}

Tensor SafetensorsFile::tensor(const TensorInfo& info) const {
  const uint64_t offset = data_start_ + info.begin;
  const char* ptr = static_cast<const char*>(mapping_->data) + offset;
  if (reinterpret_cast<uintptr_t>(ptr) % dtype_size(info.dtype) == 0)
    return Tensor::wrap(mapping_, offset, info.shape, info.dtype);
  Tensor copy = Tensor::empty(info.shape, info.dtype);
  std::memcpy(copy.raw(), ptr, info.end - info.begin);
  return copy;
}

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    uint64_t bytes = static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    header[t.name] = {{"dtype", std::string(dtype_safetensors_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data area 8-byte aligned

  const std::string tmp = path + ".partial";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Error(path + ": cannot write: " + std::strerror(errno));
  auto fail = [&](const std::string& why) {
    std::fclose(f);
    std::remove(tmp.c_str());
    return Error(path + ": " + why);
  };
  uint64_t n = text.size();
  if (std::fwrite(&n, 8, 1, f) != 1 || std::fwrite(text.data(), 1, text.size(), f) != text.size())
    return fail(std::string("write failed: ") + std::strerror(errno));
  std::vector<char> buffer;
  for (const auto& t : tensors) {
    size_t bytes = static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    buffer.resize(bytes);
    t.fill(buffer.data());
    if (bytes && std::fwrite(buffer.data(), 1, bytes, f) != bytes)
      return fail(std::string("write failed: ") + std::strerror(errno));
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    return Error(path + ": close failed: " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return Error(path + ": cannot rename into place: " + ec.message());
  }
  return Status::Ok();
}

Status write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<TensorToWrite> list;
  for (const auto& [name, tensor] : tensors) {
    Tensor t = tensor.contiguous();
    list.push_back({name, t.dtype(), t.shape(), [t](void* dst) {
                      if (t.nbytes() > 0) std::memcpy(dst, t.raw(), t.nbytes());  // empty: dst may be null
                    }});
  }
  return write_safetensors(path, list, metadata);
}

}  // namespace fastwan
