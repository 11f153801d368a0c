// A per-device context: everything a GPU op needs besides its operands. The device ordinal, the stream the
// work is queued on, and the library state that must not be shared by accident: the cuBLASLt handle with
// its workspace and cached GEMM plans, the cuDNN handle with its workspace and convolution plans. Each model
// stage owns one, so two models (or two requests, or two GPUs) never race on a workspace.
//
// The stream is a blocking stream: host copies on the legacy default stream (cudaMemcpy) stay ordered with
// the context's work, while graph capture works on it as on any created stream.
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "cuda/device.h"
#include "fastwan/status.h"
#include "quant/kernel_sets.h"

namespace fastwan::cuda {

class GemmEngine;  // gemm.cpp
class ConvEngine;  // conv.cpp

class DeviceContext {
 public:
  // A context on device `ordinal` (default: the calling thread's current device, device.h) with a stream of
  // its own, running `kernels` (default: the device's own set, quant::resolve_kernel_set's auto). Throws
  // CudaError when the device is unusable.
  static std::shared_ptr<DeviceContext> create(int ordinal = kCurrentDevice,
                                               std::optional<quant::KernelSet> kernels = {});
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  int ordinal() const { return ordinal_; }
  cudaStream_t stream() const { return stream_; }
  // Which kernels the ops queued on this context use where there is a choice (the DiT's attention).
  quant::KernelSet kernels() const { return kernels_; }
  quant::ComputeCapability capability() const { return capability_; }
  // Makes this context's device the calling thread's current device.
  void make_current() const;

  GemmEngine& gemms();  // created on first use
  ConvEngine& convs();  // created on first use
  // True the first time a key (a kernel's address) is seen on this context: one-time kernel attributes.
  bool first_use(const void* key);

 private:
  DeviceContext() = default;
  int ordinal_ = 0;
  quant::KernelSet kernels_ = quant::KernelSet::portable;
  quant::ComputeCapability capability_;
  cudaStream_t stream_ = nullptr;
  std::mutex mu_;
  std::unique_ptr<GemmEngine, void (*)(GemmEngine*)> gemms_{nullptr, nullptr};
  std::unique_ptr<ConvEngine, void (*)(ConvEngine*)> convs_{nullptr, nullptr};
  std::set<const void*> seen_;
};

// The kernel set options.kernels resolves to on device `ordinal` when it computes options' modes there, or an
// Error naming the GPU and what the set or a mode needs (quant/kernel_sets.h).
Expected<quant::KernelSet> kernel_set_for(const quant::ModelOptions& options, int ordinal = kCurrentDevice);
// A context for a DiT in `options` on device `ordinal`, running kernel_set_for's set.
Expected<std::shared_ptr<DeviceContext>> context_for(const quant::ModelOptions& options,
                                                     int ordinal = kCurrentDevice);

}  // namespace fastwan::cuda
