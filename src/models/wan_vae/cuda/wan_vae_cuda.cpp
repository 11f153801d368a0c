#include "models/wan_vae/cuda/wan_vae_cuda.h"

#include <cmath>

#include "cuda/check.h"
#include "models/common/cuda/attention.h"
#include "models/common/cuda/rgb8_stream.h"
#include "models/wan_vae/parameters.h"
#include "ops/cuda/conv.h"
#include "ops/cuda/video.h"

namespace fastwan::cuda {
namespace {

Tensor bf16_device(const Tensor& host) {
  return to_device(host.to_f32().contiguous(), DType::bf16);
}

// [out, in, kt, k, k] -> [out, kt, k, k, in] (cuDNN's NDHWC filter layout).
CausalConvGpu upload_conv(const WanCausalConv3d& c, int level) {
  CausalConvGpu g;
  const Tensor w = c.weight.to_f32();
  g.out = static_cast<int>(w.dim(0));
  g.in = static_cast<int>(w.dim(1));
  g.kt = static_cast<int>(w.dim(2));
  g.kernel = static_cast<int>(w.dim(3));
  g.level = level;
  g.weight = bf16_device(w.permute({0, 2, 3, 4, 1}).contiguous());
  g.bias = bf16_device(c.bias);
  return g;
}

// A 2D conv [out, in, k, k] as a one-tap causal conv.
CausalConvGpu upload_conv2d(const Tensor& weight, const Tensor& bias, int level) {
  CausalConvGpu g;
  const Tensor w = weight.to_f32();
  g.out = static_cast<int>(w.dim(0));
  g.in = static_cast<int>(w.dim(1));
  g.kernel = static_cast<int>(w.dim(2));
  g.level = level;
  g.weight = bf16_device(w.permute({0, 2, 3, 1}).contiguous());
  g.bias = bf16_device(bias);
  return g;
}

ResidualGpu upload_residual(const WanResidualBlock& r, int level) {
  ResidualGpu g;
  g.norm1 = bf16_device(r.norm1.gamma.reshape({-1}));
  g.norm2 = bf16_device(r.norm2.gamma.reshape({-1}));
  g.conv1 = upload_conv(r.conv1, level);
  g.conv2 = upload_conv(r.conv2, level);
  if (r.conv_shortcut) g.shortcut = upload_conv(*r.conv_shortcut, level);
  return g;
}

int64_t frame_elems(int h, int w, int c) {
  return static_cast<int64_t>(h) * w * c;
}

void conv_nhwc(const void* x, const Tensor& w, const void* bias, const void* z, void* y, int n, int h, int wd,
               int cin, int cout, int k, int kt, DeviceContext& ctx) {
  Conv2dParams p;
  p.x = x;
  p.w = w.raw();
  p.bias = bias;
  p.z = z;
  p.y = y;
  p.n = n;
  p.h = h;
  p.w_px = wd;
  p.c_in = cin;
  p.c_out = cout;
  p.kernel = k;
  p.kt = kt;
  p.dtype = DType::bf16;
  conv2d_nhwc(ctx, p);
}

}  // namespace

Expected<std::unique_ptr<WanVaeDecoderCuda>> WanVaeDecoderCuda::create(const WanVaeDecoder& cpu,
                                                                       std::shared_ptr<DeviceContext> ctx) {
  FW_RETURN_IF_ERROR(device_info());
  install_device_allocator();
  auto d = std::unique_ptr<WanVaeDecoderCuda>(new WanVaeDecoderCuda());
  const WanVaeConfig& c = cpu.config();
  d->config_ = c;
  d->ctx_ = std::move(ctx);
  d->stream_ = d->ctx_->stream();
  d->dims_ = wan_vae_decoder_dims(c);
  std::vector<float> mean(c.latents_mean.begin(), c.latents_mean.end()),
      sd(c.latents_std.begin(), c.latents_std.end());
  const int64_t z = c.z_dim;
  d->mean_ = to_device(Tensor::from_floats({z}, mean), DType::f32);
  d->std_ = to_device(Tensor::from_floats({z}, sd), DType::f32);
  const WanDecoder3d& dec = cpu.decoder();
  d->post_quant_conv_ = upload_conv(cpu.post_quant_conv(), 0);
  d->conv_in_ = upload_conv(dec.conv_in, 0);
  for (const auto& r : dec.mid_block.resnets) d->mid_resnets_.push_back(upload_residual(r, 0));
  const auto& a = dec.mid_block.attention;
  const int64_t ch = a.proj_weight.dim(0);
  d->mid_attention_.norm = bf16_device(a.norm.gamma.reshape({-1}));
  d->mid_attention_.qkv =
      Linear::bf16(bf16_device(a.to_qkv_weight.reshape({3 * ch, ch})), bf16_device(a.to_qkv_bias));
  d->mid_attention_.proj =
      Linear::bf16(bf16_device(a.proj_weight.reshape({ch, ch})), bf16_device(a.proj_bias));
  for (size_t i = 0; i < dec.up_blocks.size(); ++i) {
    const auto& block = dec.up_blocks[i];
    const int level = static_cast<int>(i);
    std::vector<ResidualGpu> rs;
    for (const auto& r : block.resnets) rs.push_back(upload_residual(r, level));
    d->up_resnets_.push_back(std::move(rs));
    if (block.upsampler) {
      ResampleGpu up;
      if (block.upsampler->time_conv) up.time_conv = upload_conv(*block.upsampler->time_conv, level);
      up.resample_1 =
          upload_conv2d(block.upsampler->resample_1_weight, block.upsampler->resample_1_bias, level + 1);
      d->upsamplers_.push_back(std::move(up));
    } else {
      d->upsamplers_.push_back(std::nullopt);
    }
  }
  d->norm_out_ = bf16_device(dec.norm_out.gamma.reshape({-1}));
  d->conv_out_ = upload_conv(dec.conv_out, static_cast<int>(dec.up_blocks.size()) - 1);
  return d;
}

void WanVaeDecoderCuda::prepare(int h0, int w0) const {
  if (h0 != prepared_h_ || w0 != prepared_w_) {
    const size_t levels = up_resnets_.size();
    // Frames per chunk at each level (the most a chunk after the first gives), level sizes and widths.
    std::vector<int> frames(levels), hs(levels), ws(levels), chans(levels), widest_in(levels, 0);
    int f = 1;
    for (size_t i = 0; i < levels; ++i) {
      frames[i] = f;
      hs[i] = h0 << i;
      ws[i] = w0 << i;
      chans[i] = static_cast<int>(std::max(i > 0 ? dims_[i] / 2 : dims_[i], dims_[i + 1]));
      if (upsamplers_[i] && upsamplers_[i]->time_conv) f *= 2;
    }
    std::vector<const CausalConvGpu*> causal = {&conv_in_, &conv_out_};
    auto add = [&](const ResidualGpu& r) {
      causal.push_back(&r.conv1);
      causal.push_back(&r.conv2);
    };
    for (const auto& r : mid_resnets_) add(r);
    for (size_t i = 0; i < levels; ++i) {
      for (const auto& r : up_resnets_[i]) add(r);
      if (upsamplers_[i] && upsamplers_[i]->time_conv) causal.push_back(&*upsamplers_[i]->time_conv);
    }
    for (const auto* c : causal) widest_in[c->level] = std::max(widest_in[c->level], c->in);
    auto layout = [&](Arena& a) {
      caches_.clear();
      for (const auto* c : causal)
        caches_[c] = a.alloc({c->kt - 1, hs[c->level], ws[c->level], c->in}, DType::bf16);
      assembly_.assign(levels, {});
      level_bufs_.assign(levels, {});
      int64_t grown = 0, upsampled = 0;
      for (size_t i = 0; i < levels; ++i) {
        assembly_[i] = a.alloc({2 + frames[i], hs[i], ws[i], std::max(widest_in[i], 1)}, DType::bf16);
        for (auto& b : level_bufs_[i])
          b = a.alloc({frames[i] * frame_elems(hs[i], ws[i], chans[i])}, DType::bf16);
        if (upsamplers_[i] && upsamplers_[i]->time_conv)
          grown = std::max(grown, frames[i] * frame_elems(hs[i], ws[i], upsamplers_[i]->time_conv->out));
        if (upsamplers_[i])
          upsampled = std::max(
              upsampled, frames[i + 1] * frame_elems(hs[i + 1], ws[i + 1], upsamplers_[i]->resample_1.in));
      }
      grown_ = a.alloc({std::max<int64_t>(grown, 1)}, DType::bf16);
      upsampled_ = a.alloc({std::max<int64_t>(upsampled, 1)}, DType::bf16);
      const int64_t pixels = static_cast<int64_t>(h0) * w0, c0 = dims_[0];
      qkv_ = a.alloc({pixels, 3 * c0}, DType::bf16);
      scores_ = a.alloc({pixels, pixels}, DType::f32);
      probs_ = a.alloc({pixels, pixels}, DType::bf16);
      attn_out_ = a.alloc({pixels, c0}, DType::bf16);
      norm_tmp_ = a.alloc({pixels, std::max<int64_t>(c0, config_.z_dim)}, DType::bf16);
      rgb_ = a.alloc({frames[levels - 1], hs[levels - 1], ws[levels - 1], 3}, DType::bf16);
    };
    Arena sizing = Arena::counting();
    layout(sizing);
    arena_ = std::make_unique<Arena>(sizing.used());
    layout(*arena_);
    prepared_h_ = h0;
    prepared_w_ = w0;
  }
  // Every video starts with empty caches: zeros stand for the reference's zero padding.
  for (auto& [conv, buf] : caches_) FW_CUDA_CHECK(cudaMemsetAsync(buf.raw(), 0, buf.nbytes(), stream_));
}

void* WanVaeDecoderCuda::input_of(const CausalConvGpu& c, int h, int w) const {
  return static_cast<char*>(assembly_[c.level].raw()) + (c.kt - 1) * frame_elems(h, w, c.in) * 2;
}

void WanVaeDecoderCuda::conv(const CausalConvGpu& c, const void* x, int count, int h, int w, void* y,
                             const void* z) const {
  if (c.kt == 1) {
    conv_nhwc(x, c.weight, c.bias.raw(), z, y, count, h, w, c.in, c.out, c.kernel, 1, *ctx_);
    return;
  }
  const Tensor& cache = caches_.at(&c);
  char* base = static_cast<char*>(assembly_[c.level].raw());
  const int64_t fb = frame_elems(h, w, c.in) * 2, context = c.kt - 1;
  FW_CUDA_CHECK(cudaMemcpyAsync(base, cache.raw(), context * fb, cudaMemcpyDeviceToDevice, stream_));
  conv_nhwc(base, c.weight, c.bias.raw(), z, y, count, h, w, c.in, c.out, c.kernel, c.kt, *ctx_);
  // The last kt - 1 frames of [cache, input] are the next chunk's cache.
  FW_CUDA_CHECK(
      cudaMemcpyAsync(cache.raw(), base + count * fb, context * fb, cudaMemcpyDeviceToDevice, stream_));
}

void WanVaeDecoderCuda::residual(const ResidualGpu& r, const void* x, void* y, int count, int h, int w,
                                 int level) const {
  const int64_t pixels = static_cast<int64_t>(count) * h * w;
  void* tmp = level_bufs_[level][2].raw();
  channel_rms_norm(x, r.norm1.raw(), input_of(r.conv1, h, w), pixels, r.conv1.in, true, stream_);
  conv(r.conv1, nullptr, count, h, w, tmp, nullptr);
  const void* skip = x;
  if (r.shortcut) {
    conv(*r.shortcut, x, count, h, w, level_bufs_[level][3].raw(), nullptr);
    skip = level_bufs_[level][3].raw();
  }
  channel_rms_norm(tmp, r.norm2.raw(), input_of(r.conv2, h, w), pixels, r.conv2.in, true, stream_);
  conv(r.conv2, nullptr, count, h, w, y, skip);
}

void WanVaeDecoderCuda::attention(void* x, int count, int h, int w) const {
  const AttentionGpu& a = mid_attention_;
  const int64_t c = a.proj.out_features(), pixels = static_cast<int64_t>(h) * w;
  for (int f = 0; f < count; ++f) {
    void* xf = static_cast<char*>(x) + f * pixels * c * 2;
    channel_rms_norm(xf, a.norm.raw(), norm_tmp_.raw(), pixels, static_cast<int>(c), false, stream_);
    a.qkv.forward(*ctx_, {norm_tmp_.raw(), c}, pixels, {qkv_.raw(), 3 * c});
    const ScoreAttentionParams sa{qkv_.raw(),   3 * c,           pixels, 1, c, scores_.data<float>(),
                                  probs_.raw(), attn_out_.raw(), c};
    attention_scores(*ctx_, sa);
    softmax_rows(scores_.data<float>(), probs_.raw(), pixels, pixels, 1.0f / std::sqrt(static_cast<float>(c)),
                 stream_);
    attention_values(*ctx_, sa);
    // x = x + proj(o): the residual rides on beta.
    a.proj.forward(*ctx_, {attn_out_.raw(), c}, pixels, {xf, c, false, true});
  }
}

Status WanVaeDecoderCuda::run(const Tensor& latents, const ChunkFn& on_chunk) const {
  const auto& cfg = config_;
  if (latents.ndim() != 5 || latents.dim(0) != 1 || latents.dim(1) != cfg.z_dim || latents.numel() == 0)
    return Error("Wan VAE input: expected latents [1, " + std::to_string(cfg.z_dim) + ", T, H, W], got " +
                 latents.describe());
  const int T = static_cast<int>(latents.dim(2)), h0 = static_cast<int>(latents.dim(3)),
            w0 = static_cast<int>(latents.dim(4));
  Tensor z =
      latents.device() == Device::cuda ? latents.contiguous() : to_device(latents, DType::f32, stream_);
  if (z.dtype() != DType::f32) return Error("Wan VAE input: device latents must be f32");
  prepare(h0, w0);
  const size_t levels = up_resnets_.size();
  for (int t = 0; t < T; ++t) {
    LatentsToNhwcParams lp;
    lp.latents = z.data<float>();
    lp.channels = static_cast<int>(cfg.z_dim);
    lp.frames = T;
    lp.height = h0;
    lp.width = w0;
    lp.first = t;
    lp.count = 1;
    lp.out = norm_tmp_.raw();
    lp.out_dtype = DType::bf16;
    lp.scale = std_.data<float>();
    lp.shift = mean_.data<float>();
    latents_to_nhwc(lp, stream_);
    conv(post_quant_conv_, norm_tmp_.raw(), 1, h0, w0, input_of(conv_in_, h0, w0), nullptr);
    auto& b0 = level_bufs_[0];
    conv(conv_in_, nullptr, 1, h0, w0, b0[0].raw(), nullptr);
    residual(mid_resnets_[0], b0[0].raw(), b0[1].raw(), 1, h0, w0, 0);
    attention(b0[1].raw(), 1, h0, w0);
    residual(mid_resnets_[1], b0[1].raw(), b0[0].raw(), 1, h0, w0, 0);
    void* x = b0[0].raw();
    int count = 1, h = h0, w = w0;
    for (size_t i = 0; i < levels; ++i) {
      auto& bufs = level_bufs_[i];
      for (const auto& r : up_resnets_[i]) {
        void* y = x == bufs[0].raw() ? bufs[1].raw() : bufs[0].raw();
        residual(r, x, y, count, h, w, static_cast<int>(i));
        x = y;
      }
      if (!upsamplers_[i]) continue;
      const ResampleGpu& u = *upsamplers_[i];
      const int c = u.resample_1.in;
      int stride = 1;
      const void* src = x;
      if (u.time_conv && t > 0) {  // the first chunk passes through unchanged in time ("Rep")
        FW_CUDA_CHECK(cudaMemcpyAsync(input_of(*u.time_conv, h, w), x, count * frame_elems(h, w, c) * 2,
                                      cudaMemcpyDeviceToDevice, stream_));
        conv(*u.time_conv, nullptr, count, h, w, grown_.raw(), nullptr);
        src = grown_.raw();
        stride = 2;
      }
      void* up = upsampled_.raw();
      tgrow_upsample({src, up, count, h, w, c, stride, 2}, stream_);
      count *= stride;
      h *= 2;
      w *= 2;
      x = level_bufs_[i + 1][0].raw();
      conv(u.resample_1, up, count, h, w, x, nullptr);
    }
    channel_rms_norm(x, norm_out_.raw(), input_of(conv_out_, h, w), static_cast<int64_t>(count) * h * w,
                     conv_out_.in, true, stream_);
    conv(conv_out_, nullptr, count, h, w, rgb_.raw(), nullptr);
    FW_RETURN_IF_ERROR(on_chunk(rgb_.raw(), count, h, w));
  }
  FW_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return Status::Ok();
}

Status WanVaeDecoderCuda::decode(const Tensor& latents, const FrameCallback& emit) const {
  return run(latents, [&](const void* frames, int count, int64_t h, int64_t w) {
    return emit_f32_frames(frames, count, h, w, DType::bf16, 0.5f, 0.5f, emit, stream_);
  });
}

Status WanVaeDecoderCuda::decode_rgb8(const Tensor& latents, const Rgb8Callback& emit) const {
  if (!staging_) staging_ = std::make_shared<Rgb8Staging>();
  Rgb8Stream out(emit, stream_, *staging_);
  FW_RETURN_IF_ERROR(run(latents, [&](const void* frames, int count, int64_t h, int64_t w) {
    return out.push(frames, count, h, w, DType::bf16, 0.5f, 0.5f);
  }));
  return out.finish();
}

}  // namespace fastwan::cuda
