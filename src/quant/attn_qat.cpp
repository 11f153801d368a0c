#include "quant/attn_qat.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "quant/nvfp4.h"

namespace fastwan::quant {
namespace {

constexpr double kLog2e = 1.4426950408889634;
constexpr auto kRounding = Fp4Rounding::reciprocal_of_rounded;

// All of x as doubles (f64 read directly, other float dtypes through f32).
std::vector<double> to_doubles(const Tensor& x) {
  std::vector<double> out(static_cast<size_t>(x.numel()));
  if (x.dtype() == DType::f64) {
    const Tensor c = x.contiguous();
    std::copy_n(c.data<double>(), out.size(), out.begin());
  } else {
    const Tensor f = x.to_f32();
    std::copy_n(f.f32(), out.size(), out.begin());
  }
  return out;
}

// φ of the first n values of a double row, on their f32 values, into out (double).
void fq_doubles(const double* x, int64_t n, double* out) {
  float block[kNvfp4Block];
  for (int64_t b = 0; b < n; b += kNvfp4Block) {
    const int64_t len = std::min(kNvfp4Block, n - b);
    for (int64_t i = 0; i < len; ++i) block[i] = static_cast<float>(x[b + i]);
    fq_nvfp4_block(block, len, 1, block, kRounding);
    for (int64_t i = 0; i < len; ++i) out[b + i] = block[i];
  }
}

struct Dims {
  int64_t sq, sk, heads, d;
  double scale, c;  // sm_scale and sm_scale * log2(e)
};

Dims check_dims(const Tensor& q, const Tensor& k, const Tensor& v, const AttnQatParams& p) {
  FW_CHECK(q.ndim() == 3 && k.ndim() == 3 && v.shape() == k.shape() && q.dim(1) == k.dim(1) &&
               q.dim(2) == k.dim(2) && q.dim(2) % kNvfp4Block == 0 && q.dim(0) > 0 && k.dim(0) > 0,
           "attn_qat: q [Sq, H, D], k and v [Sk, H, D] with D a multiple of 16 expected");
  FW_CHECK(p.block_n > 0 && p.block_n % kNvfp4Block == 0, "attn_qat: block_n must be a multiple of 16");
  Dims d{q.dim(0), k.dim(0), q.dim(1), q.dim(2), p.sm_scale, 0.0};
  if (d.scale == 0.0) d.scale = 1.0 / std::sqrt(static_cast<double>(d.d));
  d.c = d.scale * kLog2e;
  return d;
}

// Keys [0, valid_keys(i)) are visible to query i.
int64_t valid_keys(const Dims& d, bool causal, int64_t i) {
  return causal ? std::min(d.sk, i + 1) : d.sk;
}

struct QuantizedHead {
  std::vector<double> q, k, v;  // [S, D] of one head
};

// Q^, K^, V^ of head h as the kernels see them (q, k, v already f32), widened to double.
QuantizedHead quantize_head(const Tensor& q, const Tensor& k, const Tensor& v, int64_t h,
                            const AttnQatParams& p) {
  auto head = [&](const Tensor& x, bool along_tokens) {
    const int64_t rows = x.dim(0), heads = x.dim(1), d = x.dim(2);
    std::vector<double> out(static_cast<size_t>(rows * d));
    if (p.quantize_qkv) {
      const std::vector<float> f = fq_nvfp4_head(x, h, along_tokens);
      std::copy(f.begin(), f.end(), out.begin());
    } else {
      for (int64_t r = 0; r < rows; ++r) std::copy_n(x.f32() + (r * heads + h) * d, d, out.data() + r * d);
    }
    return out;
  };
  return {head(q, false), head(k, false), head(v, p.v_axis == QatVAxis::tokens)};
}

// fn(h, Q^, K^, V^ of head h) for every head, heads in parallel.
void for_each_head(const Tensor& q, const Tensor& k, const Tensor& v, const AttnQatParams& p,
                   const std::function<void(int64_t, const QuantizedHead&)>& fn) {
  const Tensor qf = q.to_f32(), kf = k.to_f32(), vf = v.to_f32();
  parallel_for(q.dim(1), 1, [&](int64_t h_begin, int64_t h_end) {
    for (int64_t h = h_begin; h < h_end; ++h) fn(h, quantize_head(qf, kf, vf, h, p));
  });
}

double dot(const double* a, const double* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

AttnQatForward attn_qat_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttnQatParams& p) {
  const Dims dm = check_dims(q, k, v, p);
  const int64_t d = dm.d, heads = dm.heads;
  AttnQatForward out{Tensor::empty({dm.sq, heads, d}, DType::f64),
                     Tensor::empty({dm.sq, heads, d}, DType::f64), Tensor::empty({dm.sq, heads}, DType::f64)};
  double* o = out.o.data<double>();
  double* op = out.o_prime.data<double>();
  double* lse = out.lse.data<double>();
  for_each_head(q, k, v, p, [&](int64_t h, const QuantizedHead& x) {
    std::vector<double> s(static_cast<size_t>(p.block_n)), pr(s.size()), pq(s.size()), acc(d), acc_p(d);
    for (int64_t i = 0; i < dm.sq; ++i) {
      const int64_t nk = valid_keys(dm, p.causal, i);
      double m = -INFINITY, l = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      std::fill(acc_p.begin(), acc_p.end(), 0.0);
      for (int64_t j0 = 0; j0 < nk; j0 += p.block_n) {
        const int64_t n = std::min(p.block_n, nk - j0);  // masked keys of the tile have p = 0: left out
        double row_max = -INFINITY;
        for (int64_t j = 0; j < n; ++j) {
          s[j] = dot(&x.q[i * d], &x.k[(j0 + j) * d], d) * dm.c;
          row_max = std::max(row_max, s[j]);
        }
        const double m_new = std::max(m, row_max);
        const double alpha = m == -INFINITY ? 0.0 : std::exp2(m - m_new);
        l *= alpha;
        for (int64_t ch = 0; ch < d; ++ch) acc[ch] *= alpha, acc_p[ch] *= alpha;
        for (int64_t j = 0; j < n; ++j) {
          pr[j] = std::exp2(s[j] - m_new);
          l += pr[j];
        }
        // Tiles start at multiples of 16 keys, so φ's blocks are the absolute 16-key blocks.
        if (p.quantize_p)
          fq_doubles(pr.data(), n, pq.data());
        else
          std::copy_n(pr.data(), n, pq.data());
        for (int64_t j = 0; j < n; ++j) {
          const double* vj = &x.v[(j0 + j) * d];
          for (int64_t ch = 0; ch < d; ++ch) {
            acc[ch] += pq[j] * vj[ch];
            acc_p[ch] += pr[j] * vj[ch];
          }
        }
        m = m_new;
      }
      for (int64_t ch = 0; ch < d; ++ch) {
        o[(i * heads + h) * d + ch] = acc[ch] / l;
        op[(i * heads + h) * d + ch] = acc_p[ch] / l;
      }
      lse[i * heads + h] = m + std::log2(l);
    }
  });
  return out;
}

AttnQatGrads attn_qat_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                               const Tensor& o_prime, const Tensor& lse, const Tensor& d_o,
                               const AttnQatParams& p) {
  const Dims dm = check_dims(q, k, v, p);
  const int64_t d = dm.d, heads = dm.heads;
  const Tensor& o_for_d = p.d_from == QatDFrom::o_prime ? o_prime : o;
  FW_CHECK(o_for_d.shape() == q.shape() && d_o.shape() == q.shape() && lse.ndim() == 2 &&
               lse.dim(0) == dm.sq && lse.dim(1) == heads,
           "attn_qat_backward: o / o_prime and dO [Sq, H, D], lse [Sq, H] expected");
  const std::vector<double> od = to_doubles(o_for_d), dod = to_doubles(d_o), lsed = to_doubles(lse);
  AttnQatGrads g{Tensor::zeros({dm.sq, heads, d}, DType::f64), Tensor::zeros({dm.sk, heads, d}, DType::f64),
                 Tensor::zeros({dm.sk, heads, d}, DType::f64)};
  double* dq = g.dq.data<double>();
  double* dk = g.dk.data<double>();
  double* dv = g.dv.data<double>();
  for_each_head(q, k, v, p, [&](int64_t h, const QuantizedHead& x) {
    std::vector<double> s(dm.sk), pr(dm.sk), pv(dm.sk), d_oi(d);
    for (int64_t i = 0; i < dm.sq; ++i) {
      const int64_t nk = valid_keys(dm, p.causal, i);
      const int64_t row = i * heads + h;
      std::copy_n(&dod[row * d], d, d_oi.begin());
      const double dr = dot(d_oi.data(), &od[row * d], d);
      double row_max = -INFINITY;
      for (int64_t j = 0; j < nk; ++j) {
        s[j] = dot(&x.q[i * d], &x.k[j * d], d) * dm.c;
        pr[j] = std::exp2(s[j] - lsed[row]);
        row_max = std::max(row_max, s[j]);
      }
      // The P that dV sees.
      switch (p.dv_p) {
        case QatDvP::fq_normalized:
          fq_doubles(pr.data(), nk, pv.data());
          break;
        case QatDvP::fq_row_max: {
          const double l = std::exp2(lsed[row] - row_max);  // P l = exp2(s - m), the forward's scale
          for (int64_t j = 0; j < nk; ++j) pv[j] = std::exp2(s[j] - row_max);
          fq_doubles(pv.data(), nk, pv.data());
          for (int64_t j = 0; j < nk; ++j) pv[j] /= l;
          break;
        }
        case QatDvP::exact:
          std::copy_n(pr.data(), nk, pv.data());
          break;
      }
      if (!p.quantize_p) std::copy_n(pr.data(), nk, pv.data());
      for (int64_t j = 0; j < nk; ++j) {
        const int64_t key = j * heads + h;
        const double ds = pr[j] * (dot(d_oi.data(), &x.v[j * d], d) - dr) * dm.scale;
        for (int64_t ch = 0; ch < d; ++ch) {
          dq[row * d + ch] += ds * x.k[j * d + ch];
          dk[key * d + ch] += ds * x.q[i * d + ch];
          dv[key * d + ch] += pv[j] * d_oi[ch];
        }
      }
    }
  });
  return g;
}

}  // namespace fastwan::quant
