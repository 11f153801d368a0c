// The CPU reference ops against straightforward float64 loops.
#include <cmath>
#include <vector>

#include "common/test_util.h"
#include "models/wan_dit/rope.h"
#include "ops/ops.h"

namespace fastwan {
namespace {

using test::random_tensor;

void expect_close(const Tensor& a, const std::vector<double>& ref, double tol) {
  ASSERT_EQ(a.numel(), static_cast<int64_t>(ref.size()));
  double max_ref = 0, max_err = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(ref[i]));
    max_err = std::max(max_err, std::fabs(a.item_f32(static_cast<int64_t>(i)) - ref[i]));
  }
  EXPECT_LE(max_err, tol * std::max(1.0, max_ref)) << "max_err " << max_err << " max_ref " << max_ref;
}

TEST(Ops, LinearMatchesFloat64WithBf16Weights) {
  for (auto [m, k, n] : {std::tuple{1, 7, 5}, {70, 33, 37}, {3, 256, 130}}) {
    Tensor x = random_tensor({m, k}, 1);
    Tensor w = random_tensor({n, k}, 2).to(DType::bf16);
    Tensor b = random_tensor({n}, 3).to(DType::bf16);
    Tensor y = ops::linear(x, w, b);
    std::vector<double> ref(static_cast<size_t>(m * n));
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = b.item_f32(j);
        for (int t = 0; t < k; ++t) s += static_cast<double>(x.f32()[i * k + t]) * w.item_f32(j * k + t);
        ref[i * n + j] = s;
      }
    expect_close(y, ref, 1e-5);
  }
}

TEST(Ops, LayerNormAndRmsNorm) {
  Tensor x = random_tensor({5, 64}, 4, 3.0f);
  Tensor w = random_tensor({64}, 5), b = random_tensor({64}, 6);
  Tensor ln = ops::layer_norm(x, 1e-6f, w, b);
  Tensor rms = ops::rms_norm(x, 1e-6f, w);
  std::vector<double> ref_ln, ref_rms;
  for (int r = 0; r < 5; ++r) {
    double mean = 0, var = 0, ss = 0;
    for (int i = 0; i < 64; ++i) mean += x.f32()[r * 64 + i];
    mean /= 64;
    for (int i = 0; i < 64; ++i) {
      const double v = x.f32()[r * 64 + i];
      var += (v - mean) * (v - mean);
      ss += v * v;
    }
    var /= 64;
    for (int i = 0; i < 64; ++i) {
      const double v = x.f32()[r * 64 + i];
      ref_ln.push_back((v - mean) / std::sqrt(var + 1e-6) * w.f32()[i] + b.f32()[i]);
      ref_rms.push_back(v / std::sqrt(ss / 64 + 1e-6) * w.f32()[i]);
    }
  }
  expect_close(ln, ref_ln, 1e-5);
  expect_close(rms, ref_rms, 1e-5);
}

TEST(Ops, AttentionWithBiasAndKeyMask) {
  const int sq = 5, sk = 7, h = 3, d = 8;
  Tensor q = random_tensor({sq, h, d}, 7), k = random_tensor({sk, h, d}, 8), v = random_tensor({sk, h, d}, 9);
  ops::AttentionOptions o;
  o.scale = 0.3f;
  o.bias = random_tensor({h, sq, sk}, 10);
  o.key_mask = Tensor::from_floats({sk}, {1, 1, 0, 1, 1, 1, 0});
  Tensor out = ops::attention(q, k, v, o);
  std::vector<double> ref(sq * h * d);
  for (int hh = 0; hh < h; ++hh)
    for (int i = 0; i < sq; ++i) {
      std::vector<double> p(sk);
      double mx = -1e300, sum = 0;
      for (int j = 0; j < sk; ++j) {
        if (o.key_mask.f32()[j] == 0) {
          p[j] = -1e300;
          continue;
        }
        double s = 0;
        for (int t = 0; t < d; ++t)
          s += q.f32()[(i * h + hh) * d + t] * static_cast<double>(k.f32()[(j * h + hh) * d + t]);
        p[j] = s * o.scale + o.bias.f32()[(hh * sq + i) * sk + j];
        mx = std::max(mx, p[j]);
      }
      for (int j = 0; j < sk; ++j) sum += (p[j] = o.key_mask.f32()[j] == 0 ? 0.0 : std::exp(p[j] - mx));
      for (int t = 0; t < d; ++t) {
        double acc = 0;
        for (int j = 0; j < sk; ++j) acc += p[j] / sum * v.f32()[(j * h + hh) * d + t];
        ref[(i * h + hh) * d + t] = acc;
      }
    }
  expect_close(out, ref, 1e-5);
}

TEST(Ops, AttentionWithEveryKeyMaskedAveragesValues) {
  // HF adds the dtype's lowest value for masked keys, so a row with no visible key averages all values.
  Tensor q = random_tensor({1, 1, 4}, 11), k = random_tensor({3, 1, 4}, 12), v = random_tensor({3, 1, 4}, 13);
  ops::AttentionOptions o;
  o.key_mask = Tensor::zeros({3});
  Tensor out = ops::attention(q, k, v, o);
  for (int t = 0; t < 4; ++t)
    EXPECT_NEAR(out.f32()[t], (v.f32()[t] + v.f32()[4 + t] + v.f32()[8 + t]) / 3.0, 1e-6);
}

TEST(Ops, RopeRotatesInterleavedPairs) {
  Tensor x = Tensor::from_floats({1, 1, 4}, {1, 2, 3, 4});
  Tensor c = Tensor::from_floats({1, 2}, {0.0f, 1.0f});
  Tensor s = Tensor::from_floats({1, 2}, {1.0f, 0.0f});
  Tensor y = ops::rope_interleaved(x, c, s);
  // Pair 0 rotated by 90 degrees: (1, 2) -> (-2, 1); pair 1 unrotated.
  EXPECT_EQ(y.f32()[0], -2.0f);
  EXPECT_EQ(y.f32()[1], 1.0f);
  EXPECT_EQ(y.f32()[2], 3.0f);
  EXPECT_EQ(y.f32()[3], 4.0f);
}

// Every entry is float(cos(pos * (1 / theta^(2k/dim)))) in double for its axis's position and frequency, as
// diffusers computes it: the tables built per axis and copied into each token's row give exactly that.
TEST(Ops, WanRopeTablesAreEachAxisAngle) {
  const WanDitConfig config;  // head_dim 128: rope_dims() splits the 64 pairs over (t, h, w)
  const auto dims = config.rope_dims();
  const int64_t grid[3] = {3, 5, 7}, pairs = config.attention_head_dim / 2;
  const RopeTables t = wan_rope_tables(config, grid[0], grid[1], grid[2]);
  ASSERT_EQ(t.cos.shape(), (Shape{3 * 5 * 7, pairs}));
  int64_t mismatches = 0;
  for (int64_t f = 0; f < grid[0]; ++f)
    for (int64_t h = 0; h < grid[1]; ++h)
      for (int64_t w = 0; w < grid[2]; ++w) {
        const int64_t token = (f * grid[1] + h) * grid[2] + w, pos[3] = {f, h, w};
        int64_t p = 0;
        for (int a = 0; a < 3; ++a)
          for (int64_t k = 0; k < dims[a] / 2; ++k, ++p) {
            const double inv_freq =
                1.0 / std::pow(10000.0, static_cast<double>(2 * k) / static_cast<double>(dims[a]));
            const double angle = static_cast<double>(pos[a]) * inv_freq;
            mismatches += t.cos.f32()[token * pairs + p] != static_cast<float>(std::cos(angle));
            mismatches += t.sin.f32()[token * pairs + p] != static_cast<float>(std::sin(angle));
          }
        ASSERT_EQ(p, pairs);
      }
  EXPECT_EQ(mismatches, 0);
}

TEST(Ops, Conv3dMatchesDirectLoops) {
  const int ci = 3, co = 4, t = 3, hh = 5, ww = 6;
  Tensor x = random_tensor({ci, t, hh, ww}, 14);
  Tensor w = random_tensor({co, ci, 3, 3, 3}, 15).to(DType::f16);
  Tensor b = random_tensor({co}, 16);
  ops::Conv3dOptions o;
  o.pad[0] = 2;  // causal-style asymmetric padding is composed by callers; here symmetric 2/1/1
  o.pad[1] = o.pad[2] = 1;
  o.stride[2] = 2;
  Tensor y = ops::conv3d(x, w, b, o);
  const int to = t + 4 - 3 + 1, ho = hh, wo = (ww + 2 - 3) / 2 + 1;
  ASSERT_EQ(y.shape(), (Shape{co, to, ho, wo}));
  std::vector<double> ref;
  for (int c = 0; c < co; ++c)
    for (int a = 0; a < to; ++a)
      for (int i = 0; i < ho; ++i)
        for (int j = 0; j < wo; ++j) {
          double s = b.f32()[c];
          for (int cc = 0; cc < ci; ++cc)
            for (int ka = 0; ka < 3; ++ka)
              for (int ki = 0; ki < 3; ++ki)
                for (int kj = 0; kj < 3; ++kj) {
                  const int ta = a - 2 + ka, ti = i - 1 + ki, tj = j * 2 - 1 + kj;
                  if (ta < 0 || ta >= t || ti < 0 || ti >= hh || tj < 0 || tj >= ww) continue;
                  s += w.item_f32((((c * ci + cc) * 3 + ka) * 3 + ki) * 3 + kj) *
                       static_cast<double>(x.f32()[((cc * t + ta) * hh + ti) * ww + tj]);
                }
          ref.push_back(s);
        }
  expect_close(y, ref, 1e-5);
}

TEST(Ops, Conv2dBatchWithPadding) {
  Tensor x = random_tensor({2, 3, 4, 5}, 17);
  Tensor w = random_tensor({2, 3, 3, 3}, 18);
  Tensor y = ops::conv2d(x, w, Tensor(), {1, 1});
  ASSERT_EQ(y.shape(), (Shape{2, 2, 4, 5}));
  std::vector<double> ref;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 5; ++j) {
          double s = 0;
          for (int cc = 0; cc < 3; ++cc)
            for (int ki = 0; ki < 3; ++ki)
              for (int kj = 0; kj < 3; ++kj) {
                const int ti = i - 1 + ki, tj = j - 1 + kj;
                if (ti < 0 || ti >= 4 || tj < 0 || tj >= 5) continue;
                s += w.f32()[((c * 3 + cc) * 3 + ki) * 3 + kj] *
                     static_cast<double>(x.f32()[((n * 3 + cc) * 4 + ti) * 5 + tj]);
              }
          ref.push_back(s);
        }
  expect_close(y, ref, 1e-5);
}

TEST(Ops, ActivationsAndBroadcasts) {
  Tensor x = Tensor::from_floats({4}, {-2.0f, -0.5f, 0.0f, 1.5f});
  Tensor g = x.clone();
  ops::gelu_tanh_(g);
  EXPECT_NEAR(g.f32()[3], 0.5 * 1.5 * (1 + std::tanh(0.7978845608 * (1.5 + 0.044715 * 3.375))), 1e-6);
  Tensor s = x.clone();
  ops::silu_(s);
  EXPECT_NEAR(s.f32()[0], -2.0 / (1 + std::exp(2.0)), 1e-6);
  Tensor a = Tensor::from_floats({2, 2}, {1, 2, 3, 4});
  Tensor r = ops::add(a, Tensor::from_floats({1, 2}, {10, 20}));
  EXPECT_EQ(r.f32()[3], 24.0f);
  Tensor m = ops::modulate(a, Tensor::from_floats({2}, {1, 0}), Tensor::from_floats({2}, {0.5f, -1}));
  EXPECT_EQ(m.f32()[0], 2.5f);
  EXPECT_EQ(m.f32()[3], 3.0f);
  Tensor ga = ops::gated_add(a, a, Tensor::from_floats({2}, {2, 0}));
  EXPECT_EQ(ga.f32()[2], 9.0f);
  EXPECT_EQ(ga.f32()[3], 4.0f);
}

TEST(Ops, CompareReportsNanAndRelativeErrors) {
  Tensor a = Tensor::from_floats({3}, {1.0f, 2.0f, 4.5f});
  Tensor b = Tensor::from_floats({3}, {1.0f, 2.0f, 4.0f});
  auto d = ops::compare(a, b);
  EXPECT_DOUBLE_EQ(d.max_abs, 0.5);
  EXPECT_DOUBLE_EQ(d.max_rel(), 0.125);
  a.f32()[0] = NAN;
  EXPECT_TRUE(ops::compare(a, b).has_nan);
}

}  // namespace
}  // namespace fastwan
