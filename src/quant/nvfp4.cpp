#include "quant/nvfp4.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "quant/fp8_math.h"
#include "quant/input.h"
#include "quant/nvfp4_math.h"

namespace fastwan::quant {
namespace {

float block_amax(const float* x, int64_t n, int64_t stride) {
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i * stride]));
  return amax;
}

Status check_blocks(const Tensor& x, std::string_view name) {
  if (x.ndim() >= 1 && x.dim(-1) % kNvfp4Block != 0)
    return Error("quantize " + std::string(name) +
                 ": NVFP4 needs the last dimension to be a multiple of 16, got " + x.describe());
  return Status::Ok();
}

}  // namespace

uint8_t e2m1_code(float y) {
  return static_cast<uint8_t>((y < 0 ? 0x8 : 0x0) | e2m1_index(std::fabs(y)));
}

float e2m1_value(uint8_t code) {
  const float v = e2m1_magnitude(code & 0x7);
  return code & 0x8 ? -v : v;
}

float e4m3_scale(float s) {
  return fp8_e4m3_to_float(float_to_fp8_e4m3(std::min(s, kFp8Max)));
}

void fq_nvfp4_block(const float* x, int64_t n, int64_t stride, float* out, Fp4Rounding rounding) {
  const float s = block_amax(x, n, stride) / kE2m1Max;
  const float sf = e4m3_scale(s);
  // The zero-scale rule: a block whose scale underflows to 0 (amax <= 6 * 2^-10) is 0, not 0 * inf.
  if (sf == 0.0f) {
    for (int64_t i = 0; i < n; ++i) out[i * stride] = 0.0f;
    return;
  }
  const float inv = 1.0f / sf;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i * stride];
    out[i * stride] = e2m1_round(rounding == Fp4Rounding::reciprocal_of_rounded ? v * inv : v / s) * sf;
  }
}

std::vector<float> fq_nvfp4_head(const Tensor& x, int64_t head, bool along_tokens) {
  const int64_t rows = x.dim(0), heads = x.dim(1), d = x.dim(2);
  constexpr auto rounded = Fp4Rounding::reciprocal_of_rounded;
  std::vector<float> out(static_cast<size_t>(rows * d));
  for (int64_t r = 0; r < rows; ++r) std::copy_n(x.f32() + (r * heads + head) * d, d, out.data() + r * d);
  if (along_tokens) {
    for (int64_t ch = 0; ch < d; ++ch)
      for (int64_t r = 0; r < rows; r += kNvfp4Block) {
        float* block = out.data() + r * d + ch;
        fq_nvfp4_block(block, std::min(kNvfp4Block, rows - r), d, block, rounded);
      }
  } else {
    for (int64_t i = 0; i < rows * d; i += kNvfp4Block)
      fq_nvfp4_block(out.data() + i, kNvfp4Block, 1, out.data() + i, rounded);
  }
  return out;
}

Expected<Tensor> fake_quantize_fp4(const Tensor& x, Fp4Rounding rounding, std::string_view name) {
  FW_RETURN_IF_ERROR(check_blocks(x, name));
  FW_ASSIGN_OR_RETURN(Tensor values, quantizer_input(x, name, "NVFP4"));
  float* v = values.f32();
  for (int64_t b = 0; b < values.numel(); b += kNvfp4Block)
    fq_nvfp4_block(v + b, kNvfp4Block, 1, v + b, rounding);
  return values;
}

float Nvfp4Matrix::scale_of(int64_t row, int64_t col) const {
  return fp8_e4m3_to_float(scales[row * (cols / kNvfp4Block) + col / kNvfp4Block]);
}

Tensor Nvfp4Matrix::dequantize(float alpha) const {
  Tensor out = Tensor::empty({rows, cols}, DType::f32);
  float* o = out.f32();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      o[r * cols + c] = e2m1_value(codes[r * cols + c]) * scale_of(r, c) * alpha;  // exact but for alpha
  return out;
}

float nvfp4_global_scale(float amax) {
  return amax > 0.0f ? kFp8Max * kE2m1Max / amax : 1.0f;
}

float nvfp4_gemm_alpha(float global_scale) {
  return 1.0f / round_to_bf16(global_scale);
}

Expected<Nvfp4Matrix> quantize_nvfp4(const Tensor& x, float global_scale, std::string_view name,
                                     const Nvfp4Reciprocal& rcp) {
  FW_RETURN_IF_ERROR(check_blocks(x, name));
  FW_ASSIGN_OR_RETURN(Tensor values, quantizer_input(x, name, "NVFP4"));
  Nvfp4Matrix m;
  m.cols = x.dim(-1);
  m.rows = x.numel() / m.cols;
  m.global_scale = global_scale;
  m.codes.resize(static_cast<size_t>(m.rows * m.cols));
  m.scales.resize(static_cast<size_t>(m.rows * m.cols / kNvfp4Block));
  // flashinfer's rcp.approx: exactly rounded reciprocals unless the caller gives the GPU's (nvfp4.h).
  const auto reciprocal = [&rcp](float v) { return rcp ? rcp(v) : 1.0f / v; };
  const float rcp6 = reciprocal(kE2m1Max), rcp_g = reciprocal(global_scale);
  const float* v = values.f32();
  const int64_t blocks = m.rows * m.cols / kNvfp4Block;
  parallel_for(blocks, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* x16 = v + b * kNvfp4Block;
      const float amax = block_amax(x16, kNvfp4Block, 1);
      const uint8_t sf = float_to_fp8_e4m3(std::min(global_scale * (amax * rcp6), kFp8Max));
      m.scales[b] = sf;
      const float sf_value = fp8_e4m3_to_float(sf);
      // A zero scale zeroes the block in the GEMM whatever its codes (the GPU's are x * inf converted): 0.
      const float scale = amax != 0.0f && sf_value != 0.0f ? reciprocal(sf_value * rcp_g) : 0.0f;
      for (int64_t i = 0; i < kNvfp4Block; ++i) m.codes[b * kNvfp4Block + i] = e2m1_code(x16[i] * scale);
    }
  });
  return m;
}

Expected<Tensor> fake_quantize_nvfp4_weight(const Tensor& weight, std::string_view name,
                                            const Nvfp4Reciprocal& rcp) {
  FW_ASSIGN_OR_RETURN(Tensor values, quantizer_input(weight.to(DType::bf16), name, "NVFP4"));
  const float amax = block_amax(values.f32(), values.numel(), 1);
  const float g = nvfp4_global_scale(amax);
  FW_ASSIGN_OR_RETURN(Nvfp4Matrix m, quantize_nvfp4(values, g, name, rcp));
  // FastVideo keeps g in bf16 for the GEMM's alpha while the codes used the fp32 g (a <= 2^-9 scale error
  // per layer that the checkpoint was trained with).
  return m.dequantize(nvfp4_gemm_alpha(g)).reshape(weight.shape());
}

Expected<Tensor> fake_quantize_nvfp4_input(const Tensor& x, std::string_view name,
                                           const Nvfp4Reciprocal& rcp) {
  FW_ASSIGN_OR_RETURN(Nvfp4Matrix m, quantize_nvfp4(x, 1.0f, name, rcp));
  return m.dequantize(1.0f).reshape(x.shape());
}

}  // namespace fastwan::quant
