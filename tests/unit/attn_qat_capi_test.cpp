// The C interface of libfastwan_attn_qat (include/fastwan/attn_qat.h), what python/ calls: its reference
// entries on [batch, heads, tokens, D] arrays give exactly the numbers of quant/attn_qat.h on the
// [tokens, heads, D] slices of each batch, and bad arguments are errors with a message, never a crash.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "core/tensor.h"
#include "fastwan/attn_qat.h"
#include "quant/attn_qat.h"

namespace fastwan {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

// Batch b of x [B, H, N, D] as [N, H, D].
Tensor slice(const std::vector<float>& x, int b, int h, int n, int d) {
  Tensor t = Tensor::empty({n, h, d});
  for (int hh = 0; hh < h; ++hh)
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < d; ++c) t.f32()[(i * h + hh) * d + c] = x[((size_t(b) * h + hh) * n + i) * d + c];
  return t;
}

TEST(AttnQatCapi, ReferenceEntriesAreTheReferenceOnEachBatch) {
  const int B = 2, H = 2, Sq = 37, Sk = 50, D = 32;
  fastwan_attn_qat_params p = fastwan_attn_qat_default_params(B, H, Sq, Sk, D);
  p.causal = 1;
  p.dv_p = FASTWAN_QAT_DV_FQ_ROW_MAX;
  const std::vector<float> q = random_values(size_t(B) * H * Sq * D, 1),
                           k = random_values(size_t(B) * H * Sk * D, 2),
                           v = random_values(size_t(B) * H * Sk * D, 3), d_o = random_values(q.size(), 4);
  std::vector<float> o(q.size()), op(q.size()), lse(size_t(B) * H * Sq), dq(q.size()), dk(k.size()),
      dv(k.size());
  ASSERT_EQ(
      fastwan_attn_qat_reference_forward(&p, q.data(), k.data(), v.data(), o.data(), op.data(), lse.data()),
      0)
      << fastwan_attn_qat_last_error();
  ASSERT_EQ(fastwan_attn_qat_reference_backward(&p, q.data(), k.data(), v.data(), o.data(), op.data(),
                                                lse.data(), d_o.data(), dq.data(), dk.data(), dv.data()),
            0)
      << fastwan_attn_qat_last_error();

  quant::AttnQatParams rp;
  rp.sm_scale = 1.0f / std::sqrt(static_cast<float>(D));  // the interface's default, in float as the kernels
  rp.causal = true;
  rp.block_n = fastwan_attn_qat_block_n();
  rp.dv_p = quant::QatDvP::fq_row_max;
  for (int b = 0; b < B; ++b) {
    const Tensor qb = slice(q, b, H, Sq, D), kb = slice(k, b, H, Sk, D), vb = slice(v, b, H, Sk, D);
    const auto f = quant::attn_qat_forward(qb, kb, vb, rp);
    // The backward as the entry runs it: from the float outputs of the forward.
    const Tensor ob = slice(o, b, H, Sq, D), opb = slice(op, b, H, Sq, D);
    Tensor lb = Tensor::empty({Sq, H});
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < Sq; ++i) lb.f32()[i * H + h] = lse[(size_t(b) * H + h) * Sq + i];
    const auto g = quant::attn_qat_backward(qb, kb, vb, ob, opb, lb, slice(d_o, b, H, Sq, D), rp);
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < Sq; ++i) {
        EXPECT_EQ(lse[(size_t(b) * H + h) * Sq + i], static_cast<float>(f.lse.data<double>()[i * H + h]));
        for (int c = 0; c < D; ++c) {
          const size_t at = ((size_t(b) * H + h) * Sq + i) * D + c, ref = (size_t(i) * H + h) * D + c;
          ASSERT_EQ(o[at], static_cast<float>(f.o.data<double>()[ref]));
          ASSERT_EQ(op[at], static_cast<float>(f.o_prime.data<double>()[ref]));
          ASSERT_EQ(dq[at], static_cast<float>(g.dq.data<double>()[ref]));
        }
      }
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < Sk; ++j)
        for (int c = 0; c < D; ++c) {
          const size_t at = ((size_t(b) * H + h) * Sk + j) * D + c, ref = (size_t(j) * H + h) * D + c;
          ASSERT_EQ(dk[at], static_cast<float>(g.dk.data<double>()[ref]));
          ASSERT_EQ(dv[at], static_cast<float>(g.dv.data<double>()[ref]));
        }
  }
}

TEST(AttnQatCapi, BadArgumentsAreOneLineErrors) {
  std::vector<float> x(64 * 64);
  float* f = x.data();
  auto error = [] { return std::string(fastwan_attn_qat_last_error()); };
  EXPECT_NE(fastwan_attn_qat_reference_forward(nullptr, f, f, f, f, f, f), 0);
  EXPECT_NE(error().find("params is NULL"), std::string::npos) << error();
  fastwan_attn_qat_params p = fastwan_attn_qat_default_params(1, 1, 4, 4, 24);
  EXPECT_NE(fastwan_attn_qat_reference_forward(&p, f, f, f, f, f, f), 0);
  EXPECT_NE(error().find("head_dim must be a positive multiple of 16 (got 24)"), std::string::npos)
      << error();
  p = fastwan_attn_qat_default_params(1, 0, 4, 4, 16);
  EXPECT_NE(fastwan_attn_qat_reference_forward(&p, f, f, f, f, f, f), 0);
  EXPECT_NE(error().find("must be positive"), std::string::npos) << error();
  p = fastwan_attn_qat_default_params(1, 1, 4, 4, 16);
  p.dv_p = 7;
  EXPECT_NE(fastwan_attn_qat_reference_backward(&p, f, f, f, f, f, f, f, f, f, f), 0);
  EXPECT_NE(error().find("dv_p must be 0, 1 or 2"), std::string::npos) << error();
  p.dv_p = 0;
  p.sm_scale = NAN;
  EXPECT_NE(fastwan_attn_qat_reference_forward(&p, f, f, f, f, f, f), 0);
  EXPECT_NE(error().find("sm_scale"), std::string::npos) << error();
  p.sm_scale = 0.0f;
  EXPECT_NE(fastwan_attn_qat_reference_forward(&p, f, nullptr, f, f, f, f), 0);
  EXPECT_NE(error().find("NULL"), std::string::npos) << error();
  EXPECT_EQ(fastwan_attn_qat_reference_forward(&p, f, f, f, f, f, f), 0) << error();
  EXPECT_EQ(error(), "");
  // The CUDA entries check their arguments before touching a device (none here, or no CUDA build).
  p.head_dim = 16;
  EXPECT_NE(fastwan_attn_qat_forward(&p, f, f, f, f, f, f, f, nullptr), 0);
  EXPECT_NE(error().find("head_dim must be 64 or 128"), std::string::npos) << error();
  EXPECT_EQ(fastwan_attn_qat_backward_workspace(nullptr), 0u);
}

}  // namespace
}  // namespace fastwan
