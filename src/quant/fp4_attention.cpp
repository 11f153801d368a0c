#include "quant/fp4_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "quant/nvfp4.h"

namespace fastwan::quant {

Tensor fp4_attention(const Tensor& q, const Tensor& k, const Tensor& v, float sm_scale) {
  FW_CHECK(q.ndim() == 3 && k.ndim() == 3 && v.shape() == k.shape() && q.dim(1) == k.dim(1) &&
               q.dim(2) == k.dim(2) && q.dim(2) % kNvfp4Block == 0,
           "fp4_attention: q [Sq, H, D], k and v [Sk, H, D] with D a multiple of 16 expected");
  const int64_t sq = q.dim(0), sk = k.dim(0), heads = q.dim(1), d = q.dim(2);
  const Tensor qf = q.to_f32(), kf = k.to_f32(), vf = v.to_f32();
  Tensor out = Tensor::empty({sq, heads, d}, DType::f32);
  const float c = sm_scale * 1.4426950408889634f;
  auto attend_head = [&](int64_t h) {
    // One head's rows, fake-quantized: Q and K along the channels, V along the tokens.
    const std::vector<float> qh = fq_nvfp4_head(qf, h, false), kh = fq_nvfp4_head(kf, h, false),
                             vh = fq_nvfp4_head(vf, h, true);
    std::vector<float> s(kFp4BlockK), p(kFp4BlockK), acc(static_cast<size_t>(d));
    for (int64_t i = 0; i < sq; ++i) {
      float m = -INFINITY, l = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t j0 = (sk - 1) / kFp4BlockK * kFp4BlockK; j0 >= 0; j0 -= kFp4BlockK) {
        const int64_t n = std::min(kFp4BlockK, sk - j0);
        float row_max = -INFINITY;
        for (int64_t j = 0; j < n; ++j) {
          float dot = 0.0f;
          for (int64_t ch = 0; ch < d; ++ch) dot += qh[i * d + ch] * kh[(j0 + j) * d + ch];
          s[j] = dot;
          row_max = std::max(row_max, dot);
        }
        const float m_new = std::max(m, row_max);
        const float alpha = std::exp2((m - m_new) * c);  // 0 on the first tile (m = -inf)
        l *= alpha;
        for (auto& a : acc) a *= alpha;
        for (int64_t j = 0; j < n; ++j) {
          p[j] = std::exp2(s[j] * c - m_new * c);
          l += p[j];
        }
        for (int64_t b = 0; b < n; b += kNvfp4Block)
          fq_nvfp4_block(p.data() + b, std::min(kNvfp4Block, n - b), 1, p.data() + b,
                         Fp4Rounding::unrounded_scale);
        for (int64_t j = 0; j < n; ++j)
          if (p[j] != 0.0f)
            for (int64_t ch = 0; ch < d; ++ch) acc[ch] += p[j] * vh[(j0 + j) * d + ch];
        m = m_new;
      }
      for (int64_t ch = 0; ch < d; ++ch) out.f32()[(i * heads + h) * d + ch] = acc[ch] / l;
    }
  };
  parallel_for(heads, 1, [&](int64_t h_begin, int64_t h_end) {
    for (int64_t h = h_begin; h < h_end; ++h) attend_head(h);
  });
  return out;
}

}  // namespace fastwan::quant
