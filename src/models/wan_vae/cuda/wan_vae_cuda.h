// The Wan VAE decoder on the GPU: bf16 NDHWC activations, every convolution through cuDNN (the causal 3D
// convolutions as cuDNN 3D convolutions without temporal padding). The reference decodes one latent frame at
// a time with a per-conv feature cache; here each causal conv keeps its kt - 1 cached frames, and its input
// is assembled in one buffer per level: the cache in front, the chunk's frames (written there by the norm
// that produces them) behind. RMS norms (+ SiLU) are one kernel; the middle attention (one head over each
// frame's pixels) runs on cuBLASLt; frames go out as uint8 through Rgb8Stream.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "cuda/context.h"
#include "cuda/device.h"
#include "models/common/cuda/linear.h"
#include "models/wan_vae/decoder.h"

namespace fastwan::cuda {

class Rgb8Staging;

// Weights of a WanCausalConv3d (or a 2D conv: kt = 1); its cache belongs to the decoder's buffers.
struct CausalConvGpu {
  Tensor weight;  // bf16 [out, kt, k, k, in]
  Tensor bias;    // bf16 [out]
  int in = 0, out = 0, kt = 1, kernel = 3;
  int level = 0;  // the resolution level it runs at
};

struct ResidualGpu {
  Tensor norm1, norm2;  // bf16 gamma
  CausalConvGpu conv1, conv2;
  std::optional<CausalConvGpu> shortcut;  // 1x1x1 when the width changes
};

struct AttentionGpu {
  Tensor norm;  // bf16 gamma [C]
  Linear qkv;   // [3C, C] with bias
  Linear proj;  // [C, C] with bias
};

struct ResampleGpu {
  std::optional<CausalConvGpu> time_conv;  // upsample3d: (3, 1, 1), C -> 2C
  CausalConvGpu resample_1;                // 3x3, C -> C/2 (kt 1)
};

class WanVaeDecoderCuda : public VideoDecoder {
 public:
  static Expected<std::unique_ptr<WanVaeDecoderCuda>> create(const WanVaeDecoder& decoder,
                                                             std::shared_ptr<DeviceContext> ctx);

  std::string name() const override { return "wan-vae (cuda)"; }
  int64_t latent_channels() const override { return config_.z_dim; }
  int64_t spatial_scale() const override { return config_.spatial_scale(); }
  int64_t frames_for(int64_t latent_frames) const override { return config_.frames_for(latent_frames); }
  // latents: [1, z_dim, T, H, W] f32 (normalized), host or device.
  Status decode(const Tensor& latents, const FrameCallback& emit) const override;
  Status decode_rgb8(const Tensor& latents, const Rgb8Callback& emit) const override;

  size_t activation_bytes() const { return arena_ ? arena_->capacity() : 0; }

 private:
  // Emits each latent frame's output frames as device bf16 [count, 8H, 8W, 3] in [-1, 1] (unclamped).
  using ChunkFn = std::function<Status(const void* frames, int count, int64_t h, int64_t w)>;
  Status run(const Tensor& latents, const ChunkFn& on_chunk) const;
  void prepare(int h0, int w0) const;  // (re)allocates every buffer for this latent size, zeroes the caches
  // Where a causal conv's (kt > 1) chunk input goes: its level's assembly buffer, behind the cache slot.
  void* input_of(const CausalConvGpu& c, int h, int w) const;
  // y = conv(x) + bias (+ z) over `count` frames of h x w. For kt > 1 the input is at input_of(c) (x is
  // ignored), the cached frames are put in front first and the last kt - 1 inputs cached after.
  void conv(const CausalConvGpu& c, const void* x, int count, int h, int w, void* y, const void* z) const;
  void residual(const ResidualGpu& r, const void* x, void* y, int count, int h, int w, int level) const;
  void attention(void* x, int count, int h, int w) const;

  WanVaeConfig config_;
  std::shared_ptr<DeviceContext> ctx_;
  cudaStream_t stream_ = nullptr;
  std::vector<int64_t> dims_;
  Tensor mean_, std_;  // f32 [z_dim] on the device
  CausalConvGpu post_quant_conv_, conv_in_, conv_out_;
  std::vector<ResidualGpu> mid_resnets_;
  AttentionGpu mid_attention_;
  std::vector<std::vector<ResidualGpu>> up_resnets_;
  std::vector<std::optional<ResampleGpu>> upsamplers_;
  Tensor norm_out_;
  // Buffers per level (0: latent size .. 3: frame size): activations and scratch.
  mutable std::unique_ptr<Arena> arena_;
  mutable std::shared_ptr<Rgb8Staging> staging_;  // pinned frame buffers, kept across decodes
  mutable int prepared_h_ = 0, prepared_w_ = 0;
  mutable std::map<const CausalConvGpu*, Tensor> caches_;  // [kt - 1, h, w, in] per causal conv
  mutable std::vector<Tensor> assembly_;                   // per level: [2 + frames, h, w, widest in]
  mutable std::vector<std::array<Tensor, 4>> level_bufs_;
  mutable Tensor grown_, upsampled_, qkv_, scores_, probs_, attn_out_, norm_tmp_, rgb_;
};

}  // namespace fastwan::cuda
