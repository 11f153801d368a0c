// TAEHV's decoder on the GPU: fp16 NHWC activations, every 3x3 convolution through cuDNN with bias, ReLU and
// the MemBlock skip fused, TGrow's 1x1 conv done before the nearest upsampling (they commute) and the frame
// regrouping fused into the upsampling kernel, frames converted to uint8 on the GPU.
//
// Latent frames are decoded in chunks: a chunk of all frames is the parallel schedule, a chunk of one the
// streaming schedule; each MemBlock keeps the previous chunk's last input frame as its memory, so every chunk
// size gives the same frames. While the GPU decodes chunk k + 1, the frames of chunk k go to the writer.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "cuda/context.h"
#include "cuda/device.h"
#include "models/common/video_decoder.h"
#include "models/taehv/taehv.h"

namespace fastwan::cuda {

class Rgb8Staging;

struct TaehvConvGpu {
  Tensor weight;  // fp16 [out, k, k, in]
  Tensor bias;    // fp16 [out], undefined for bias-free convs
  int in = 0, out = 0, kernel = 3;
};

// MemBlock: conv.0 over cat[x, past] is split into its x and past halves so no concatenation is stored.
struct TaehvMemBlockGpu {
  TaehvConvGpu conv_0_x, conv_0_past, conv_2, conv_4;
};

struct TaehvStageGpu {
  std::array<TaehvMemBlockGpu, 3> blocks;
  TaehvConvGpu tgrow;  // 1x1, n -> n * stride, no bias
  int stride = 1, up = 2;
  TaehvConvGpu proj;  // 3x3, n -> next width, no bias (the last stage's: decoder.20 + the ReLU decoder.21)
};

class TaehvDecoderCuda : public VideoDecoder {
 public:
  // Uploads the weights of a loaded (validated) CPU decoder.
  static Expected<TaehvDecoderCuda> create(const TaehvDecoder& decoder, std::shared_ptr<DeviceContext> ctx);

  // Latent frames per chunk: 0 = all at once (the parallel schedule), 1 = streaming.
  void set_chunk(int latent_frames) {
    chunk_ = latent_frames;
    peak_bytes_ = 0;
  }

  std::string name() const override { return "taehv (cuda)"; }
  int64_t latent_channels() const override { return config_.latent_channels; }
  int64_t spatial_scale() const override { return config_.space_upscale(); }
  int64_t frames_for(int64_t latent_frames) const override { return config_.frames_for(latent_frames); }
  // latents: [1, C, T, H, W] f32, host or device.
  Status decode(const Tensor& latents, const FrameCallback& emit) const override;
  Status decode_rgb8(const Tensor& latents, const Rgb8Callback& emit) const override;
  // Decodes one chunk of zeros at the size of `latent_shape`: the arena, the staging and every plan a
  // decode of that size uses are then made (the chunks all have the first one's shapes).
  Status warm_up(const Shape& latent_shape) const override;

  size_t peak_activation_bytes() const { return peak_bytes_; }

 private:
  // Runs every chunk; `on_chunk(frames, count, first)` gets the device fp16 frames [count, 8H, 8W, 3] of
  // output frames [first, first + count) (trimmed frames already dropped) and may enqueue work on the stream.
  using ChunkFn =
      std::function<Status(const void* frames, int count, int64_t first, int64_t height, int64_t width)>;
  Status run(const Tensor& latents, const ChunkFn& on_chunk) const;

  TaehvConfig config_;
  TaehvConvGpu conv_in_;  // decoder.1 (+ ReLU decoder.2)
  std::array<TaehvStageGpu, 3> stages_;
  TaehvConvGpu conv_out_;  // decoder.22
  std::shared_ptr<DeviceContext> ctx_;
  cudaStream_t stream_ = nullptr;
  int chunk_ = 0;
  mutable size_t peak_bytes_ = 0;
  mutable std::shared_ptr<Arena> arena_;
  mutable std::shared_ptr<Rgb8Staging> staging_;  // pinned frame buffers, kept across decodes
};

}  // namespace fastwan::cuda
