// The CUDA device, streams, device tensors and the memory arena.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan::cuda {

// Whether a CUDA device can be used (driver present, at least one device). Never throws.
bool device_available();
// A device's name, SM count and memory; an Error when there is no usable GPU.
struct DeviceInfo {
  std::string name;
  int sm_count = 0;
  int major = 0, minor = 0;
  size_t total_memory = 0;
  size_t max_smem_per_block = 0;
};
// Every default ordinal here and in context.h means the calling thread's current device (cudaSetDevice's; 0
// unless the thread chose another), so that a thread bound to GPU i (use_device: a server replica) builds
// everything there.
constexpr int kCurrentDevice = -1;
int resolve_device(int ordinal);  // kCurrentDevice: cudaGetDevice's
Expected<DeviceInfo> device_info(int ordinal = kCurrentDevice);
// Binds the calling thread to GPU `ordinal`: an Error naming the count when the machine has no such GPU.
Status use_device(int ordinal);

// An Error naming the device, its compute capability and the architectures this binary has code for ("sm_80
// sm_86 ... compute_120") when none of them runs on it (code_probe.cu).
Status check_device_code(const DeviceInfo& info, int ordinal = kCurrentDevice);

// Device tensors are allocated with plain cudaMalloc (see the arena for activations). Installs the
// allocator that Tensor::empty(..., Device::cuda) uses.
void install_device_allocator();
// The most device memory fastwan's tensors and arenas held at once since the process started (the small
// cuBLASLt and cuDNN workspaces are not counted).
size_t peak_allocated_bytes();

// Copies between host and device (synchronous on the default stream unless a stream is given).
Tensor to_device(const Tensor& host, DType dtype,
                 cudaStream_t stream = nullptr);  // converts on the host first
Tensor to_host(const Tensor& device, cudaStream_t stream = nullptr);

// Fills a device tensor's bytes with 0xFF: NaN for every float dtype, so unwritten outputs show up.
void poison(const Tensor& device, cudaStream_t stream = nullptr);

// A bump allocator over one cudaMalloc block: activations are carved out once per plan and reused across
// steps; no per-op allocation. Tensors it hands out are views on the block.
class Arena {
 public:
  explicit Arena(size_t bytes);
  // A counting arena: alloc() only adds up sizes (returns undefined tensors), so a layout function can be
  // run once to size the real arena exactly.
  static Arena counting() { return Arena(); }
  Tensor alloc(const Shape& shape, DType dtype);
  void reset() { offset_ = 0; }
  size_t used() const { return offset_; }
  size_t high_water() const { return high_water_; }
  size_t capacity() const { return storage_ ? storage_->bytes : 0; }

 private:
  Arena() = default;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  size_t high_water_ = 0;
};

// Peak device memory as seen by cudaMemGetInfo around a region (all allocations, any allocator).
class MemoryMeter {
 public:
  MemoryMeter();
  void sample();
  size_t peak_bytes() const { return peak_used_ - base_used_; }

 private:
  size_t base_used_ = 0;
  size_t peak_used_ = 0;
};

// CUDA events timing on a stream.
class Timer {
 public:
  explicit Timer(cudaStream_t stream = nullptr);
  ~Timer();
  void start();
  float stop_ms();  // synchronizes

 private:
  cudaStream_t stream_;
  cudaEvent_t begin_, end_;
};

}  // namespace fastwan::cuda
