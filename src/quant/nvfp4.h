// NVFP4 as plain host functions: an E2M1 code (values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}) per element and one E4M3
// scale per 16 contiguous elements along the reduction dimension. The oracle of the GPU's emulated NVFP4 and
// the CPU model's fake quantization, in the two recipes the FastWan-QAD checkpoints use:
//
//   attention (attn_qat.md §1.2, py/attn_qat_ref.py fq_nvfp4), no global scale:
//     s = amax / 6;  sf = e4m3(s);  q = e2m1(x * (1 / sf))   (Fp4Rounding::reciprocal_of_rounded)
//                                   q = e2m1(x / s)          (Fp4Rounding::unrounded_scale: the sm_120
//                                                             kernel's P)
//     x^ = q * sf, and 0 for the whole block when sf == 0 (amax <= 6 * 2^-10)
//   linears (fastwan_qad_inference.md §3.3, flashinfer's nvfp4_quantize), with a global scale g:
//     SF = e4m3(g * (amax * rcp(6)));  scale = amax != 0 ? rcp(SF * rcp(g)) : 0;  q = e2m1(x * scale)
//     x^ = q * SF / g. Weights: g = 448 * 6 / max|W| over the bf16 cast, and the GEMM's alpha is
//     1 / bf16(g) (FastVideo keeps g in bf16); activations: g = 1.0 (static).
//
// E2M1 rounds to nearest with ties to the even code and saturates at ±6 (cvt.rn.satfinite.e2m1x2.f32;
// quant/nvfp4_math.h, shared with the GPU kernel); the E4M3 scale rounds to nearest even and saturates at
// 448. flashinfer's rcp is rcp.approx.ftz.f32, which a host cannot reproduce bit for bit (NVIDIA does not
// specify its last-bit rounding): it is an exactly rounded reciprocal here unless the caller passes the GPU's
// (Nvfp4Reciprocal; the GPU tests do), so with the default a scale may differ from the GPU's only where
// g * amax * rcp(6) lands within an ulp of an E4M3 midpoint, and a code only where x * scale lands within an
// ulp of an E2M1 midpoint. Both happen at exact ties, which bf16 inputs do hit: amax = 6 * an E4M3 midpoint,
// x = an E2M1 midpoint * SF (docs/numerics.md). A NaN or infinite input is an error naming the tensor and the
// element.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan::quant {

inline constexpr int64_t kNvfp4Block = 16;
inline constexpr float kE2m1Max = 6.0f;

// The 4-bit code of y: bit 3 the sign, bits 0-2 the index of |value| in {0, 0.5, 1, 1.5, 2, 3, 4, 6}. y must
// not be NaN (infinities saturate).
uint8_t e2m1_code(float y);
float e2m1_value(uint8_t code);
// The E4M3 value of a block scale s >= 0 (round to nearest even, saturating at 448).
float e4m3_scale(float s);

enum class Fp4Rounding {
  reciprocal_of_rounded,  // x * (1 / e4m3(s)): the training kernel and the Q/K/V inference quantizers
  unrounded_scale,        // x / s, dequantized with e4m3(s): the inference kernel's P (codes from fp32 s)
};
// The attention quantizer φ on one block: n <= 16 values x[i * stride], fake-quantized into out[i * stride]
// (out may be x).
void fq_nvfp4_block(const float* x, int64_t n, int64_t stride, float* out, Fp4Rounding rounding);
// One attention head as the FP4 attention kernels quantize it: x f32 [S, heads, D] (D a multiple of 16),
// the rows of head `head` as f32 [S * D] row-major, φ per 16 channels of a token, or per 16 tokens of a
// channel (along_tokens; a last, partial block of tokens on its own, the same values as zero padding), with
// Fp4Rounding::reciprocal_of_rounded.
std::vector<float> fq_nvfp4_head(const Tensor& x, int64_t head, bool along_tokens);
// φ on every 16 elements of x's last dimension (a multiple of 16); f32 in x's shape.
Expected<Tensor> fake_quantize_fp4(const Tensor& x, Fp4Rounding rounding, std::string_view name);

// The linear recipe's quantized matrix.
struct Nvfp4Matrix {
  int64_t rows = 0, cols = 0;
  float global_scale = 1.0f;    // g, fp32
  std::vector<uint8_t> codes;   // [rows, cols] E2M1 codes, one a byte (the GPU packs two)
  std::vector<uint8_t> scales;  // [rows, cols / 16] E4M3 bit patterns

  float scale_of(int64_t row, int64_t col) const;  // the block scale's value
  Tensor dequantize(float alpha) const;            // f32 [rows, cols]: code * SF * alpha
};

// The reciprocal the linear recipe takes of 6, of g and of SF / g (flashinfer's rcp.approx.ftz.f32). Empty:
// the exactly rounded 1 / v. Called from several threads at once.
using Nvfp4Reciprocal = std::function<float(float)>;

// g = 448 * 6 / amax (1 for an all-zero tensor, whose codes are 0 whatever g is).
float nvfp4_global_scale(float amax);
// The GEMM's alpha for a weight quantized with g: 1 / bf16(g) (FastVideo keeps g in bf16).
float nvfp4_gemm_alpha(float global_scale);
// x: f32 or bf16, rows = all but the last dimension, which must be a multiple of 16.
Expected<Nvfp4Matrix> quantize_nvfp4(const Tensor& x, float global_scale, std::string_view name,
                                     const Nvfp4Reciprocal& rcp = {});
// A linear's weight [out, in] as the GEMM sees it: quantized from its bf16 cast with its own g, times alpha
// = 1 / bf16(g). f32 [out, in].
Expected<Tensor> fake_quantize_nvfp4_weight(const Tensor& weight, std::string_view name,
                                            const Nvfp4Reciprocal& rcp = {});
// A linear's input: quantized with g = 1.0 and dequantized. f32 in x's shape.
Expected<Tensor> fake_quantize_nvfp4_input(const Tensor& x, std::string_view name,
                                           const Nvfp4Reciprocal& rcp = {});

}  // namespace fastwan::quant
