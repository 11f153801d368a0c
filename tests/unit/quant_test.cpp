// The FP8 quantizer (the oracle of every GPU FP8 mode): hand-computed codes and scales for FastVideo's recipe
// (reference fastwan_qad_inference.md §3.2), the rounding corner cases, and errors for non-finite input.
#include <cmath>

#include "common/test_util.h"
#include "quant/fp8.h"
#include "quant/modes.h"

namespace fastwan {
namespace {

using quant::Fp8Granularity;

TEST(Fp8Scale, IsAmaxOver448ClampedBelow) {
  EXPECT_EQ(quant::fp8_scale(448.0f), 1.0f);
  EXPECT_EQ(quant::fp8_scale(896.0f), 2.0f);
  EXPECT_EQ(quant::fp8_scale(1.0f), 1.0f / 448.0f);
  // All-zero (and tiny) tensors get FP8_MIN_SCALE = 1 / (448 * 512).
  EXPECT_EQ(quant::fp8_scale(0.0f), static_cast<float>(1.0 / 229376.0));
  EXPECT_EQ(quant::fp8_scale(1e-9f), quant::kFp8MinScale);
}

TEST(Fp8Code, HandComputedValuesAtScaleOne) {
  // e4m3fn: bias 7, 3 mantissa bits. 1.0 = 0.0111.000, 0.5 = 0.0110.000, 448 = 0.1111.110.
  EXPECT_EQ(quant::fp8_code(1.0f, 1.0f, true), 0x38);
  EXPECT_EQ(quant::fp8_code(0.5f, 1.0f, true), 0x30);
  EXPECT_EQ(quant::fp8_code(-1.0f, 1.0f, true), 0xB8);
  EXPECT_EQ(quant::fp8_code(448.0f, 1.0f, true), 0x7E);
  EXPECT_EQ(quant::fp8_code(-448.0f, 1.0f, true), 0xFE);
  EXPECT_EQ(quant::fp8_code(0.0f, 1.0f, true), 0x00);
}

TEST(Fp8Code, TiesRoundToEven) {
  // Between 1.0 (0x38) and 1.125 (0x39) the midpoint 1.0625 goes to the even 1.0; between 1.125 and 1.25
  // (0x3A) the midpoint 1.1875 goes to 1.25.
  EXPECT_EQ(quant::fp8_code(1.0625f, 1.0f, false), 0x38);
  EXPECT_EQ(quant::fp8_code(1.1875f, 1.0f, false), 0x3A);
  EXPECT_EQ(quant::fp8_code(-1.1875f, 1.0f, false), 0xBA);
}

TEST(Fp8Code, SaturatesAt448) {
  EXPECT_EQ(quant::fp8_code(500.0f, 1.0f, false), 0x7E);
  EXPECT_EQ(quant::fp8_code(-1e30f, 1.0f, false), 0xFE);
  EXPECT_EQ(quant::fp8_code(464.0f, 1.0f, false), 0x7E);  // would round past 448 without the clamp
}

TEST(Fp8Code, Subnormals) {
  // The smallest subnormal is 2^-9 (code 1); 1.5 * 2^-9 ties to the even 2 * 2^-9; 2^-10 ties down to 0.
  EXPECT_EQ(quant::fp8_code(std::ldexp(1.0f, -9), 1.0f, false), 0x01);
  EXPECT_EQ(quant::fp8_code(1.5f * std::ldexp(1.0f, -9), 1.0f, false), 0x02);
  EXPECT_EQ(quant::fp8_code(std::ldexp(1.0f, -10), 1.0f, false), 0x00);
  EXPECT_EQ(quant::fp8_code(7.0f * std::ldexp(1.0f, -9), 1.0f, false), 0x07);  // the largest subnormal
  EXPECT_EQ(quant::fp8_code(std::ldexp(1.0f, -6), 1.0f, false), 0x08);         // the smallest normal
}

TEST(Fp8Code, Bf16InputRoundsTheQuotientTwice) {
  // 1.0625 + 2^-10 is above the e4m3 midpoint, but its bf16 rounding is the midpoint itself, which ties down:
  // torch divides a bf16 tensor in bf16, so FastVideo's codes are the double-rounded ones.
  const float q = 1.0625f + std::ldexp(1.0f, -10);
  EXPECT_EQ(quant::fp8_code(q, 1.0f, false), 0x39);
  EXPECT_EQ(quant::fp8_code(q, 1.0f, true), 0x38);
}

TEST(Fp8Code, DividesByTheBf16RoundedScale) {
  // s = 1/448 rounds down in bf16 (1.0010010b x 2^-9), so the tensor's largest element divides to 448.9 and
  // saturates; a value of 0.5 gives 0.5 / bf16(s) = 224.4 -> 224 (code 0x76).
  const float s = quant::fp8_scale(1.0f);
  EXPECT_LT(round_to_bf16(s), s);
  EXPECT_EQ(quant::fp8_code(1.0f, s, true), 0x7E);
  EXPECT_EQ(quant::fp8_code(0.5f, s, true), 0x76);
  EXPECT_EQ(fp8_e4m3_to_float(0x76), 224.0f);
}

TEST(QuantizeFp8, PerTensorScaleAndCodes) {
  const Tensor x = Tensor::from_floats({2, 3}, {448.0f, -224.0f, 1.0f, 0.0f, 0.5f, -0.0625f});
  ASSERT_OK_AND_ASSIGN(auto m, quant::quantize_fp8(x, Fp8Granularity::per_tensor, "x"));
  ASSERT_EQ(m.scales.size(), 1u);
  EXPECT_EQ(m.scales[0], 1.0f);
  const std::vector<uint8_t> want = {0x7E, 0xF6, 0x38, 0x00, 0x30, 0x98};
  EXPECT_EQ(m.codes, want);
  const Tensor back = m.dequantize();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back.f32()[i], x.f32()[i]) << i;  // all exactly representable
}

TEST(QuantizeFp8, PerRowScalesAndAnAllZeroRow) {
  const Tensor x = Tensor::from_floats({3, 2}, {896.0f, -1.0f, 0.0f, 0.0f, 2.0f, 4.0f});
  ASSERT_OK_AND_ASSIGN(auto m, quant::quantize_fp8(x, Fp8Granularity::per_row, "x"));
  ASSERT_EQ(m.scales.size(), 3u);
  EXPECT_EQ(m.scales[0], 2.0f);
  EXPECT_EQ(m.scales[1], quant::kFp8MinScale);  // the all-zero row
  EXPECT_EQ(m.scales[2], 4.0f / 448.0f);
  EXPECT_EQ(m.codes[0], 0x7E);  // 896 / 2 = 448
  EXPECT_EQ(m.codes[2], 0x00);
  EXPECT_EQ(m.codes[3], 0x00);
  const Tensor back = m.dequantize();
  EXPECT_EQ(back.f32()[2], 0.0f);
  EXPECT_EQ(back.f32()[3], 0.0f);
}

TEST(QuantizeFp8, NonFiniteInputIsAnErrorNamingTheTensorAndElement) {
  const Tensor nan = Tensor::from_floats({2, 2}, {1.0f, 2.0f, std::nanf(""), 3.0f});
  auto r = quant::quantize_fp8(nan, Fp8Granularity::per_tensor, "blocks.0.attn1.to_q.weight");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("blocks.0.attn1.to_q.weight"), std::string::npos);
  EXPECT_NE(r.error().message().find("NaN at row 1, column 0"), std::string::npos) << r.error().message();
  const Tensor inf = Tensor::from_floats({1, 2}, {1.0f, -INFINITY});
  auto i = quant::quantize_fp8(inf, Fp8Granularity::per_row, "x");
  ASSERT_FALSE(i.ok());
  EXPECT_NE(i.error().message().find("an infinity"), std::string::npos) << i.error().message();
}

TEST(QuantizeFp8, Bf16TensorsQuantizeAsTheirValues) {
  const Tensor x = test::random_tensor({16, 64}, 3).to(DType::bf16);
  ASSERT_OK_AND_ASSIGN(auto m, quant::quantize_fp8(x, Fp8Granularity::per_tensor, "x"));
  const Tensor v = x.to_f32();
  float amax = 0;
  for (int64_t i = 0; i < v.numel(); ++i) amax = std::max(amax, std::fabs(v.f32()[i]));
  EXPECT_EQ(m.scales[0], quant::fp8_scale(amax));
  for (int64_t i = 0; i < v.numel(); ++i)
    ASSERT_EQ(m.codes[i], quant::fp8_code(v.f32()[i], m.scales[0], true));
  // The fake quantization is within half an e4m3 step (2^-4 relative) of every value, plus the scale quirk.
  ASSERT_OK_AND_ASSIGN(Tensor fq, quant::fake_quantize_fp8(x, Fp8Granularity::per_tensor, "x"));
  EXPECT_EQ(fq.shape(), x.shape());
  for (int64_t i = 0; i < v.numel(); ++i)
    EXPECT_LE(std::fabs(fq.f32()[i] - v.f32()[i]), std::fabs(v.f32()[i]) / 14 + 8 * m.scales[0] / 512) << i;
}

TEST(Modes, ParseAndNameEveryModeAndRejectOthersInOneLine) {
  for (auto m : {quant::LinearMode::bf16, quant::LinearMode::fp8, quant::LinearMode::fp8_row,
                 quant::LinearMode::nvfp4}) {
    ASSERT_OK_AND_ASSIGN(auto back, quant::parse_linear_mode(quant::linear_mode_name(m)));
    EXPECT_EQ(back, m);
  }
  for (auto m : {quant::AttentionMode::bf16, quant::AttentionMode::sage8, quant::AttentionMode::fp4}) {
    ASSERT_OK_AND_ASSIGN(auto back, quant::parse_attention_mode(quant::attention_mode_name(m)));
    EXPECT_EQ(back, m);
  }
  auto bad = quant::parse_linear_mode("int4");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "--linear int4: unknown mode (expected bf16, fp8, fp8-row or nvfp4)");
  auto attention = quant::parse_attention_mode("fp16");
  ASSERT_FALSE(attention.ok());
  EXPECT_EQ(attention.error().message(), "--attention fp16: unknown mode (expected bf16, sage8 or fp4)");
  EXPECT_EQ((quant::ModelOptions{quant::LinearMode::fp8, quant::AttentionMode::bf16}).describe(),
            "linear fp8, attention bf16");
}

}  // namespace
}  // namespace fastwan
