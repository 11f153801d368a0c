#include "models/taehv/cuda/taehv_cuda.h"

#include <algorithm>
#include <cstring>

#include "cuda/check.h"
#include "cuda/device.h"
#include "models/common/cuda/rgb8_stream.h"
#include "ops/cuda/conv.h"
#include "ops/cuda/video.h"

namespace fastwan::cuda {
namespace {

// Host [out, in, k, k] (any float dtype) -> device fp16 [out, k, k, in]; bias -> fp16 (undefined when
// absent).
TaehvConvGpu upload_conv(const Tensor& weight, const Tensor& bias, cudaStream_t stream) {
  TaehvConvGpu c;
  c.out = static_cast<int>(weight.dim(0));
  c.in = static_cast<int>(weight.dim(1));
  c.kernel = static_cast<int>(weight.dim(2));
  c.weight = to_device(weight.to_f32().permute({0, 2, 3, 1}).contiguous(), DType::f16, stream);
  if (bias.defined()) c.bias = to_device(bias.to_f32(), DType::f16, stream);
  return c;
}

const Tensor& conv_weight(const TaehvLayer& l) {
  return std::get<TaehvConv>(l).weight;
}

TaehvMemBlockGpu upload_memblock(const TaehvMemBlock& b, cudaStream_t stream) {
  const int64_t n = b.conv_0.weight.dim(0);
  TaehvMemBlockGpu g;
  g.conv_0_x = upload_conv(b.conv_0.weight.slice(1, 0, n).contiguous(), b.conv_0.bias, stream);
  g.conv_0_past = upload_conv(b.conv_0.weight.slice(1, n, 2 * n).contiguous(), Tensor(), stream);
  g.conv_2 = upload_conv(b.conv_2.weight, b.conv_2.bias, stream);
  g.conv_4 = upload_conv(b.conv_4.weight, b.conv_4.bias, stream);
  return g;
}

// y = act(conv(x) + z + bias) over `frames` frames of h x w.
void conv(const TaehvConvGpu& c, const void* x, void* y, int frames, int h, int w, bool relu, const void* z,
          DeviceContext& ctx) {
  Conv2dParams p;
  p.x = x;
  p.w = c.weight.raw();
  p.bias = c.bias.defined() ? c.bias.raw() : nullptr;
  p.z = z;
  p.y = y;
  p.n = frames;
  p.h = h;
  p.w_px = w;
  p.c_in = c.in;
  p.c_out = c.out;
  p.kernel = c.kernel;
  p.relu = relu;
  conv2d_nhwc(ctx, p);
}

char* frame_ptr(const Tensor& t, int64_t frame, int64_t frame_bytes) {
  return static_cast<char*>(t.raw()) + frame * frame_bytes;
}

}  // namespace

Expected<TaehvDecoderCuda> TaehvDecoderCuda::create(const TaehvDecoder& cpu,
                                                    std::shared_ptr<DeviceContext> ctx) {
  FW_RETURN_IF_ERROR(device_info());
  TaehvDecoderCuda d;
  d.config_ = cpu.config();
  d.ctx_ = std::move(ctx);
  d.stream_ = d.ctx_->stream();
  const cudaStream_t stream = d.stream_;
  const auto& layers = cpu.layers();  // decoder.0 .. decoder.22, the order TaehvDecoder::load builds
  d.conv_in_ = upload_conv(conv_weight(layers[1]), std::get<TaehvConv>(layers[1]).bias, stream);
  for (int s = 0; s < 3; ++s) {
    const int base = 3 + 6 * s;
    TaehvStageGpu& st = d.stages_[s];
    for (int m = 0; m < 3; ++m)
      st.blocks[m] = upload_memblock(std::get<TaehvMemBlock>(layers[base + m]), stream);
    st.up = static_cast<int>(std::get<TaehvUpsample>(layers[base + 3]).scale);
    const TaehvTGrow& grow = std::get<TaehvTGrow>(layers[base + 4]);
    st.stride = static_cast<int>(grow.stride);
    st.tgrow = upload_conv(grow.conv_weight, Tensor(), stream);
    st.proj = upload_conv(conv_weight(layers[base + 5]), Tensor(), stream);
  }
  d.conv_out_ = upload_conv(conv_weight(layers[22]), std::get<TaehvConv>(layers[22]).bias, stream);
  return d;
}

Status TaehvDecoderCuda::run(const Tensor& latents, const ChunkFn& on_chunk) const {
  const auto& c = config_;
  if (latents.ndim() != 5 || latents.dim(0) != 1 || latents.dim(1) != c.latent_channels)
    return Error("TAEHV input: expected latents [1, " + std::to_string(c.latent_channels) +
                 ", T, H, W], got " + latents.describe());
  const int T = static_cast<int>(latents.dim(2)), H0 = static_cast<int>(latents.dim(3)),
            W0 = static_cast<int>(latents.dim(4));
  if (T < 1 || H0 < 1 || W0 < 1) return Error("TAEHV input: empty latents " + latents.describe());
  install_device_allocator();
  Tensor z =
      latents.device() == Device::cuda ? latents.contiguous() : to_device(latents, DType::f32, stream_);
  if (z.dtype() != DType::f32) return Error("TAEHV input: device latents must be f32");
  const int chunk = chunk_ > 0 ? std::min(chunk_, T) : T;
  const auto& n = TaehvConfig::kWidths;

  // Per stage: frames per chunk, size. Stage 3 is the output resolution.
  int F[4], Hs[4], Ws[4];
  F[0] = chunk;
  Hs[0] = H0;
  Ws[0] = W0;
  for (int s = 0; s < 3; ++s) {
    F[s + 1] = F[s] * stages_[s].stride;
    Hs[s + 1] = Hs[s] * stages_[s].up;
    Ws[s + 1] = Ws[s] * stages_[s].up;
  }
  auto bytes = [](int64_t frames, int64_t h, int64_t w, int64_t ch) { return frames * h * w * ch * 2; };

  // Buffers: each MemBlock's input holds one extra leading frame, the block's memory.
  Tensor in_latents, block_in[3][3], stage_out[3], grown[3], upsampled[3], tmp, a, b, last, rgb;
  auto layout = [&](Arena& ar) {
    int64_t work = 0;
    in_latents = ar.alloc({F[0], H0, W0, c.latent_channels}, DType::f16);
    for (int s = 0; s < 3; ++s) {
      for (int m = 0; m < 3; ++m) block_in[s][m] = ar.alloc({F[s] + 1, Hs[s], Ws[s], n[s]}, DType::f16);
      stage_out[s] = ar.alloc({F[s], Hs[s], Ws[s], n[s]}, DType::f16);
      grown[s] = ar.alloc({F[s], Hs[s], Ws[s], n[s] * stages_[s].stride}, DType::f16);
      upsampled[s] = ar.alloc({F[s + 1], Hs[s + 1], Ws[s + 1], n[s]}, DType::f16);
      work = std::max(work, static_cast<int64_t>(F[s]) * Hs[s] * Ws[s] * n[s]);
    }
    tmp = ar.alloc({work}, DType::f16);
    a = ar.alloc({work}, DType::f16);
    b = ar.alloc({work}, DType::f16);
    last = ar.alloc({F[3], Hs[3], Ws[3], n[3]}, DType::f16);
    rgb = ar.alloc({F[3], Hs[3], Ws[3], c.image_channels}, DType::f16);
  };
  Arena sizing = Arena::counting();
  layout(sizing);
  // The buffers stay allocated for the next video of the same size (cudaMalloc of gigabytes is not free).
  if (!arena_ || arena_->capacity() != sizing.used()) arena_ = std::make_unique<Arena>(sizing.used());
  arena_->reset();
  layout(*arena_);
  peak_bytes_ = std::max(peak_bytes_, arena_->high_water());
  for (auto& stage : block_in)
    for (auto& t : stage) FW_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), stream_));  // zero memory

  const int64_t trim = c.frames_to_trim();
  const int64_t per_latent = c.time_upscale();
  for (int t0 = 0; t0 < T; t0 += chunk) {
    const int cnt = std::min(chunk, T - t0);
    int f[4] = {cnt, 0, 0, 0};
    for (int s = 0; s < 3; ++s) f[s + 1] = f[s] * stages_[s].stride;
    LatentsToNhwcParams lp;
    lp.latents = z.data<float>();
    lp.channels = static_cast<int>(c.latent_channels);
    lp.frames = T;
    lp.height = H0;
    lp.width = W0;
    lp.first = t0;
    lp.count = cnt;
    lp.out = in_latents.raw();
    latents_to_nhwc(lp, stream_);
    const int64_t fb0 = bytes(1, H0, W0, n[0]);
    conv(conv_in_, in_latents.raw(), frame_ptr(block_in[0][0], 1, fb0), f[0], H0, W0, true, nullptr, *ctx_);
    for (int s = 0; s < 3; ++s) {
      const TaehvStageGpu& st = stages_[s];
      const int h = Hs[s], w = Ws[s];
      const int64_t fb = bytes(1, h, w, n[s]);
      for (int m = 0; m < 3; ++m) {
        const TaehvMemBlockGpu& mb = st.blocks[m];
        const Tensor& in = block_in[s][m];
        void* out = m < 2 ? frame_ptr(block_in[s][m + 1], 1, fb) : stage_out[s].raw();
        // relu(conv0(cat[x, past])) = relu(conv0_x(x) + conv0_past(past) + b0): past = the previous frame.
        conv(mb.conv_0_past, frame_ptr(in, 0, fb), tmp.raw(), f[s], h, w, false, nullptr, *ctx_);
        conv(mb.conv_0_x, frame_ptr(in, 1, fb), a.raw(), f[s], h, w, true, tmp.raw(), *ctx_);
        conv(mb.conv_2, a.raw(), b.raw(), f[s], h, w, true, nullptr, *ctx_);
        conv(mb.conv_4, b.raw(), out, f[s], h, w, true, frame_ptr(in, 1, fb), *ctx_);  // + x skip, then ReLU
        // The last input frame is the next chunk's memory.
        FW_CUDA_CHECK(cudaMemcpyAsync(frame_ptr(in, 0, fb), frame_ptr(in, f[s], fb), fb,
                                      cudaMemcpyDeviceToDevice, stream_));
      }
      conv(st.tgrow, stage_out[s].raw(), grown[s].raw(), f[s], h, w, false, nullptr, *ctx_);
      tgrow_upsample(
          {grown[s].raw(), upsampled[s].raw(), f[s], h, w, static_cast<int>(n[s]), st.stride, st.up},
          stream_);
      const int hn = Hs[s + 1], wn = Ws[s + 1];
      void* dst = s < 2 ? frame_ptr(block_in[s + 1][0], 1, bytes(1, hn, wn, n[s + 1])) : last.raw();
      conv(st.proj, upsampled[s].raw(), dst, f[s + 1], hn, wn, s == 2, nullptr, *ctx_);
    }
    conv(conv_out_, last.raw(), rgb.raw(), f[3], Hs[3], Ws[3], false, nullptr, *ctx_);
    const int64_t first = static_cast<int64_t>(t0) * per_latent;  // global index of this chunk's first frame
    const int64_t skip = std::max<int64_t>(0, trim - first);
    if (skip < f[3]) {
      const char* frames =
          static_cast<const char*>(rgb.raw()) + skip * bytes(1, Hs[3], Ws[3], c.image_channels);
      FW_RETURN_IF_ERROR(on_chunk(frames, static_cast<int>(f[3] - skip), first + skip - trim, Hs[3], Ws[3]));
    }
  }
  FW_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return Status::Ok();
}

Status TaehvDecoderCuda::decode(const Tensor& latents, const FrameCallback& emit) const {
  return run(latents, [&](const void* frames, int count, int64_t, int64_t h, int64_t w) {
    return emit_f32_frames(frames, count, h, w, DType::f16, 1.0f, 0.0f, emit, stream_);
  });
}

Status TaehvDecoderCuda::decode_rgb8(const Tensor& latents, const Rgb8Callback& emit) const {
  if (!staging_) staging_ = std::make_shared<Rgb8Staging>();
  Rgb8Stream out(emit, stream_, *staging_);
  FW_RETURN_IF_ERROR(run(latents, [&](const void* frames, int count, int64_t, int64_t h, int64_t w) {
    return out.push(frames, count, h, w, DType::f16, 1.0f, 0.0f);
  }));
  return out.finish();
}

Status TaehvDecoderCuda::warm_up(const Shape& latent_shape) const {
  if (latent_shape.size() != 5) return Error("TAEHV warm-up: expected a latent shape [1, C, T, H, W]");
  const int64_t t = latent_shape[2];
  Shape one_chunk = latent_shape;
  one_chunk[2] = chunk_ > 0 ? std::min<int64_t>(chunk_, t) : t;
  install_device_allocator();
  Tensor zeros = Tensor::empty(one_chunk, DType::f32, Device::cuda);
  FW_CUDA_CHECK(cudaMemsetAsync(zeros.raw(), 0, zeros.nbytes(), stream_));
  return decode_rgb8(zeros, [](const uint8_t*) { return Status::Ok(); });
}

}  // namespace fastwan::cuda
