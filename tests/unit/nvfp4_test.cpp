// The NVFP4 quantizers (quant/nvfp4.h): E2M1 codes and the tie table, E4M3 block scales, the zero-scale rule
// and saturation, hand-computed for both recipes (Attn-QAT's φ and flashinfer's linear quantization with its
// global scale), and errors for non-finite input.
#include <cmath>
#include <cstring>
#include <random>

#include "common/test_util.h"
#include "quant/nvfp4.h"
#include "quant/nvfp4_math.h"

namespace fastwan {
namespace {

using quant::Fp4Rounding;

TEST(E2m1, TieTableRoundsToTheEvenCode) {
  // attn_qat.md §1.2: 0.25 -> 0, 0.75 -> 1, 1.25 -> 1, 1.75 -> 2, 2.5 -> 2, 3.5 -> 4, 5 -> 4, (5, inf) -> 6.
  const std::vector<std::pair<float, float>> ties = {{0.25f, 0.0f}, {0.75f, 1.0f}, {1.25f, 1.0f},
                                                     {1.75f, 2.0f}, {2.5f, 2.0f},  {3.5f, 4.0f},
                                                     {5.0f, 4.0f},  {5.01f, 6.0f}, {1e30f, 6.0f}};
  for (auto [x, want] : ties) {
    EXPECT_EQ(quant::e2m1_value(quant::e2m1_code(x)), want) << x;
    EXPECT_EQ(quant::e2m1_value(quant::e2m1_code(-x)), -want) << -x;
  }
  EXPECT_EQ(quant::e2m1_value(quant::e2m1_code(std::nextafter(0.25f, 1.0f))), 0.5f);
  EXPECT_EQ(quant::e2m1_value(quant::e2m1_code(std::nextafter(0.75f, 0.0f))), 0.5f);
  EXPECT_EQ(quant::e2m1_value(quant::e2m1_code(INFINITY)), 6.0f);  // satfinite
}

TEST(E2m1, CodesAreSignAndMagnitudeIndex) {
  EXPECT_EQ(quant::e2m1_code(0.0f), 0x0);
  EXPECT_EQ(quant::e2m1_code(0.5f), 0x1);
  EXPECT_EQ(quant::e2m1_code(1.5f), 0x3);
  EXPECT_EQ(quant::e2m1_code(6.0f), 0x7);
  EXPECT_EQ(quant::e2m1_code(-0.5f), 0x9);
  EXPECT_EQ(quant::e2m1_code(-6.0f), 0xF);
  for (uint8_t c = 0; c < 16; ++c) {
    if (c != 0x8) {
      EXPECT_EQ(quant::e2m1_code(quant::e2m1_value(c)), c) << int(c);  // 0x8 is -0
    }
  }
}

TEST(E4m3Scale, RoundsToNearestEvenAndSaturates) {
  EXPECT_EQ(quant::e4m3_scale(1.0f), 1.0f);
  EXPECT_EQ(quant::e4m3_scale(7.0f / 6.0f), 1.125f);          // between 1.125 and 1.25
  EXPECT_EQ(quant::e4m3_scale(1.0f / 6.0f), 0.171875f);       // between 0.15625 and 0.171875
  EXPECT_EQ(quant::e4m3_scale(1000.0f), 448.0f);              // satfinite
  EXPECT_EQ(quant::e4m3_scale(std::ldexp(1.0f, -10)), 0.0f);  // half the smallest subnormal ties to 0
  EXPECT_EQ(quant::e4m3_scale(std::ldexp(1.5f, -10)), std::ldexp(1.0f, -9));
}

std::vector<float> fq(std::vector<float> x, Fp4Rounding rounding) {
  quant::fq_nvfp4_block(x.data(), static_cast<int64_t>(x.size()), 1, x.data(), rounding);
  return x;
}

TEST(AttentionQuantizer, HandComputedBlock) {
  // amax 7: s = 7/6, sf = e4m3(s) = 1.125. Training style: x * (1/1.125) -> 7: 6.22 -> 6, 2: 1.78 -> 2,
  // 1: 0.89 -> 1, 0.3: 0.27 -> 0.5; times 1.125.
  const std::vector<float> x = {7.0f, 2.0f, 1.0f, -0.3f, 0.0f};
  EXPECT_EQ(fq(x, Fp4Rounding::reciprocal_of_rounded),
            (std::vector<float>{6.75f, 2.25f, 1.125f, -0.5625f, 0.0f}));
  // Inference style (the kernel's P): codes from x / s with the fp32 s: 2 / 1.167 = 1.71 -> 1.5, 1: 0.857 ->
  // 1, 0.3: 0.257 -> 0.5; dequantized with 1.125.
  EXPECT_EQ(fq(x, Fp4Rounding::unrounded_scale),
            (std::vector<float>{6.75f, 1.6875f, 1.125f, -0.5625f, 0.0f}));
  // An exactly representable block stays as it is.
  const std::vector<float> exact = {6.0f, -4.0f, 3.0f, 2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -6.0f};
  EXPECT_EQ(fq(exact, Fp4Rounding::reciprocal_of_rounded), exact);
}

TEST(AttentionQuantizer, ZeroScaleRuleAndSaturation) {
  // amax <= 6 * 2^-10 ~ 0.00586: the scale underflows to 0 and the whole block is 0.
  EXPECT_EQ(fq({0.005f, -0.001f, 0.0f}, Fp4Rounding::reciprocal_of_rounded),
            (std::vector<float>{0.0f, 0.0f, 0.0f}));
  EXPECT_EQ(fq({0.0f, 0.0f}, Fp4Rounding::unrounded_scale), (std::vector<float>{0.0f, 0.0f}));
  // Just above it: the smallest subnormal scale 2^-9, 0.006 * 512 = 3.07 -> 3.
  EXPECT_EQ(fq({0.006f}, Fp4Rounding::reciprocal_of_rounded)[0], 3.0f * std::ldexp(1.0f, -9));
  // amax > 6 * 448: the scale saturates at 448 and the largest values clip at 6 * 448.
  EXPECT_EQ(fq({6000.0f, -100.0f}, Fp4Rounding::reciprocal_of_rounded), (std::vector<float>{2688.0f, 0.0f}));
}

TEST(AttentionQuantizer, TensorBlocksAlongTheLastDimensionAndErrors) {
  Tensor x = test::random_tensor({3, 32}, 7);
  ASSERT_OK_AND_ASSIGN(Tensor out, quant::fake_quantize_fp4(x, Fp4Rounding::reciprocal_of_rounded, "q"));
  ASSERT_EQ(out.shape(), x.shape());
  for (int64_t b = 0; b < 6; ++b) {
    std::vector<float> block(x.f32() + b * 16, x.f32() + b * 16 + 16);
    EXPECT_EQ(fq(block, Fp4Rounding::reciprocal_of_rounded),
              std::vector<float>(out.f32() + b * 16, out.f32() + b * 16 + 16));
  }
  auto odd =
      quant::fake_quantize_fp4(test::random_tensor({2, 24}, 1), Fp4Rounding::reciprocal_of_rounded, "k");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message().find("multiple of 16"), std::string::npos) << odd.error().message();
  x.f32()[40] = std::nanf("");
  auto nan = quant::fake_quantize_fp4(x, Fp4Rounding::reciprocal_of_rounded, "blocks.3.attn1 q");
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.error().message(),
            "quantize blocks.3.attn1 q: NaN at row 1, column 8 (NVFP4 needs finite values)");
}

TEST(LinearQuantizer, ActivationsUseTheUnitGlobalScale) {
  // g = 1: SF = e4m3(amax * rcp(6)), scale = rcp(SF). Block 0: amax 6 -> SF 1 (0x38), exact codes; block 1:
  // amax 0.005 -> SF 0 (the block is zeroed); block 2: amax 7 -> SF 1.125 (0x39), 2 / 1.125 -> 2.
  std::vector<float> v(48, 0.0f);
  v[0] = 6.0f, v[1] = -1.5f, v[2] = 0.5f;
  v[16] = 0.005f;
  v[32] = 7.0f, v[33] = 2.0f;
  const Tensor x = Tensor::from_floats({1, 48}, v);
  ASSERT_OK_AND_ASSIGN(auto m, quant::quantize_nvfp4(x, 1.0f, "x"));
  EXPECT_EQ(m.scales, (std::vector<uint8_t>{0x38, 0x00, 0x39}));
  EXPECT_EQ(m.codes[0], 0x7);
  EXPECT_EQ(m.codes[1], 0xB);
  EXPECT_EQ(m.codes[2], 0x1);
  EXPECT_EQ(m.codes[16], 0x0);
  EXPECT_EQ(m.codes[32], 0x7);
  EXPECT_EQ(m.codes[33], 0x4);
  ASSERT_OK_AND_ASSIGN(Tensor fq_x, quant::fake_quantize_nvfp4_input(x, "x"));
  EXPECT_EQ(fq_x.f32()[1], -1.5f);
  EXPECT_EQ(fq_x.f32()[16], 0.0f);
  EXPECT_EQ(fq_x.f32()[32], 6.75f);
  EXPECT_EQ(fq_x.f32()[33], 2.25f);
  // A block above 6 * 448 saturates its scale at 448 (0x7E) and its values at 2688.
  const Tensor big = Tensor::from_floats({1, 16}, std::vector<float>(16, -3000.0f));
  ASSERT_OK_AND_ASSIGN(auto s, quant::quantize_nvfp4(big, 1.0f, "x"));
  EXPECT_EQ(s.scales[0], 0x7E);
  EXPECT_EQ(s.dequantize(1.0f).f32()[5], -2688.0f);
}

TEST(LinearQuantizer, WeightsUseTheirGlobalScaleAndTheBf16Alpha) {
  // amax 1: g = 2688 (a bf16 value). Block 0 (amax 1): SF = e4m3(2688 / 6) = 448, scale = 6 -> codes 6, 3;
  // block 1 (amax 0.1): SF = e4m3(44.8) = 44, 0.1 * 2688 / 44 = 6.1 -> 6, dequantized 6 * 44 / 2688.
  std::vector<float> w(32, 0.0f);
  w[0] = 1.0f, w[1] = 0.5f, w[16] = 0.1f;
  const Tensor weight = Tensor::from_floats({1, 32}, w);
  ASSERT_OK_AND_ASSIGN(auto m, quant::quantize_nvfp4(weight, quant::nvfp4_global_scale(1.0f), "w"));
  EXPECT_EQ(m.global_scale, 2688.0f);
  EXPECT_EQ(m.scale_of(0, 0), 448.0f);
  EXPECT_EQ(m.scale_of(0, 16), 44.0f);
  EXPECT_EQ(m.codes[0], 0x7);
  EXPECT_EQ(m.codes[1], 0x5);
  ASSERT_OK_AND_ASSIGN(Tensor fw, quant::fake_quantize_nvfp4_weight(weight, "w"));
  EXPECT_FLOAT_EQ(fw.f32()[0], 1.0f);
  EXPECT_FLOAT_EQ(fw.f32()[16], 6.0f * 44.0f / 2688.0f);
  // amax 1.1 (1.1015625 in bf16): g = 2440.2 is not a bf16 value; the codes use it, the alpha its bf16
  // rounding 2448, so the largest weight comes back as 6 * 448 / 2448, not 1.1015625 (the released artifact).
  w[0] = 1.1f;
  ASSERT_OK_AND_ASSIGN(Tensor skewed,
                       quant::fake_quantize_nvfp4_weight(Tensor::from_floats({1, 32}, w), "w"));
  const float g = quant::nvfp4_global_scale(round_to_bf16(1.1f));
  EXPECT_EQ(round_to_bf16(g), 2448.0f);
  EXPECT_FLOAT_EQ(skewed.f32()[0], 6.0f * 448.0f / 2448.0f);
  // An all-zero weight quantizes to zero.
  ASSERT_OK_AND_ASSIGN(Tensor zero,
                       quant::fake_quantize_nvfp4_weight(Tensor::zeros({2, 16}, DType::f32), "w"));
  EXPECT_EQ(zero.f32()[3], 0.0f);
}

TEST(LinearQuantizer, NonFiniteInputOrARaggedRowIsAnErrorNamingTheTensor) {
  std::vector<float> w(32, 1.0f);
  w[17] = INFINITY;
  auto inf = quant::fake_quantize_nvfp4_weight(Tensor::from_floats({2, 16}, w), "blocks.0.ffn.net.2.weight");
  ASSERT_FALSE(inf.ok());
  EXPECT_EQ(inf.error().message(),
            "quantize blocks.0.ffn.net.2.weight: an infinity at row 1, column 1 (NVFP4 needs finite values)");
  auto ragged = quant::fake_quantize_nvfp4_input(test::random_tensor({2, 20}, 3), "the input of x");
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.error().message().find("the input of x"), std::string::npos);
  EXPECT_NE(ragged.error().message().find("multiple of 16"), std::string::npos);
}

// quant/nvfp4_math.h is the rounding the GPU kernel runs: the same values as the host's codes everywhere.
TEST(E2m1, SharedRoundingEqualsTheCodes) {
  for (int i = 0; i < 8; ++i) EXPECT_EQ(quant::e2m1_magnitude(i), quant::e2m1_value(static_cast<uint8_t>(i)));
  std::vector<float> ys = {0.0f, -0.0f, 0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 6.0f, 7.0f, INFINITY};
  for (float y = -7.0f; y <= 7.0f; y += 1.0f / 64) ys.push_back(y);
  for (float y : std::vector<float>(ys)) {
    ys.push_back(std::nextafter(y, INFINITY));
    ys.push_back(std::nextafter(y, -INFINITY));
    ys.push_back(-y);
  }
  for (float y : ys) {
    const float want = quant::e2m1_value(quant::e2m1_code(y));
    EXPECT_EQ(quant::e2m1_round(y), want) << y;
    EXPECT_EQ(std::signbit(quant::e2m1_round(y)), std::signbit(want)) << y;  // -0 for small negatives
  }
}

// The same over the whole float line: every float within 4096 ulps of a midpoint or a binade edge, and a
// stride through every finite float of both signs.
TEST(E2m1, SharedRoundingEqualsTheCodesForEveryFloatChecked) {
  auto check = [](uint32_t bits) {
    float y;
    std::memcpy(&y, &bits, sizeof y);
    if (std::isnan(y)) return true;
    const float want = quant::e2m1_value(quant::e2m1_code(y)), got = quant::e2m1_round(y);
    return got == want && std::signbit(got) == std::signbit(want);
  };
  int64_t checked = 0;
  for (float edge : {0.25f, 0.5f, 0.75f, 1.0f, 1.25f, 1.5f, 1.75f, 2.0f, 2.5f, 3.0f, 3.5f, 4.0f, 5.0f, 6.0f,
                     7.0f, 8.0f, 16.0f, 1e-30f}) {
    uint32_t center;
    std::memcpy(&center, &edge, sizeof center);
    for (uint32_t sign : {0u, 0x80000000u})
      for (uint32_t b = center - 4096; b <= center + 4096; ++b, ++checked)
        ASSERT_TRUE(check(b | sign)) << "bits " << (b | sign);
  }
  for (uint64_t b = 0; b <= 0xffffffffu; b += 997, ++checked)
    ASSERT_TRUE(check(static_cast<uint32_t>(b))) << "bits " << b;
  EXPECT_GT(checked, 4'000'000);
}

// The block scale's E4M3 rounding on the GPU (nvfp4_math.h) against the conversion: every non-negative float
// within 4096 ulps of a binade edge or a rounding boundary of the scales φ meets, and a stride through all.
TEST(E4m3, SharedRoundingEqualsTheConversionForEveryFloatChecked) {
  auto check = [](uint32_t bits) {
    float s;
    std::memcpy(&s, &bits, sizeof s);
    return std::isnan(s) || quant::e4m3_round(s) == quant::e4m3_scale(s);
  };
  int64_t checked = 0;
  std::vector<float> edges = {0.0f, 448.0f, 464.0f, 480.0f, 512.0f, 1e30f};
  for (int e = -10; e <= 9; ++e)
    for (int m = 0; m < 16; ++m) edges.push_back(std::ldexp(1.0f + m / 16.0f, e));  // values and midpoints
  for (float edge : edges) {
    uint32_t center;
    std::memcpy(&center, &edge, sizeof center);
    for (uint32_t b = center > 4096 ? center - 4096 : 0; b <= center + 4096; ++b, ++checked)
      ASSERT_TRUE(check(b)) << "bits " << b;
  }
  for (uint64_t b = 0; b <= 0x7f800000u; b += 331, ++checked)
    ASSERT_TRUE(check(static_cast<uint32_t>(b))) << "bits " << b;
  EXPECT_GT(checked, 7'000'000);
}

// φ's quotient on P needs no clamps: every x / s with 0 <= x <= amax rounds as the clamped rounding does,
// including the largest quotients a rounded s allows.
TEST(E2m1, BlockQuotientRoundingNeedsNoClamp) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), exponent(-12.0f, 0.0f);
  for (int i = 0; i < 1'000'000; ++i) {
    const float amax = std::exp2(exponent(rng));
    const float x = i % 4 == 0 ? amax : amax * unit(rng);
    const float y = x / (amax / 6.0f);
    ASSERT_EQ(quant::e2m1_round_block_quotient(y), quant::e2m1_round(y)) << x << " of " << amax;
  }
  for (float y = 5.9999f; y <= 6.0001f; y = std::nextafter(y, 7.0f))
    ASSERT_EQ(quant::e2m1_round_block_quotient(y), quant::e2m1_round(y)) << y;
}

// P's quotient x / s in the FP4 attention kernels: Markstein's correction from r = RN(1 / s) is the IEEE
// quotient, for the p in [0, 1] and s = amax / 6 >= 2^-10 / 6 that φ divides.
TEST(E2m1, MarksteinQuotientIsTheIeeeQuotient) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), exponent(-30.0f, 0.0f);
  for (int i = 0; i < 2'000'000; ++i) {
    const float amax = std::max(std::exp2(exponent(rng) / 3.0f), 6.0f * std::exp2(-10.0f));
    const float x = i % 3 == 0 ? amax : amax * unit(rng) * (i % 5 == 0 ? std::exp2(exponent(rng)) : 1.0f);
    const float s = amax / 6.0f, r = 1.0f / s;
    ASSERT_EQ(quant::divide_by(x, s, r), x / s) << x << " / " << s;
  }
}

TEST(LinearQuantizer, GemmAlphaIsTheReciprocalOfTheBf16GlobalScale) {
  EXPECT_EQ(quant::nvfp4_gemm_alpha(2688.0f), 1.0f / 2688.0f);
  const float g = quant::nvfp4_global_scale(round_to_bf16(1.1f));  // 2440.2, bf16 2448
  EXPECT_EQ(quant::nvfp4_gemm_alpha(g), 1.0f / 2448.0f);
}

// The GPU's rcp.approx may differ from 1 / v in the last bit; the recipe takes it as a hook (the GPU tests
// pass the GPU's). One ulp moves exact ties only: a block scale whose g * amax / 6 is an E4M3 midpoint, a
// code whose x / SF is an E2M1 midpoint.
TEST(LinearQuantizer, AReciprocalOneUlpOffMovesOnlyExactTies) {
  const auto exact = [](float v) { return 1.0f / v; };
  // One ulp off, but exact for powers of two (as MUFU.RCP is).
  const auto off_by_one = [](float toward) {
    return [toward](float v) {
      int e;
      return std::frexp(v, &e) == 0.5f ? 1.0f / v : std::nextafter(1.0f / v, toward);
    };
  };
  const auto high = off_by_one(INFINITY), low = off_by_one(0.0f);
  // Block 0: amax 7.5 -> SF 1.25 (not a tie); 1.5625 / 1.25 = 1.25 is an E2M1 tie (-> 1), 1.0 / 1.25 = 0.8
  // is not. Block 1: amax 7.125 = 6 * 1.1875, an E4M3 tie between 1.125 and 1.25 (-> 1.25, the even one).
  std::vector<float> v(32, 0.0f);
  v[0] = 7.5f, v[1] = 1.5625f, v[2] = 1.0f;
  v[16] = 7.125f;
  const Tensor x = Tensor::from_floats({1, 32}, v);
  ASSERT_OK_AND_ASSIGN(auto by_default, quant::quantize_nvfp4(x, 1.0f, "x"));
  ASSERT_OK_AND_ASSIGN(auto with_exact, quant::quantize_nvfp4(x, 1.0f, "x", exact));
  EXPECT_EQ(by_default.codes, with_exact.codes);
  EXPECT_EQ(by_default.scales, with_exact.scales);
  EXPECT_EQ(by_default.scale_of(0, 0), 1.25f);
  EXPECT_EQ(by_default.codes[1], 0x2);           // 1.25 -> 1 (even)
  EXPECT_EQ(by_default.scale_of(0, 16), 1.25f);  // 1.1875 -> 1.25 (even)
  ASSERT_OK_AND_ASSIGN(auto up, quant::quantize_nvfp4(x, 1.0f, "x", high));
  EXPECT_EQ(up.codes[1], 0x3);  // 1.25 + ulp -> 1.5
  EXPECT_EQ(up.codes[2], by_default.codes[2]);
  ASSERT_OK_AND_ASSIGN(auto down, quant::quantize_nvfp4(x, 1.0f, "x", low));
  EXPECT_EQ(down.scale_of(0, 16), 1.125f);  // 1.1875 - ulp -> 1.125
  EXPECT_EQ(down.scale_of(0, 0), 1.25f);
  // The fake quantizers pass the hook on.
  ASSERT_OK_AND_ASSIGN(Tensor fq_up, quant::fake_quantize_nvfp4_input(x, "x", high));
  EXPECT_EQ(fq_up.f32()[1], 1.875f);
  ASSERT_OK_AND_ASSIGN(Tensor w_default, quant::fake_quantize_nvfp4_weight(x, "w"));
  ASSERT_OK_AND_ASSIGN(Tensor w_exact, quant::fake_quantize_nvfp4_weight(x, "w", exact));
  EXPECT_EQ(std::memcmp(w_default.raw(), w_exact.raw(), w_exact.nbytes()), 0);
}

}  // namespace
}  // namespace fastwan
