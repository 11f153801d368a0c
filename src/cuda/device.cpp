#include "cuda/device.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "cuda/check.h"

namespace fastwan::cuda {

bool device_available() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return false;
  }
  return n > 0;
}

int resolve_device(int ordinal) {
  if (ordinal != kCurrentDevice) return ordinal;
  int current = 0;
  FW_CUDA_CHECK(cudaGetDevice(&current));
  return current;
}

Status use_device(int ordinal) {
  if (!device_available()) return Error("no CUDA device is available (driver missing or no GPU)");
  int n = 0;
  FW_CUDA_CHECK(cudaGetDeviceCount(&n));
  if (ordinal < 0 || ordinal >= n)
    return Error("GPU " + std::to_string(ordinal) + " does not exist: this machine has " + std::to_string(n) +
                 (n == 1 ? " GPU" : " GPUs"));
  FW_CUDA_CHECK(cudaSetDevice(ordinal));
  return Status::Ok();
}

Expected<DeviceInfo> device_info(int ordinal) {
  if (!device_available()) return Error("no CUDA device is available (driver missing or no GPU)");
  cudaDeviceProp p{};
  FW_CUDA_CHECK(cudaGetDeviceProperties(&p, resolve_device(ordinal)));
  DeviceInfo i;
  i.name = p.name;
  i.sm_count = p.multiProcessorCount;
  i.major = p.major;
  i.minor = p.minor;
  i.total_memory = p.totalGlobalMem;
  i.max_smem_per_block = p.sharedMemPerBlockOptin;
  return i;
}

namespace {

std::atomic<size_t> g_allocated{0}, g_peak{0};

std::string gigabytes(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return text;
}

[[noreturn]] void throw_out_of_memory(size_t bytes) {
  cudaGetLastError();  // not sticky: the context stays usable
  size_t free_b = 0, total = 0;
  cudaMemGetInfo(&free_b, &total);
  int ordinal = 0;
  cudaGetDevice(&ordinal);
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, ordinal);
  throw DeviceMemoryError("GPU memory: " + gigabytes(bytes) + " more are needed, " + gigabytes(free_b) +
                          " are free of " + gigabytes(total) + " on " + p.name +
                          " (fewer frames, a smaller size or --decoder taehv need less)");
}

std::shared_ptr<Storage> cuda_storage(size_t bytes) {
  void* p = nullptr;
  const size_t size = bytes == 0 ? 256 : bytes;
  if (const cudaError_t e = cudaMalloc(&p, size); e == cudaErrorMemoryAllocation)
    throw_out_of_memory(size);
  else
    FW_CUDA_CHECK(e);
  const size_t now = g_allocated += size;
  size_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  auto s = std::make_shared<Storage>();
  s->data = p;
  s->bytes = bytes;
  s->device = Device::cuda;
  s->owner = std::shared_ptr<void>(p, [size](void* q) {
    cudaFree(q);
    g_allocated -= size;
  });
  return s;
}

// cudaMemcpy on the legacy default stream: the contexts' streams are blocking streams (context.h), so the
// copy waits for the work queued on them and their later work waits for it; unified addressing tells the
// direction.
void copy_bytes(void* dst, const void* src, size_t bytes) {
  FW_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

}  // namespace

size_t peak_allocated_bytes() {
  return g_peak.load();
}

void install_device_allocator() {
  set_device_allocator(&cuda_storage);
  set_device_copy(&copy_bytes);
}

Tensor to_device(const Tensor& host, DType dtype, cudaStream_t stream) {
  FW_CHECK(host.device() == Device::cpu, "to_device: expected a host tensor");
  install_device_allocator();
  Tensor src = host.dtype() == dtype ? host.contiguous() : host.to(dtype);
  Tensor dst = Tensor::empty(src.shape(), dtype, Device::cuda);
  FW_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), cudaMemcpyHostToDevice, stream));
  FW_CUDA_CHECK(cudaStreamSynchronize(stream));
  return dst;
}

Tensor to_host(const Tensor& device, cudaStream_t stream) {
  FW_CHECK(device.device() == Device::cuda && device.is_contiguous(),
           "to_host: expected a contiguous device tensor");
  Tensor dst = Tensor::empty(device.shape(), device.dtype());
  FW_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), device.raw(), device.nbytes(), cudaMemcpyDeviceToHost, stream));
  FW_CUDA_CHECK(cudaStreamSynchronize(stream));
  return dst;
}

void poison(const Tensor& device, cudaStream_t stream) {
  FW_CUDA_CHECK(cudaMemsetAsync(device.raw(), 0xFF, device.nbytes(), stream));
}

Arena::Arena(size_t bytes) : storage_(cuda_storage(bytes)) {}

Tensor Arena::alloc(const Shape& shape, DType dtype) {
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  const size_t start = (offset_ + 255) / 256 * 256;  // 256-byte alignment for vector and TMA access
  if (!storage_) {
    offset_ = high_water_ = start + bytes;
    return Tensor();
  }
  FW_CHECK(start + bytes <= storage_->bytes, "device arena exhausted: need " + std::to_string(start + bytes) +
                                                 " of " + std::to_string(storage_->bytes) + " bytes");
  offset_ = start + bytes;
  high_water_ = std::max(high_water_, offset_);
  return Tensor::wrap(storage_, start, shape, dtype);
}

MemoryMeter::MemoryMeter() {
  size_t free_b = 0, total = 0;
  FW_CUDA_CHECK(cudaMemGetInfo(&free_b, &total));
  base_used_ = peak_used_ = total - free_b;
}

void MemoryMeter::sample() {
  size_t free_b = 0, total = 0;
  FW_CUDA_CHECK(cudaMemGetInfo(&free_b, &total));
  peak_used_ = std::max(peak_used_, total - free_b);
}

Timer::Timer(cudaStream_t stream) : stream_(stream) {
  FW_CUDA_CHECK(cudaEventCreate(&begin_));
  FW_CUDA_CHECK(cudaEventCreate(&end_));
}

Timer::~Timer() {
  cudaEventDestroy(begin_);
  cudaEventDestroy(end_);
}

void Timer::start() {
  FW_CUDA_CHECK(cudaEventRecord(begin_, stream_));
}

float Timer::stop_ms() {
  FW_CUDA_CHECK(cudaEventRecord(end_, stream_));
  FW_CUDA_CHECK(cudaEventSynchronize(end_));
  float ms = 0;
  FW_CUDA_CHECK(cudaEventElapsedTime(&ms, begin_, end_));
  return ms;
}

}  // namespace fastwan::cuda
