#include "quant/sage.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "core/thread_pool.h"

namespace fastwan::quant {
namespace {

// The group of row r: Q groups rows {r, r + 8} of a 16-row slice; K groups the rows with the same (r % 8) / 2
// inside a 128-row block. `key` maps a row to a group id, `rows_of` lists a group's rows.
template <typename Key>
Int8Groups quantize_groups(const float* x, int64_t rows, int64_t dim, Key key) {
  Int8Groups g;
  g.codes.resize(static_cast<size_t>(rows * dim));
  g.scales.resize(static_cast<size_t>(rows));
  std::vector<std::pair<int64_t, int64_t>> order(static_cast<size_t>(rows));  // (group, row)
  for (int64_t r = 0; r < rows; ++r) order[r] = {key(r), r};
  std::sort(order.begin(), order.end());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    float amax = 0.0f;
    for (; j < order.size() && order[j].first == order[i].first; ++j)
      for (int64_t c = 0; c < dim; ++c) amax = std::max(amax, std::fabs(x[order[j].second * dim + c]));
    const float scale = sage_int8_scale(amax);
    for (size_t k = i; k < j; ++k) {
      const int64_t r = order[k].second;
      g.scales[r] = scale;
      for (int64_t c = 0; c < dim; ++c) g.codes[r * dim + c] = sage_int8_code(x[r * dim + c], scale);
    }
    i = j;
  }
  return g;
}

}  // namespace

Int8Groups sage_quantize_q(const float* x, int64_t rows, int64_t dim) {
  // Group id: (16-row slice, r % 8).
  return quantize_groups(x, rows, dim, [](int64_t r) { return (r / 16) * 8 + r % 8; });
}

Int8Groups sage_quantize_k(const float* x, int64_t rows, int64_t dim) {
  // Group id: (128-row block, (r % 8) / 2).
  return quantize_groups(x, rows, dim, [](int64_t r) { return (r / kSageBlockK) * 4 + (r % 8) / 2; });
}

Tensor sage8_attention(const Tensor& q, const Tensor& k, const Tensor& v, float sm_scale) {
  FW_CHECK(q.ndim() == 3 && k.ndim() == 3 && v.shape() == k.shape() && q.dim(1) == k.dim(1) &&
               q.dim(2) == k.dim(2),
           "sage8_attention: q [Sq, H, D], k and v [Sk, H, D] expected");
  const int64_t sq = q.dim(0), sk = k.dim(0), heads = q.dim(1), d = q.dim(2);
  const Tensor qf = q.to_f32().contiguous(), kf = k.to_f32().contiguous(), vf = v.to_f32().contiguous();
  Tensor out = Tensor::empty({sq, heads, d}, DType::f32);
  const float c = sm_scale * 1.4426950408889634f;
  auto attend_head = [&](int64_t h) {
    // One head's rows, contiguous.
    auto gather = [&](const Tensor& t, int64_t rows) {
      std::vector<float> x(static_cast<size_t>(rows * d));
      for (int64_t r = 0; r < rows; ++r) std::copy_n(t.f32() + (r * heads + h) * d, d, x.data() + r * d);
      return x;
    };
    std::vector<float> qh = gather(qf, sq), kh = gather(kf, sk), vh = gather(vf, sk);
    for (int64_t ch = 0; ch < d; ++ch) {  // K smoothing: the per-channel mean over all tokens
      double mean = 0;
      for (int64_t r = 0; r < sk; ++r) mean += kh[r * d + ch];
      const float m = static_cast<float>(mean / static_cast<double>(sk));
      for (int64_t r = 0; r < sk; ++r) kh[r * d + ch] -= m;
    }
    const Int8Groups qi = sage_quantize_q(qh.data(), sq, d), ki = sage_quantize_k(kh.data(), sk, d);
    std::vector<float> vs(static_cast<size_t>(d)), vq(static_cast<size_t>(sk * d));
    for (int64_t ch = 0; ch < d; ++ch) {
      float amax = 0;
      for (int64_t r = 0; r < sk; ++r) amax = std::max(amax, std::fabs(vh[r * d + ch]));
      vs[ch] = amax / 448.0f;
      for (int64_t r = 0; r < sk; ++r)
        vq[r * d + ch] = vs[ch] > 0 ? fp8_e4m3_to_float(float_to_fp8_e4m3(vh[r * d + ch] / vs[ch])) : 0.0f;
    }
    std::vector<float> s(kSageBlockK), acc(static_cast<size_t>(d));
    for (int64_t i = 0; i < sq; ++i) {
      float m = -5e6f, l = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t j0 = 0; j0 < sk; j0 += kSageBlockK) {
        const int64_t n = std::min<int64_t>(kSageBlockK, sk - j0);
        float row_max = -INFINITY;
        for (int64_t j = 0; j < n; ++j) {
          int32_t dot = 0;  // exact: |dot| <= 127^2 * D
          for (int64_t ch = 0; ch < d; ++ch)
            dot += int32_t{qi.codes[i * d + ch]} * int32_t{ki.codes[(j0 + j) * d + ch]};
          s[j] = static_cast<float>(dot) * (qi.scales[i] * ki.scales[j0 + j]) * c;
          row_max = std::max(row_max, s[j]);
        }
        const float m_new = std::max(m, row_max - kSageP8Offset);
        const float alpha = std::exp2(m - m_new);
        l *= alpha;
        for (auto& a : acc) a *= alpha;
        for (int64_t j = 0; j < n; ++j) {
          const float p = std::exp2(s[j] - m_new);
          l += p;
          const float p8 = fp8_e4m3_to_float(float_to_fp8_e4m3(p));
          for (int64_t ch = 0; ch < d; ++ch) acc[ch] += p8 * vq[(j0 + j) * d + ch];
        }
        m = m_new;
      }
      for (int64_t ch = 0; ch < d; ++ch) out.f32()[(i * heads + h) * d + ch] = acc[ch] / l * vs[ch];
    }
  };
  parallel_for(heads, 1, [&](int64_t h_begin, int64_t h_end) {
    for (int64_t h = h_begin; h < h_end; ++h) attend_head(h);
  });
  return out;
}

}  // namespace fastwan::quant
