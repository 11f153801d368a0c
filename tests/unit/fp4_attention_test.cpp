// The CPU oracle of Attn-QAT's FP4 attention (quant/fp4_attention.h): a hand-computed case that shows the
// single-level P scale, and its accuracy against exact attention on ragged sizes with Sq != Sk (attn_qat.md
// Appendix B.5 measures cosine 0.981 for these numerics on random inputs).
#include <algorithm>

#include "common/test_util.h"
#include "quant/fp4_attention.h"
#include "quant/nvfp4.h"

namespace fastwan {
namespace {

TEST(Fp4Attention, OneKeyGivesItsValueTimesTheRoundedPScale) {
  // One key: P = 1, its scale s = 1/6 gives the code 6 but dequantizes with e4m3(1/6) = 0.171875, so O =
  // 1.03125 V^ (the kernel's codes come from the unrounded scale). V's one-token blocks are exact here.
  const int64_t h = 2, d = 32;
  const Tensor q = test::random_tensor({3, h, d}, 1), k = test::random_tensor({1, h, d}, 2);
  std::vector<float> values(h * d);
  for (int64_t i = 0; i < h * d; ++i) values[i] = (i % 3 == 0 ? -3.0f : 1.5f) * (i % 2 ? 0.25f : 1.0f);
  const Tensor v = Tensor::from_floats({1, h, d}, values);
  const Tensor o = quant::fp4_attention(q, k, v, 0.125f);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t i = 0; i < h * d; ++i)
      ASSERT_EQ(o.f32()[r * h * d + i], 1.03125f * values[i]) << r << " " << i;
}

TEST(Fp4Attention, CloseToExactAttentionOnRaggedSizes) {
  for (auto [sq, sk] : {std::pair{300, 300}, std::pair{77, 1000}, std::pair{1, 200}, std::pair{130, 129}}) {
    SCOPED_TRACE(std::to_string(sq) + " x " + std::to_string(sk));
    const int64_t h = 2, d = 128;
    const Tensor q = test::random_tensor({sq, h, d}, 1), k = test::random_tensor({sk, h, d}, 2),
                 v = test::random_tensor({sk, h, d}, 3);
    const auto c = test::attention_closeness(q, k, v, quant::fp4_attention, "fp4");
    EXPECT_GT(c.cosine, 0.97);
    EXPECT_LT(c.rel_l2, 0.25);
  }
}

TEST(Fp4Attention, MatchesExactAttentionOfTheQuantizedOperandsWhenPIsExact) {
  // With every score equal (q = 0), P is 1 everywhere and exact in FP4 (up to its 1.03125 scale), so the
  // output is 1.03125 times the mean of the fake-quantized V, which is quantized per 16 tokens of one
  // channel.
  const int64_t h = 1, d = 16, sk = 40;
  const Tensor q = Tensor::zeros({2, h, d}), k = test::random_tensor({sk, h, d}, 5),
               v = test::random_tensor({sk, h, d}, 6);
  const Tensor o = quant::fp4_attention(q, k, v, 0.25f);
  for (int64_t ch = 0; ch < d; ++ch) {
    std::vector<float> column(sk);
    for (int64_t t = 0; t < sk; ++t) column[t] = v.f32()[t * d + ch];
    for (int64_t t = 0; t < sk; t += 16)
      quant::fq_nvfp4_block(column.data() + t, std::min<int64_t>(16, sk - t), 1, column.data() + t,
                            quant::Fp4Rounding::reciprocal_of_rounded);
    double mean = 0;
    for (float c : column) mean += c;
    mean /= sk;
    EXPECT_NEAR(o.f32()[ch], 1.03125 * mean, 1e-5) << ch;
    EXPECT_NEAR(o.f32()[d + ch], 1.03125 * mean, 1e-5) << ch;
  }
}

}  // namespace
}  // namespace fastwan
