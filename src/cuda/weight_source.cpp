#include "cuda/weight_source.h"

#include <functional>

#include "cuda/device.h"
#include "ops/cuda/random.h"

namespace fastwan::cuda {

Expected<Tensor> CheckpointSource::get(const std::vector<std::string>& names, const Shape& part) {
  install_device_allocator();
  Shape shape = part;
  shape[0] *= static_cast<int64_t>(names.size());
  Tensor dst = Tensor::empty(shape, DType::bf16, Device::cuda);
  const int64_t per_name = shape_numel(part);
  for (size_t i = 0; i < names.size(); ++i) {
    FW_ASSIGN_OR_RETURN(Tensor t, store_.get(names[i], part));
    uploader_.upload(t, static_cast<char*>(dst.raw()) + i * per_name * 2, DType::bf16);
  }
  uploader_.finish();
  return dst;
}

RandomSource::RandomSource(const std::vector<ParamSpec>& specs, uint64_t seed) : seed_(seed) {
  for (const auto& s : specs) specs_[s.name] = s;
}

Expected<Tensor> RandomSource::get(const std::vector<std::string>& names, const Shape& part) {
  install_device_allocator();
  Shape shape = part;
  shape[0] *= static_cast<int64_t>(names.size());
  Tensor t = Tensor::empty(shape, DType::bf16, Device::cuda);
  const int64_t per_name = shape_numel(part);
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = specs_.find(names[i]);
    if (it == specs_.end()) return Error("random weights: no parameter named '" + names[i] + "'");
    fill_normal(static_cast<char*>(t.raw()) + i * per_name * 2, DType::bf16, per_name,
                seed_ + std::hash<std::string>{}(names[i]), it->second.mean, it->second.std, nullptr);
  }
  return t;
}

}  // namespace fastwan::cuda
