// Where device weights come from: a checkpoint (cast to bf16 at load, cuda/upload.h) or random draws made on
// the GPU with the same names, shapes and distributions as `fastwan synth` (for benchmarks without files). A
// model's device module tree is written once against this interface.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cuda/upload.h"
#include "io/weight_store.h"
#include "synth/random_weights.h"

namespace fastwan::cuda {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // Device bf16 tensor holding the named tensors (each of shape `part` as stored) stacked along dim 0:
  // the result has part[0] * names.size() rows. Errors name the missing or misshapen tensor.
  virtual Expected<Tensor> get(const std::vector<std::string>& names, const Shape& part) = 0;
  Expected<Tensor> get(const std::string& name, const Shape& shape) { return get(std::vector{name}, shape); }
};

class CheckpointSource : public WeightSource {
 public:
  explicit CheckpointSource(const WeightStore& store) : store_(store) {}
  using WeightSource::get;
  Expected<Tensor> get(const std::vector<std::string>& names, const Shape& part) override;

 private:
  const WeightStore& store_;
  Uploader uploader_;
};

class RandomSource : public WeightSource {
 public:
  RandomSource(const std::vector<ParamSpec>& specs, uint64_t seed);
  using WeightSource::get;
  Expected<Tensor> get(const std::vector<std::string>& names, const Shape& part) override;

 private:
  uint64_t seed_;
  std::map<std::string, ParamSpec> specs_;
};

}  // namespace fastwan::cuda
