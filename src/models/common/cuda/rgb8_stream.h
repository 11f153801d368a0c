// Decoded frames from the GPU to the writer: each chunk's frames are converted to uint8 on the device and
// copied, on a copy stream, into one of two pinned host buffers; the previous chunk is handed to the writer
// while the GPU decodes the next one. The writer (an encoder) so runs on the CPU while later frames decode,
// and the copies overlap the decoder's kernels.
#pragma once

#include <cuda_runtime.h>

#include <memory>

#include "cuda/device.h"
#include "models/common/video_decoder.h"
#include "ops/cuda/video.h"

namespace fastwan::cuda {

// The buffers and streams of an Rgb8Stream, kept by a decoder across calls: pinning host memory costs about
// as much as copying it, so it is done once.
class Rgb8Staging {
 public:
  Rgb8Staging();
  ~Rgb8Staging();
  Rgb8Staging(const Rgb8Staging&) = delete;
  Rgb8Staging& operator=(const Rgb8Staging&) = delete;

 private:
  friend class Rgb8Stream;
  struct Slot {
    uint8_t* host = nullptr;  // pinned: the frames, then the slot's NaN flag
    size_t capacity = 0;
    Tensor device;  // the same layout on the device
    int count = 0;
    int64_t frame_bytes = 0;
    size_t flag_offset = 0;
    cudaEvent_t converted = nullptr, copied = nullptr;
  };
  Slot slots_[2];
  cudaStream_t copy_stream_ = nullptr;
};

class Rgb8Stream {
 public:
  Rgb8Stream(const Rgb8Callback& emit, cudaStream_t stream, Rgb8Staging& staging);
  ~Rgb8Stream();
  Rgb8Stream(const Rgb8Stream&) = delete;
  Rgb8Stream& operator=(const Rgb8Stream&) = delete;

  // Enqueues the conversion and copy of `count` frames [count, h, w, 3] (dtype, value -> v * scale + offset),
  // then writes out the chunk enqueued before.
  Status push(const void* frames, int count, int64_t h, int64_t w, DType dtype, float scale, float offset);
  // Writes out the last chunk; reports NaNs seen in any frame.
  Status finish();

 private:
  Status flush(Rgb8Staging::Slot& s);

  Rgb8Callback emit_;
  cudaStream_t stream_;
  Rgb8Staging& staging_;
  int next_ = 0;
  bool pending_ = false;
};

// The f32 path of VideoDecoder::decode for GPU decoders (tests compare it with the CPU reference): copies
// `count` frames [count, h, w, 3] to the host and emits each as [3, h, w], clamp(v * scale + offset, 0, 1).
Status emit_f32_frames(const void* frames, int count, int64_t h, int64_t w, DType dtype, float scale,
                       float offset, const FrameCallback& emit, cudaStream_t stream);

}  // namespace fastwan::cuda
