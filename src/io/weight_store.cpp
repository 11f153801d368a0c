#include "io/weight_store.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/json_config.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Expected<WeightStore> WeightStore::open(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    // The names diffusers and transformers write, in order of preference.
    for (const char* known :
         {"diffusion_pytorch_model.safetensors.index.json", "diffusion_pytorch_model.safetensors",
          "model.safetensors.index.json", "model.safetensors"}) {
      const fs::path candidate = fs::path(path) / known;
      if (fs::exists(candidate, ec)) return open(candidate.string());
    }
    std::vector<std::string> indexes, singles;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      const std::string name = e.path().filename().string();
      if (ends_with(name, ".safetensors.index.json"))
        indexes.push_back(e.path().string());
      else if (ends_with(name, ".safetensors"))
        singles.push_back(e.path().string());
    }
    if (indexes.size() == 1) return open_index(indexes[0]);
    if (indexes.size() > 1)
      return Error(path + ": more than one *.safetensors.index.json; name the one to use");
    if (singles.size() == 1) return open(singles[0]);
    if (singles.empty())
      return Error(path + ": no .safetensors weights (expected a *.safetensors file or an index)");
    return Error(path +
                 ": several .safetensors files but no *.safetensors.index.json saying which tensor is where");
  }
  if (ends_with(path, ".index.json")) return open_index(path);
  if (is_gguf_file(path)) return open_gguf_store(path);
  FW_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(path));
  WeightStore store;
  store.source_ = path;
  for (const auto& t : file->tensors()) store.index_[t.name] = {t, file.get(), nullptr};
  store.files_.push_back(std::move(file));
  return store;
}

Expected<WeightStore> WeightStore::open_index(const std::string& index_path) {
  FW_ASSIGN_OR_RETURN(nlohmann::json index, read_json_file(index_path));
  auto wm = index.find("weight_map");
  if (!index.is_object() || wm == index.end() || !wm->is_object())
    return Error(index_path + ": expected an object with a \"weight_map\" of tensor name -> shard file");
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
  std::map<std::string, std::string> where;  // tensor -> shard file name
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string())
      return Error(index_path + ": weight_map entry '" + it.key() + "' is not a file name");
    const std::string shard = it->get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      return Error(index_path + ": weight_map names '" + shard + "', expected a file name beside the index");
    where[it.key()] = shard;
    if (!shards.count(shard)) {
      const std::string shard_path = (dir / shard).string();
      if (!fs::exists(shard_path))
        return Error(index_path + ": names shard '" + shard + "', but " + shard_path + " does not exist");
      FW_ASSIGN_OR_RETURN(auto f, SafetensorsFile::open(shard_path));
      shards[shard] = std::move(f);
    }
  }
  if (where.empty()) return Error(index_path + ": weight_map is empty");

  WeightStore store;
  store.source_ = index_path;
  for (const auto& [name, shard] : where) {
    const auto& file = shards[shard];
    const TensorInfo* info = file->find(name);
    if (!info)
      return Error(index_path + ": says tensor '" + name + "' is in " + shard +
                   ", but that file has no such tensor");
    store.index_[name] = {*info, file.get(), nullptr};
  }
  for (auto& [name, f] : shards) store.files_.push_back(f);
  return store;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : index_) out.push_back(name);
  return out;
}

WeightStore WeightStore::of_readers(std::string source, std::shared_ptr<const void> keep_alive) {
  WeightStore store;
  store.source_ = std::move(source);
  store.keep_alive_.push_back(std::move(keep_alive));
  return store;
}

const TensorInfo* WeightStore::info(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &it->second.info;
}

std::string WeightStore::file_of(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() || !it->second.file ? source_ : it->second.file->path();
}

std::optional<std::string> WeightStore::metadata(const std::string& key) const {
  for (const auto& f : files_)
    if (auto it = f->metadata().find(key); it != f->metadata().end()) return it->second;
  if (auto it = metadata_.find(key); it != metadata_.end()) return it->second;
  return std::nullopt;
}

std::string WeightStore::stored_name(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? name : it->second.info.name;
}

Status WeightStore::rename(const std::function<std::optional<std::string>(const std::string&)>& rename) {
  std::map<std::string, Entry> renamed;
  for (auto& [name, entry] : index_) {
    const std::string to = rename(name).value_or(name);
    if (renamed.count(to))
      return Error(source_ + ": tensors '" + renamed[to].info.name + "' and '" + entry.info.name +
                   "' both stand for '" + to + "'");
    renamed[to] = std::move(entry);
  }
  index_ = std::move(renamed);
  return Status::Ok();
}

void WeightStore::set(const std::string& name, TensorInfo info, Reader read) {
  index_[name] = {std::move(info), nullptr, std::move(read)};
}

WeightStore::Reader WeightStore::reader(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return nullptr;
  if (it->second.read) return it->second.read;
  const SafetensorsFile* file = it->second.file;
  const TensorInfo info = it->second.info;
  // The files stay alive as long as the store that holds the reader's entry.
  return [file, info]() -> Expected<Tensor> { return file->tensor(info); };
}

Expected<Tensor> WeightStore::get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    return Error("tensor '" + name + "' not found in " + source_ + " (" + std::to_string(index_.size()) +
                 " tensors there)");
  if (it->second.read) {
    auto t = it->second.read();
    if (!t) return t.error().with_context("tensor '" + name + "'");
    return t;
  }
  return it->second.file->tensor(it->second.info);
}

Expected<Tensor> WeightStore::get(const std::string& name, const Shape& shape) const {
  FW_ASSIGN_OR_RETURN(Tensor t, get(name));
  if (t.shape() != shape || !dtype_is_float(t.dtype()))
    return Error("tensor '" + name + "'" +
                 (stored_name(name) != name ? " (stored as '" + stored_name(name) + "')" : "") + " in " +
                 file_of(name) + ": expected a float tensor of shape " + shape_string(shape) + ", found " +
                 std::string(dtype_safetensors_name(t.dtype())) + shape_string(t.shape()));
  return t;
}

}  // namespace fastwan
