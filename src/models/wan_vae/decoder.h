// diffusers AutoencoderKLWan, the decoding half (the FastWan `--no-taehv` quality decoder), CPU reference:
//   z = latents * latents_std + latents_mean (per channel); post_quant_conv (1x1x1);
//   decoder run causally one latent frame at a time with the per-conv feature cache:
//     conv_in, mid_block (resnet, attention, resnet), up_blocks (resnets + spatial/temporal upsamplers),
//     norm_out, SiLU, conv_out
//   -> the first latent gives 1 frame, every later one 4 frames (T latents -> 4(T - 1) + 1 frames);
//   clamp to [-1, 1]; frames for a file are (x + 1) / 2 in [0, 1].
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/common/video_decoder.h"
#include "models/wan_vae/blocks.h"
#include "models/wan_vae/config.h"

namespace fastwan {

// WanDecoder3d (the `decoder.` module).
struct WanDecoder3d {
  WanCausalConv3d conv_in;
  WanMidBlock mid_block;
  std::vector<WanUpBlock> up_blocks;
  WanRMSNorm norm_out;
  WanCausalConv3d conv_out;

  static Expected<WanDecoder3d> load(const WeightStore& store, const WanVaeConfig& config);
  // One chunk (a single latent frame [z_dim, 1, H, W]) -> its frames [out_channels, n, 8H, 8W].
  Tensor operator()(const Tensor& x, WanFeatureCache& cache) const;
};

// Receives the frames of one latent, [out_channels, n, H, W] in [-1, 1].
using ChunkCallback = std::function<Status(const Tensor& chunk)>;

class WanVaeDecoder : public VideoDecoder {
 public:
  // `path`: the vae folder of a diffusers checkpoint (config.json + diffusion_pytorch_model.safetensors), or
  // a single file such as wan_2.1_vae.safetensors.
  static Expected<WanVaeDecoder> load(const std::string& path);
  static Expected<WanVaeDecoder> load(const WanVaeConfig& config, const WeightStore& store);

  const WanVaeConfig& config() const { return config_; }
  const WanCausalConv3d& post_quant_conv() const { return post_quant_conv_; }
  const WanDecoder3d& decoder() const { return decoder_; }

  // latents [1, z_dim, T, H, W] -> latents * latents_std + latents_mean.
  Tensor denormalize(const Tensor& latents) const;
  // z: de-normalized latents [1, z_dim, T, H, W]. Emits each latent frame's output frames in order.
  Status decode_chunks(const Tensor& z, const ChunkCallback& emit) const;
  // AutoencoderKLWan.decode(z): [1, out_channels, 4(T - 1) + 1, 8H, 8W] in [-1, 1].
  Expected<Tensor> decode_video(const Tensor& z) const;

  // VideoDecoder: normalized latents in, frames (x + 1) / 2 in [0, 1] out.
  std::string name() const override { return "wan-vae"; }
  int64_t latent_channels() const override { return config_.z_dim; }
  int64_t spatial_scale() const override { return config_.spatial_scale(); }
  int64_t frames_for(int64_t latent_frames) const override { return config_.frames_for(latent_frames); }
  Status decode(const Tensor& latents, const FrameCallback& emit) const override;

 private:
  Status check_latents(const Tensor& latents) const;

  WanVaeConfig config_;
  WeightStore store_;  // keeps the mapped file alive
  WanCausalConv3d post_quant_conv_;
  WanDecoder3d decoder_;
};

}  // namespace fastwan
