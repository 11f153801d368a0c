#include "cuda/weight_source.h"

#include <cstdio>
#include <functional>

#include "cuda/device.h"
#include "ops/cuda/random.h"

namespace fastwan::cuda {

namespace {

Shape stacked(const std::vector<std::string>& names, const Shape& part) {
  Shape shape = part;
  shape[0] *= static_cast<int64_t>(names.size());
  return shape;
}

}  // namespace

std::string CheckpointSource::summary() const {
  char text[32];
  std::snprintf(text, sizeof text, ", %.3f s in all",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - created_).count());
  return uploader_.summary() + text;
}

Status CheckpointSource::upload(const std::vector<std::string>& names, const Shape& part, const Tensor& dst) {
  const int64_t per_name = shape_numel(part);
  for (size_t i = 0; i < names.size(); ++i) {
    FW_ASSIGN_OR_RETURN(Tensor t, store_.get(names[i], part));
    uploader_.upload(t, static_cast<char*>(dst.raw()) + i * per_name * 2, DType::bf16);
  }
  return Status::Ok();
}

Expected<Tensor> CheckpointSource::get(const std::vector<std::string>& names, const Shape& part) {
  install_device_allocator();
  Tensor dst = Tensor::empty(stacked(names, part), DType::bf16, Device::cuda);
  FW_RETURN_IF_ERROR(upload(names, part, dst));
  return dst;
}

Expected<Tensor> CheckpointSource::get_staged(const std::vector<std::string>& names, const Shape& part) {
  install_device_allocator();
  const Shape shape = stacked(names, part);
  const int64_t n = shape_numel(shape);
  // Growing frees the old buffer (and waits for the device): a few times per model, largest first or not.
  if (!staging_.defined() || staging_.numel() < n) staging_ = Tensor::empty({n}, DType::bf16, Device::cuda);
  Tensor dst = staging_.slice(0, 0, n).reshape(shape);
  FW_RETURN_IF_ERROR(upload(names, part, dst));
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
