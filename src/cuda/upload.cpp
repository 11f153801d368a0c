#include "cuda/upload.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cuda/check.h"

namespace fastwan::cuda {
namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

Uploader::Uploader(cudaStream_t stream, size_t chunk_bytes)
    : chunk_bytes_(chunk_bytes), stream_(stream), own_stream_(stream == nullptr) {
  if (own_stream_) FW_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  for (auto& s : slots_) {
    FW_CUDA_CHECK(cudaMallocHost(&s.pinned, chunk_bytes_));
    FW_CUDA_CHECK(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming));
  }
}

Uploader::~Uploader() {
  cudaStreamSynchronize(stream_);
  for (auto& s : slots_) {
    cudaFreeHost(s.pinned);
    cudaEventDestroy(s.copied);
  }
  if (own_stream_) cudaStreamDestroy(stream_);
}

void Uploader::upload(const Tensor& host, void* device, DType dtype) {
  FW_CHECK(host.device() == Device::cpu && host.is_contiguous(),
           "Uploader: expected a contiguous host tensor");
  FW_CHECK(dtype == DType::bf16 || dtype == DType::f16 || dtype == DType::f32,
           "Uploader: the device dtype must be bf16, f16 or f32");
  const DType from = host.dtype();
  const size_t in_size = dtype_size(from), out_size = dtype_size(dtype);
  const int64_t per_chunk = static_cast<int64_t>(chunk_bytes_ / out_size);
  const char* src = static_cast<const char*>(host.raw());
  char* dst = static_cast<char*>(device);
  for (int64_t begin = 0; begin < host.numel(); begin += per_chunk) {
    const int64_t n = std::min(per_chunk, host.numel() - begin);
    Slot& slot = slots_[next_];
    next_ ^= 1;
    const auto t0 = Clock::now();
    FW_CUDA_CHECK(cudaEventSynchronize(slot.copied));  // its previous chunk has left
    const auto t1 = Clock::now();
    char* staged = static_cast<char*>(slot.pinned);
    const char* in = src + begin * in_size;
    parallel_for(n, int64_t{1} << 18, [&](int64_t b, int64_t e) {
      if (from == dtype) {
        std::memcpy(staged + b * out_size, in + b * in_size, (e - b) * in_size);
      } else if (from == DType::f32) {
        convert_from_f32(reinterpret_cast<const float*>(in) + b, staged + b * out_size, dtype, e - b);
      } else {
        std::vector<float> f(e - b);
        convert_to_f32(in + b * in_size, from, f.data(), f.size());
        convert_from_f32(f.data(), staged + b * out_size, dtype, f.size());
      }
    });
    wait_seconds_ += seconds(t1 - t0);
    host_seconds_ += seconds(Clock::now() - t1);
    bytes_ += static_cast<size_t>(n) * out_size;
    FW_CUDA_CHECK(
        cudaMemcpyAsync(dst + begin * out_size, staged, n * out_size, cudaMemcpyHostToDevice, stream_));
    FW_CUDA_CHECK(cudaEventRecord(slot.copied, stream_));
  }
}

void Uploader::finish() {
  const auto t0 = Clock::now();
  FW_CUDA_CHECK(cudaStreamSynchronize(stream_));
  wait_seconds_ += seconds(Clock::now() - t0);
}

std::string Uploader::summary() const {
  char line[160];
  std::snprintf(line, sizeof line, "%.2f GB: reading and converting %.3f s, waiting for copies %.3f s",
                static_cast<double>(bytes_) / 1e9, host_seconds_, wait_seconds_);
  return line;
}

}  // namespace fastwan::cuda
