#include "models/wan_vae/decoder.h"

#include <algorithm>
#include <set>

#include "models/checkpoint.h"
#include "models/wan_vae/parameters.h"
#include "ops/ops.h"

namespace fastwan {

Expected<WanDecoder3d> WanDecoder3d::load(const WeightStore& store, const WanVaeConfig& c) {
  WanDecoder3d d;
  const std::vector<int64_t> dims = wan_vae_decoder_dims(c);
  const std::vector<bool> up_time = c.temperal_upsample();
  FW_ASSIGN_OR_RETURN(d.conv_in,
                      WanCausalConv3d::load(store, "decoder.conv_in", c.z_dim, dims[0], {3, 3, 3}));
  FW_ASSIGN_OR_RETURN(d.mid_block, WanMidBlock::load(store, "decoder.mid_block", dims[0]));
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    const std::string prefix = "decoder.up_blocks." + std::to_string(i);
    WanUpBlock block;
    int64_t in = i > 0 ? dims[i] / 2 : dims[i];  // the previous upsampler halved the channels
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r <= c.num_res_blocks; ++r, in = out) {
      FW_ASSIGN_OR_RETURN(auto res,
                          WanResidualBlock::load(store, prefix + ".resnets." + std::to_string(r), in, out));
      block.resnets.push_back(std::move(res));
    }
    if (i + 2 < dims.size()) {
      FW_ASSIGN_OR_RETURN(block.upsampler,
                          WanResample::load(store, prefix + ".upsamplers.0", out, up_time[i]));
    }
    d.up_blocks.push_back(std::move(block));
  }
  FW_ASSIGN_OR_RETURN(d.norm_out, WanRMSNorm::load(store, "decoder.norm_out.gamma", {dims.back(), 1, 1, 1}));
  FW_ASSIGN_OR_RETURN(
      d.conv_out, WanCausalConv3d::load(store, "decoder.conv_out", dims.back(), c.out_channels, {3, 3, 3}));
  return d;
}

Tensor WanDecoder3d::operator()(const Tensor& x, WanFeatureCache& cache) const {
  Tensor h = conv_in(x, &cache.next().frames);
  h = mid_block(h, cache);
  for (const auto& block : up_blocks) h = block(h, cache);
  h = norm_out(h);
  ops::silu_(h);
  return conv_out(h, &cache.next().frames);
}

Expected<WanVaeDecoder> WanVaeDecoder::load(const std::string& path) {
  FW_ASSIGN_OR_RETURN(auto ckpt, open_wan_vae(path));
  return load(ckpt.config, ckpt.store);
}

Expected<WanVaeDecoder> WanVaeDecoder::load(const WanVaeConfig& c, const WeightStore& store) {
  WanVaeDecoder v;
  v.config_ = c;
  v.store_ = store;
  FW_ASSIGN_OR_RETURN(v.post_quant_conv_,
                      WanCausalConv3d::load(store, "post_quant_conv", c.z_dim, c.z_dim, {1, 1, 1}));
  FW_ASSIGN_OR_RETURN(v.decoder_, WanDecoder3d::load(store, c));
  // A decoder tensor this architecture does not have means config.json and the weights disagree.
  std::set<std::string> known;
  for (const auto& p : wan_vae_parameters(c)) known.insert(p.name);
  for (const auto& name : store.names())
    if (name.starts_with("decoder.") && !known.count(name))
      return Error(store.source() + ": tensor '" + name +
                   "' does not belong to the decoder that config.json describes");
  return v;
}

Status WanVaeDecoder::check_latents(const Tensor& latents) const {
  if (latents.ndim() != 5 || latents.dim(0) != 1 || latents.dim(1) != config_.z_dim || latents.numel() == 0 ||
      !dtype_is_float(latents.dtype()))
    return Error("Wan VAE input: expected float latents [1, " + std::to_string(config_.z_dim) +
                 ", T, H, W] with T, H, W >= 1, got " + latents.describe());
  return Status::Ok();
}

Tensor WanVaeDecoder::denormalize(const Tensor& latents) const {
  Tensor z = latents.to_f32();
  const int64_t channels = z.dim(1), per_channel = z.numel() / channels;
  float* p = z.f32();
  for (int64_t ch = 0; ch < channels; ++ch) {
    const float s = static_cast<float>(config_.latents_std[ch]),
                m = static_cast<float>(config_.latents_mean[ch]);
    for (int64_t i = 0; i < per_channel; ++i) p[ch * per_channel + i] = p[ch * per_channel + i] * s + m;
  }
  return z;
}

Status WanVaeDecoder::decode_chunks(const Tensor& z, const ChunkCallback& emit) const {
  FW_RETURN_IF_ERROR(check_latents(z));
  const Tensor x = post_quant_conv_(z.to_f32().select(0, 0));  // [z_dim, T, H, W]
  WanFeatureCache cache;
  for (int64_t t = 0; t < x.dim(1); ++t) {
    cache.rewind();
    Tensor frames = decoder_(wan_frame(x, t), cache);
    ops::clamp_(frames, -1.0f, 1.0f);
    FW_RETURN_IF_ERROR(emit(frames));
  }
  return Status::Ok();
}

Expected<Tensor> WanVaeDecoder::decode_video(const Tensor& z) const {
  std::vector<Tensor> chunks;
  FW_RETURN_IF_ERROR(decode_chunks(z, [&](const Tensor& chunk) {
    chunks.push_back(chunk);
    return Status::Ok();
  }));
  const Tensor video = ops::concat(chunks, 1);
  return video.reshape({1, video.dim(0), video.dim(1), video.dim(2), video.dim(3)});
}

Status WanVaeDecoder::decode(const Tensor& latents, const FrameCallback& emit) const {
  FW_RETURN_IF_ERROR(check_latents(latents));
  return decode_chunks(denormalize(latents), [&](const Tensor& chunk) -> Status {
    for (int64_t t = 0; t < chunk.dim(1); ++t) {
      Tensor frame = wan_frame(chunk, t).reshape({chunk.dim(0), chunk.dim(2), chunk.dim(3)});
      float* p = frame.f32();
      for (int64_t i = 0; i < frame.numel(); ++i) p[i] = std::clamp(p[i] * 0.5f + 0.5f, 0.0f, 1.0f);
      FW_RETURN_IF_ERROR(emit(frame));
    }
    return Status::Ok();
  });
}

}  // namespace fastwan
