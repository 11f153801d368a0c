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
#include <set>

namespace fastwan::cuda {

class GemmEngine;  // gemm.cpp
class ConvEngine;  // conv.cpp

class DeviceContext {
 public:
  // A context on device `ordinal` with a stream of its own. Throws CudaError when the device is unusable.
  static std::shared_ptr<DeviceContext> create(int ordinal = 0);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  int ordinal() const { return ordinal_; }
  cudaStream_t stream() const { return stream_; }
  // Makes this context's device the calling thread's current device.
  void make_current() const;

  GemmEngine& gemms();  // created on first use
  ConvEngine& convs();  // created on first use
  // True the first time a key (a kernel's address) is seen on this context: one-time kernel attributes.
  bool first_use(const void* key);

 private:
  DeviceContext() = default;
  int ordinal_ = 0;
  cudaStream_t stream_ = nullptr;
  std::mutex mu_;
  std::unique_ptr<GemmEngine, void (*)(GemmEngine*)> gemms_{nullptr, nullptr};
  std::unique_ptr<ConvEngine, void (*)(ConvEngine*)> convs_{nullptr, nullptr};
  std::set<const void*> seen_;
};

}  // namespace fastwan::cuda
