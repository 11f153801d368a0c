// Where device weights come from: a checkpoint (cast to bf16 at load, cuda/upload.h) or random draws made on
// the GPU with the same names, shapes and distributions as `fastwan synth` (for benchmarks without files). A
// model's device module tree is written once against this interface.
#pragma once

#include <chrono>
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
  // The same for a weight the caller converts and does not keep (a quantized linear's bf16 original): it may
  // sit in a buffer of the source's that the next get_staged() reuses, so that no device memory is freed
  // between weights (cudaFree waits for the whole device, which would stop the upload pipeline each time).
  virtual Expected<Tensor> get_staged(const std::vector<std::string>& names, const Shape& part) {
    return get(names, part);
  }
  Expected<Tensor> get_staged(const std::string& name, const Shape& shape) {
    return get_staged(std::vector{name}, shape);
  }
};

// Nothing waits between tensors: the copies are queued on `stream`, so reading and converting the next tensor
// on the host overlaps the copy of the last. Work queued on `stream` after get() sees the values (a staged
// weight's until the next get_staged()); the host and other streams see them after finish() (the destructor
// finishes too).
class CheckpointSource : public WeightSource {
 public:
  CheckpointSource(const WeightStore& store, cudaStream_t stream) : store_(store), uploader_(stream) {}
  using WeightSource::get;
  using WeightSource::get_staged;
  Expected<Tensor> get(const std::vector<std::string>& names, const Shape& part) override;
  Expected<Tensor> get_staged(const std::vector<std::string>& names, const Shape& part) override;
  void finish() { uploader_.finish(); }
  // Uploader::summary, then the source's whole life so far: "..., 0.214 s in all" (for -v after a load).
  std::string summary() const;

 private:
  Status upload(const std::vector<std::string>& names, const Shape& part, const Tensor& dst);

  const WeightStore& store_;
  Uploader uploader_;
  Tensor staging_;  // bf16, grown to the largest staged weight
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
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
