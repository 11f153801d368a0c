#include "models/common/cuda/rgb8_stream.h"

#include <algorithm>
#include <cstring>

#include "cuda/check.h"

namespace fastwan::cuda {

Rgb8Staging::Rgb8Staging() {
  install_device_allocator();
  FW_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
  for (auto& s : slots_) {
    FW_CUDA_CHECK(cudaEventCreateWithFlags(&s.converted, cudaEventDisableTiming));
    FW_CUDA_CHECK(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming));
  }
}

Rgb8Staging::~Rgb8Staging() {
  cudaStreamSynchronize(copy_stream_);
  for (auto& s : slots_) {
    if (s.host) cudaFreeHost(s.host);
    cudaEventDestroy(s.converted);
    cudaEventDestroy(s.copied);
  }
  cudaStreamDestroy(copy_stream_);
}

Rgb8Stream::Rgb8Stream(const Rgb8Callback& emit, cudaStream_t stream, Rgb8Staging& staging)
    : emit_(emit), stream_(stream), staging_(staging) {}

Rgb8Stream::~Rgb8Stream() {
  // An error left copies in flight: they must land before the staging is reused or freed.
  cudaStreamSynchronize(stream_);
  cudaStreamSynchronize(staging_.copy_stream_);
}

Status Rgb8Stream::flush(Rgb8Staging::Slot& s) {
  FW_CUDA_CHECK(cudaEventSynchronize(s.copied));
  int nan = 0;
  std::memcpy(&nan, s.host + s.flag_offset, sizeof nan);
  if (nan) return Error("decoder: NaN in the decoded frames (latents out of range?)");
  for (int i = 0; i < s.count; ++i) FW_RETURN_IF_ERROR(emit_(s.host + i * s.frame_bytes));
  return Status::Ok();
}

Status Rgb8Stream::push(const void* frames, int count, int64_t h, int64_t w, DType dtype, float scale,
                        float offset) {
  Rgb8Staging::Slot& s = staging_.slots_[next_];
  const int64_t fb = h * w * 3;
  const size_t flag_offset = (static_cast<size_t>(count * fb) + 3) & ~size_t{3};
  const size_t need = flag_offset + sizeof(int);  // the frames, then the (aligned) NaN flag
  // The slot's last copy was waited for on the host (flush) before the slot comes round again, so its buffers
  // are free here.
  if (s.capacity < need) {
    if (s.host) FW_CUDA_CHECK(cudaFreeHost(s.host));
    s.host = nullptr;
    FW_CUDA_CHECK(cudaMallocHost(&s.host, need));
    s.capacity = need;
    s.device = Tensor::empty({static_cast<int64_t>(need)}, DType::u8, Device::cuda);
  }
  int* nan_flag = reinterpret_cast<int*>(s.device.data<uint8_t>() + flag_offset);
  FW_CUDA_CHECK(cudaMemsetAsync(nan_flag, 0, sizeof(int), stream_));
  FramesToRgb8Params p;
  p.in = frames;
  p.dtype = dtype;
  p.out = s.device.data<uint8_t>();
  p.pixels = count * h * w;
  p.scale = scale;
  p.offset = offset;
  p.nan_flag = nan_flag;
  frames_to_rgb8(p, stream_);
  FW_CUDA_CHECK(cudaEventRecord(s.converted, stream_));
  FW_CUDA_CHECK(cudaStreamWaitEvent(staging_.copy_stream_, s.converted, 0));
  FW_CUDA_CHECK(cudaMemcpyAsync(s.host, s.device.raw(), need, cudaMemcpyDeviceToHost, staging_.copy_stream_));
  FW_CUDA_CHECK(cudaEventRecord(s.copied, staging_.copy_stream_));
  s.count = count;
  s.frame_bytes = fb;
  s.flag_offset = flag_offset;
  Status status = Status::Ok();
  if (pending_) status = flush(staging_.slots_[next_ ^ 1]);  // the GPU now works on this chunk meanwhile
  pending_ = true;
  next_ ^= 1;
  return status;
}

Status Rgb8Stream::finish() {
  if (!pending_) return Status::Ok();
  pending_ = false;
  return flush(staging_.slots_[next_ ^ 1]);
}

Status emit_f32_frames(const void* frames, int count, int64_t h, int64_t w, DType dtype, float scale,
                       float offset, const FrameCallback& emit, cudaStream_t stream) {
  Tensor host = Tensor::empty({count, h, w, 3}, dtype);
  FW_CUDA_CHECK(cudaMemcpyAsync(host.raw(), frames, host.nbytes(), cudaMemcpyDeviceToHost, stream));
  FW_CUDA_CHECK(cudaStreamSynchronize(stream));
  const Tensor f32 = host.to_f32();
  for (int i = 0; i < count; ++i) {
    Tensor frame = f32.select(0, i).permute({2, 0, 1}).contiguous();
    float* p = frame.f32();
    for (int64_t j = 0; j < frame.numel(); ++j) p[j] = std::clamp(p[j] * scale + offset, 0.0f, 1.0f);
    FW_RETURN_IF_ERROR(emit(frame));
  }
  return Status::Ok();
}

}  // namespace fastwan::cuda
