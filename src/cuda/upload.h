// Host tensors (typically views on a mapped checkpoint) to device memory, converted to the device dtype on
// the way. Loading a model is mostly this: the host side (reading the mapping, which faults pages in from the
// file, and converting) runs on the thread pool in chunks, each chunk staged in one of two pinned buffers and
// copied by DMA while the next chunk is prepared. Pageable copies of one tensor at a time were three times
// slower.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/tensor.h"

namespace fastwan::cuda {

class Uploader {
 public:
  // The copies go on `stream` (work queued there after them sees the values), or on a stream of the
  // uploader's own when null.
  explicit Uploader(cudaStream_t stream = nullptr, size_t chunk_bytes = size_t{32} << 20);
  ~Uploader();
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  // Starts copying `host` (contiguous, any float dtype) to `device` as host.numel() values of `dtype` (bf16,
  // f16 or f32; conversions round to nearest even like Tensor::to). Returns once `host` has been read; the
  // device memory is written when finish() returns.
  void upload(const Tensor& host, void* device, DType dtype);
  void finish();

  // Where a load's time went, for -v: "2.84 GB: reading and converting 0.12 s, waiting for copies 0.05 s"
  // (the rest of a load's time is its own: allocations, quantizing kernels, set-up).
  std::string summary() const;

 private:
  struct Slot {
    void* pinned = nullptr;
    cudaEvent_t copied = nullptr;
  };
  size_t chunk_bytes_;
  size_t bytes_ = 0;
  double host_seconds_ = 0, wait_seconds_ = 0;
  Slot slots_[2];
  int next_ = 0;
  cudaStream_t stream_ = nullptr;
  bool own_stream_ = false;
};

}  // namespace fastwan::cuda
