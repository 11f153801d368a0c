#include "models/common/cuda/linear.h"

#include <cmath>

#include "cuda/check.h"
#include "ops/cuda/gemm.h"
#include "ops/cuda/quant.h"
#include "quant/nvfp4.h"

namespace fastwan::cuda {

Linear Linear::create(DeviceContext& ctx, const Tensor& weight, const Tensor& bias, quant::LinearMode mode,
                      int parts) {
  FW_CHECK(weight.ndim() == 2 && weight.dtype() == DType::bf16 && weight.device() == Device::cuda &&
               parts >= 1 && weight.dim(0) % parts == 0,
           "Linear: expected a device bf16 [out, in] weight, got " + weight.describe());
  if (mode == quant::LinearMode::bf16) return bf16(weight, bias);
  if (mode == quant::LinearMode::nvfp4) return create_nvfp4(ctx, weight, bias, parts);
  Linear l;
  l.mode_ = mode;
  l.parts_ = parts;
  l.bias_ = bias;
  const int64_t out = weight.dim(0), in = weight.dim(1);
  const bool per_row = mode == quant::LinearMode::fp8_row;
  l.weight_ = Tensor::empty({out, in}, DType::fp8_e4m3, Device::cuda);
  l.scales_ = Tensor::empty({per_row ? out : parts * kScaleSlot}, DType::f32, Device::cuda);
  // A part's amax sits in its scale's slot, after the scale: a scratch tensor of its own would be freed at
  // the end, and cudaFree waits for the whole device (the loader queues weight after weight without waiting).
  if (!per_row) FW_CUDA_CHECK(cudaMemsetAsync(l.scales_.raw(), 0, l.scales_.nbytes(), ctx.stream()));
  const int64_t part_rows = per_row ? out : out / parts;
  for (int64_t r0 = 0, i = 0; r0 < out; r0 += part_rows, ++i) {
    Fp8QuantizeParams q;
    q.x = static_cast<const char*>(weight.raw()) + r0 * in * 2;
    q.rows = part_rows;
    q.cols = in;
    q.ld_x = in;
    q.codes = static_cast<char*>(l.weight_.raw()) + r0 * in;
    q.per_row = per_row;
    q.scale = l.scales_.data<float>() + (per_row ? 0 : i * kScaleSlot);
    if (!per_row) {
      float* amax = l.scales_.data<float>() + i * kScaleSlot + 1;
      q.amax = amax;
      fp8_amax(q.x, part_rows, in, in, amax, ctx.stream());
    }
    fp8_quantize(q, ctx.stream());
  }
  // No wait: the caller frees the bf16 weight with cudaFree, which waits for the device, or reuses it for
  // work queued after this on the same stream (CheckpointSource::get_staged).
  return l;
}

// Each part: its amax on the GPU, g = 448 * 6 / amax on the host (the GEMM's alpha is a host value), then the
// values code * SF with that g.
Linear Linear::create_nvfp4(DeviceContext& ctx, const Tensor& weight, const Tensor& bias, int parts) {
  Linear l;
  l.mode_ = quant::LinearMode::nvfp4;
  l.parts_ = parts;
  l.bias_ = bias;
  const int64_t out = weight.dim(0), in = weight.dim(1), part_rows = out / parts;
  FW_CHECK(in % quant::kNvfp4Block == 0,
           "Linear: NVFP4 needs in_features to be a multiple of 16, got " + weight.describe());
  l.weight_ = Tensor::empty({out, in}, DType::bf16, Device::cuda);
  Tensor amax = Tensor::empty({parts}, DType::f32, Device::cuda);
  FW_CUDA_CHECK(cudaMemsetAsync(amax.raw(), 0, amax.nbytes(), ctx.stream()));
  const int64_t part_bytes = part_rows * in * 2;
  const char* src = static_cast<const char*>(weight.raw());
  for (int i = 0; i < parts; ++i)
    fp8_amax(src + i * part_bytes, part_rows, in, in, amax.data<float>() + i, ctx.stream());
  std::vector<float> host_amax(static_cast<size_t>(parts));
  FW_CUDA_CHECK(
      cudaMemcpyAsync(host_amax.data(), amax.raw(), amax.nbytes(), cudaMemcpyDeviceToHost, ctx.stream()));
  FW_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  for (int i = 0; i < parts; ++i) {
    FW_CHECK(std::isfinite(host_amax[i]), "Linear: an infinite weight cannot be quantized to NVFP4");
    Nvfp4QuantizeParams q;
    q.x = src + i * part_bytes;
    q.rows = part_rows;
    q.cols = in;
    q.ld_x = in;
    q.out = static_cast<char*>(l.weight_.raw()) + i * part_bytes;
    q.ld_out = in;
    q.global_scale = quant::nvfp4_global_scale(host_amax[i]);
    l.alpha_.push_back(quant::nvfp4_gemm_alpha(q.global_scale));
    nvfp4_quantize(q, ctx.stream());
  }
  // The bf16 weight may be freed by the caller as soon as this returns.
  FW_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  return l;
}

Linear Linear::bf16(const Tensor& weight, const Tensor& bias) {
  FW_CHECK(weight.ndim() == 2 && weight.dtype() == DType::bf16 && weight.device() == Device::cuda,
           "Linear: expected a device bf16 [out, in] weight, got " + weight.describe());
  Linear l;
  l.weight_ = weight;
  l.bias_ = bias;
  return l;
}

size_t Linear::bytes() const {
  size_t n = 0;
  for (const Tensor* t : {&weight_, &bias_, &scales_}) n += t->defined() ? t->nbytes() : 0;
  return n;
}

void Linear::forward(DeviceContext& ctx, const LinearInput& x, int64_t rows, const LinearOutput& out) const {
  FW_CHECK(x.mode == mode_, "Linear: a " + std::string(quant::linear_mode_name(mode_)) + " linear got a " +
                                std::string(quant::linear_mode_name(x.mode)) + " input");
  const bool fp8 = mode_ == quant::LinearMode::fp8 || mode_ == quant::LinearMode::fp8_row;
  FW_CHECK(fp8 == (x.scale != nullptr), "Linear: an FP8 input needs its scales (and no other input has any)");
  FW_CHECK(!out.accumulate || !out.gelu, "Linear: GELU of an accumulated output");
  const int64_t in = in_features(), total = out_features();
  // A stacked per-tensor weight runs one GEMM per part, each with its own scale or alpha.
  const bool per_part = (mode_ == quant::LinearMode::fp8 || mode_ == quant::LinearMode::nvfp4) && parts_ > 1;
  const int64_t n = per_part ? total / parts_ : total;
  for (int64_t r0 = 0, i = 0; r0 < total; r0 += n, ++i) {
    GemmParams g;
    g.a = x.data;
    g.lda = x.ld;
    g.b = static_cast<const char*>(weight_.raw()) + r0 * in * dtype_size(weight_.dtype());
    g.ldb = in;
    g.d = static_cast<char*>(out.data) + r0 * 2;
    g.ldd = out.ld;
    g.m = rows;
    g.n = n;
    g.k = in;
    g.beta = out.accumulate ? 1.0f : 0.0f;
    g.alpha = alpha(static_cast<int>(i));  // nvfp4: 1 / bf16(g); cuBLASLt adds the bias after alpha
    if (bias_.defined()) {
      g.bias = static_cast<const char*>(bias_.raw()) + r0 * 2;
      g.epilogue = out.gelu ? Epilogue::gelu_bias : Epilogue::bias;
    }
    if (fp8) {
      g.a_type = g.b_type = DType::fp8_e4m3;
      g.a_scale = x.scale;
      g.scaling = mode_ == quant::LinearMode::fp8_row ? GemmScaling::per_row : GemmScaling::per_tensor;
      g.b_scale = scales_.data<float>() + (per_part ? i * kScaleSlot : 0);
    }
    gemm(ctx, g);
  }
}

void QuantizedInput::layout(Arena& arena, int64_t rows, int64_t cols, quant::LinearMode mode, int sites) {
  mode_ = mode;
  if (mode == quant::LinearMode::bf16) return;
  if (mode == quant::LinearMode::nvfp4) {
    codes_ = arena.alloc({rows, cols}, DType::bf16);  // the values code * SF
    return;
  }
  codes_ = arena.alloc({rows, cols}, DType::fp8_e4m3);
  scales_ = arena.alloc({mode == quant::LinearMode::fp8_row ? rows : 1}, DType::f32);
  amax_ = arena.alloc({sites}, DType::f32);
}

float* QuantizedInput::amax(int site) const {
  return amax_.defined() ? amax_.data<float>() + site : nullptr;
}

void QuantizedInput::reset_amax(DeviceContext& ctx) const {
  if (amax_.defined()) FW_CUDA_CHECK(cudaMemsetAsync(amax_.raw(), 0, amax_.nbytes(), ctx.stream()));
}

void QuantizedInput::measure(DeviceContext& ctx, const void* x, int64_t ld, int64_t rows, int64_t cols,
                             int site) const {
  if (mode_ == quant::LinearMode::fp8) fp8_amax(x, rows, cols, ld, amax(site), ctx.stream());
}

LinearInput QuantizedInput::quantize(DeviceContext& ctx, const void* x, int64_t ld, int64_t rows,
                                     int64_t cols, int site) const {
  if (!enabled()) return {x, ld, nullptr};
  FW_CHECK(rows <= codes_.dim(0) && cols <= codes_.dim(1),
           "QuantizedInput: activation larger than its buffer");
  if (mode_ == quant::LinearMode::nvfp4) {
    nvfp4_quantize({x, rows, cols, ld, codes_.raw(), cols, 1.0f}, ctx.stream());  // the static g = 1
    return {codes_.raw(), cols, nullptr, mode_};
  }
  Fp8QuantizeParams q;
  q.x = x;
  q.rows = rows;
  q.cols = cols;
  q.ld_x = ld;
  q.codes = codes_.raw();
  q.scale = scales_.data<float>();
  q.amax = amax(site);
  q.per_row = mode_ == quant::LinearMode::fp8_row;
  fp8_quantize(q, ctx.stream());
  return {codes_.raw(), cols, scales_.data<float>(), mode_};
}

}  // namespace fastwan::cuda
