// The GPU linear layer every model uses (DiT, text encoder, VAE): its weights, their format and scales, and
// the only code that fills GEMM parameters for a model's linear. A new precision is a new format here, not an
// `if` in each model.
//
//   bf16     bf16 weight, bf16 input
//   fp8      e4m3 weight quantized on the GPU at load from the bf16 weight with a per-tensor scale
//            (FastVideo's recipe, reference §3.2); a weight that stacks several checkpoint linears (attn1's
//            q|k|v) keeps one scale per part and runs one GEMM per part, so each part is quantized exactly as
//            it is released
//   fp8-row  e4m3 weight with one scale per output channel; per-token input scales
//   nvfp4    NVFP4 emulated on bf16 tensor cores (reference §3.3): the weight is quantized on the GPU at load
//            with its global scale g (per part, like fp8) and kept as the bf16 values code * SF (exact), the
//            GEMM's alpha is 1 / bf16(g); the input is fake-quantized to bf16 code * SF with g = 1 at every
//            call. A bf16 GEMM of those operands computes what the FP4 tensor cores compute, up to the order
//            of the fp32 additions. The weight keeps bf16's 2 bytes an element (not FP4's 0.5625)
//
// A quantized linear reads a QuantizedInput: the e4m3 codes and scales of its bf16 activation, made on the
// device (per tensor: from the amax the producing kernel accumulated; per row: from the rows), or its NVFP4
// values (one pass over the activation, no statistic to gather first).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "quant/modes.h"

namespace fastwan::cuda {

// What a linear reads: bf16 rows, e4m3 codes with their device scales ([1] or [rows]), or bf16 NVFP4 values;
// `mode` says which (a linear checks that it is its own).
struct LinearInput {
  const void* data = nullptr;
  int64_t ld = 0;  // elements between rows
  const float* scale = nullptr;
  quant::LinearMode mode = quant::LinearMode::bf16;
};

struct LinearOutput {
  void* data = nullptr;  // bf16 [rows, out], row stride ld
  int64_t ld = 0;
  bool gelu = false;        // GELU(tanh) after the bias (cuBLASLt's epilogue)
  bool accumulate = false;  // D += x.W^T (+ bias): the residual stream
};

class Linear {
 public:
  Linear() = default;
  // weight: device bf16 [out, in] with `parts` checkpoint linears stacked along out; bias: device bf16 [out]
  // or undefined. Quantizes on ctx's stream: the weight must stay as it is for the work queued there (freeing
  // it with cudaFree waits for that work).
  static Linear create(DeviceContext& ctx, const Tensor& weight, const Tensor& bias, quant::LinearMode mode,
                       int parts = 1);
  // A bf16 linear (nothing to quantize, no device work).
  static Linear bf16(const Tensor& weight, const Tensor& bias = Tensor());

  quant::LinearMode mode() const { return mode_; }
  bool quantized() const { return mode_ != quant::LinearMode::bf16; }
  int64_t in_features() const { return weight_.dim(1); }
  int64_t out_features() const { return weight_.dim(0); }
  const Tensor& weight() const { return weight_; }  // bf16, e4m3 codes or bf16 NVFP4 values [out, in]
  // f32: part i's scale at [i * kScaleSlot] (fp8) or one per output row (fp8-row); undefined for bf16 and
  // nvfp4. Each part's scale has a 256-byte slot of its own: cuBLASLt's FP8 GEMMs refused (NOT_SUPPORTED, on
  // an H100, 2026-12-07) the second part of the stacked q|k|v weight, whose scale then sat 4 bytes after the
  // first's; every other operand of those calls was as aligned as in the single-part GEMMs that ran.
  static constexpr int64_t kScaleSlot = 64;
  const Tensor& scales() const { return scales_; }
  int parts() const { return parts_; }
  // The GEMM's alpha for part `part`: 1 / bf16(g) of that part in nvfp4, 1 otherwise.
  float alpha(int part = 0) const { return alpha_.empty() ? 1.0f : alpha_[part]; }
  size_t bytes() const;

  // out[rows, out] = x . W^T + bias (then GELU), or out += x . W^T + bias. x is bf16 for a bf16 linear, a
  // QuantizedInput of this linear's mode otherwise (checked).
  void forward(DeviceContext& ctx, const LinearInput& x, int64_t rows, const LinearOutput& out) const;

 private:
  static Linear create_nvfp4(DeviceContext& ctx, const Tensor& weight, const Tensor& bias, int parts);

  quant::LinearMode mode_ = quant::LinearMode::bf16;
  int parts_ = 1;
  Tensor weight_, bias_, scales_;
  std::vector<float> alpha_;  // nvfp4: one per part
};

// The quantized form of one activation for the linears that read it, made from a bf16 tensor: e4m3 codes
// [rows, cols] and scales, or NVFP4's bf16 values [rows, cols]. FP8 per tensor: the tensor's amax must be in
// amax() before quantize(): producers fold it in (RowNormParams::amax, AttentionParams::amax) after
// reset_amax(), or measure() runs an extra pass. NVFP4 needs no statistic: amax() is null, reset_amax() and
// measure() do nothing, quantize() is the whole work (2 + 2 bytes an element).
class QuantizedInput {
 public:
  // Sizes the buffers (in `arena`, or counts them with a counting arena) for up to `rows` x `cols`, for
  // `sites` activations that each keep their own amax slot.
  void layout(Arena& arena, int64_t rows, int64_t cols, quant::LinearMode mode, int sites = 1);
  bool enabled() const { return mode_ != quant::LinearMode::bf16; }
  float* amax(int site = 0) const;            // the producer's target for activation `site` (FP8), or null
  void reset_amax(DeviceContext& ctx) const;  // zeroes every site's amax
  void measure(DeviceContext& ctx, const void* x, int64_t ld, int64_t rows, int64_t cols, int site = 0) const;
  // Quantizes x (bf16 [rows, cols], row stride ld) into the codes; returns what the linear reads.
  LinearInput quantize(DeviceContext& ctx, const void* x, int64_t ld, int64_t rows, int64_t cols,
                       int site = 0) const;

 private:
  quant::LinearMode mode_ = quant::LinearMode::bf16;
  Tensor codes_, scales_, amax_;
};

}  // namespace fastwan::cuda
