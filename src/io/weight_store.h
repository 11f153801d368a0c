// WeightStore: the tensors of one model component, from one safetensors file or a sharded set
// (`*.safetensors.index.json` with a "weight_map" of tensor name -> shard file).
//
// Lookups validate: a missing tensor, or one with the wrong shape or a non-float dtype, is an Error that
// names the tensor, the file, and expected vs found.
//
// A store may also hold tensors that are not views on a safetensors file (GGUF blocks, scaled FP8, a merged
// LoRA): those entries carry a Reader that makes the tensor on each get(). Files in another layout are
// renamed to the diffusers names in place (rename()), so every loader asks for one set of names.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace fastwan {

class WeightStore {
 public:
  // `path` is a .safetensors file, a *.safetensors.index.json, or a folder: there the diffusers and
  // transformers file names are tried first (diffusion_pytorch_model / model, index before single file),
  // then a lone index, then a lone .safetensors file.
  static Expected<WeightStore> open(const std::string& path);

  // Makes a tensor on demand (dequantizes, merges); its TensorInfo says what is stored.
  using Reader = std::function<Expected<Tensor>()>;
  // An empty store of decoded tensors; `source` names the file in messages. `keep_alive` owns what the
  // readers point into (a mapped file).
  static WeightStore of_readers(std::string source, std::shared_ptr<const void> keep_alive);

  const std::string& source() const { return source_; }  // what was opened, for messages
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  std::vector<std::string> names() const;
  size_t size() const { return index_.size(); }
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

  // The tensor as stored (a view on the mapping). Errors if missing.
  Expected<Tensor> get(const std::string& name) const;
  // The tensor, checked to be a float tensor of exactly `shape`.
  Expected<Tensor> get(const std::string& name, const Shape& shape) const;
  const TensorInfo* info(const std::string& name) const;
  std::string file_of(const std::string& name) const;
  // The name in the file (differs from `name` after rename()).
  std::string stored_name(const std::string& name) const;

  // The layout in words ("diffusers", "original Wan (ComfyUI), prefix model.diffusion_model."); set by
  // whoever renamed the store.
  const std::string& layout() const { return layout_; }
  // A metadata entry of the files (safetensors __metadata__, GGUF string key/values).
  std::optional<std::string> metadata(const std::string& key) const;
  void set_metadata(std::map<std::string, std::string> metadata) { metadata_ = std::move(metadata); }
  void set_layout(std::string layout) { layout_ = std::move(layout); }

  // Renames every tensor for which `rename` gives a name (others keep theirs); two tensors with one new name
  // are an error naming both.
  Status rename(const std::function<std::optional<std::string>(const std::string&)>& rename);
  // Adds or replaces `name`: made by `read`, described by `info` (stored name, dtype, shape, bytes).
  void set(const std::string& name, TensorInfo info, Reader read);
  void erase(const std::string& name) { index_.erase(name); }
  // How `name` is read now (to wrap it: a LoRA merged over a dequantized weight). Empty if missing.
  Reader reader(const std::string& name) const;

 private:
  static Expected<WeightStore> open_index(const std::string& index_path);
  struct Entry {
    TensorInfo info;                        // as stored
    const SafetensorsFile* file = nullptr;  // a view on this file's mapping, or
    Reader read;                            // made on demand
  };
  std::string source_;
  std::string layout_;
  std::map<std::string, std::string> metadata_;  // of a store of readers
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::vector<std::shared_ptr<const void>> keep_alive_;
  std::map<std::string, Entry> index_;
};

}  // namespace fastwan
