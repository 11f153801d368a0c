// The CPU oracle of SageAttention2's 8-bit attention (quant/sage.h): the INT8 rounding, the per-thread groups
// that follow the wgmma fragment ownership, and its accuracy against exact attention on inputs with a K
// channel bias (the outlier pattern K smoothing exists for), ragged key blocks and Sq != Sk included.
#include "quant/sage.h"
#include "common/test_util.h"

namespace fastwan {
namespace {

TEST(Sage8, Int8CodesRoundHalfAwayFromZero) {
  EXPECT_EQ(quant::sage_int8_code(2.5f, 1.0f), 3);
  EXPECT_EQ(quant::sage_int8_code(-2.5f, 1.0f), -3);
  EXPECT_EQ(quant::sage_int8_code(2.49f, 1.0f), 2);
  EXPECT_EQ(quant::sage_int8_code(0.0f, 1.0f), 0);
  EXPECT_EQ(quant::sage_int8_code(127.0f, 1.0f), 127);
}

TEST(Sage8, QGroupsAreRowPairsOfEach16RowSlice) {
  const int64_t rows = 32, dim = 4;
  std::vector<float> x(rows * dim, 1.0f);
  x[8 * dim] = 254.0f;  // row 8 shares a group with row 0 only
  const auto g = quant::sage_quantize_q(x.data(), rows, dim);
  EXPECT_FLOAT_EQ(g.scales[0], 2.0f + 1e-7f);
  EXPECT_FLOAT_EQ(g.scales[8], 2.0f + 1e-7f);
  EXPECT_FLOAT_EQ(g.scales[1], 1.0f / 127 + 1e-7f);
  EXPECT_FLOAT_EQ(g.scales[16], 1.0f / 127 + 1e-7f);  // the next 16-row slice
  EXPECT_EQ(g.codes[8 * dim], 127);
  EXPECT_EQ(g.codes[0], 1);  // 1 / 2 = 0.5 rounds away from zero
}

TEST(Sage8, KGroupsAreTheTokensOneThreadOwnsInA128TokenBlock) {
  const int64_t rows = 256, dim = 2;
  std::vector<float> x(rows * dim, 1.0f);
  x[9 * dim] = 127.0f;  // token 9: (9 % 8) / 2 = 0, the group of tokens 8 i + {0, 1}
  const auto g = quant::sage_quantize_k(x.data(), rows, dim);
  for (int64_t r : {0, 1, 8, 9, 16, 17, 120, 121}) EXPECT_FLOAT_EQ(g.scales[r], 1.0f + 1e-7f) << r;
  for (int64_t r : {2, 3, 7, 127, 128, 129}) EXPECT_FLOAT_EQ(g.scales[r], 1.0f / 127 + 1e-7f) << r;
}

TEST(Sage8, CloseToExactAttentionWithAKChannelBias) {
  for (auto [sq, sk] : {std::pair{300, 300}, std::pair{77, 1000}, std::pair{1, 200}}) {
    SCOPED_TRACE(std::to_string(sq) + " x " + std::to_string(sk));
    const auto [q, k, v] = test::biased_attention_inputs(sq, sk, 2, 1);
    const auto c = test::attention_closeness(q, k, v, quant::sage8_attention, "sage8");
    EXPECT_GT(c.cosine, 0.9993);
    EXPECT_LT(c.rel_l2, 4e-2);
  }
}

}  // namespace
}  // namespace fastwan
