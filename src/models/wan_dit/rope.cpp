#include "models/wan_dit/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fastwan {

RopeTables wan_rope_tables(const WanDitConfig& config, int64_t frames, int64_t height, int64_t width) {
  constexpr double kTheta = 10000.0;
  const auto dims = config.rope_dims();
  const int64_t pairs = config.attention_head_dim / 2;
  const int64_t grid[3] = {frames, height, width};
  // Per axis: inverse frequencies 1 / theta^(2k / dim), k < dim/2.
  std::vector<double> inv_freq[3];
  for (int a = 0; a < 3; ++a)
    for (int64_t k = 0; k < dims[a] / 2; ++k)
      inv_freq[a].push_back(1.0 /
                            std::pow(kTheta, static_cast<double>(2 * k) / static_cast<double>(dims[a])));

  // Each axis's angles depend on its own position only: cos and sin per (axis, position, frequency), a few
  // thousand of them, then copied into every token's row (at 480p the tables have 2.1M entries each, and
  // evaluating them one by one took longer than the DiT's set-up).
  float* axis_cos[3];
  float* axis_sin[3];
  std::vector<float> axis_tables[3];
  for (int a = 0; a < 3; ++a) {
    const auto n = static_cast<int64_t>(inv_freq[a].size());
    axis_tables[a].resize(static_cast<size_t>(2 * grid[a] * n));
    axis_cos[a] = axis_tables[a].data();
    axis_sin[a] = axis_cos[a] + grid[a] * n;
    for (int64_t pos = 0; pos < grid[a]; ++pos)
      for (int64_t k = 0; k < n; ++k) {
        const double angle = static_cast<double>(pos) * inv_freq[a][static_cast<size_t>(k)];
        axis_cos[a][pos * n + k] = static_cast<float>(std::cos(angle));
        axis_sin[a][pos * n + k] = static_cast<float>(std::sin(angle));
      }
  }
  const int64_t s = frames * height * width;
  RopeTables t{Tensor::empty({s, pairs}, DType::f32), Tensor::empty({s, pairs}, DType::f32)};
  float* c = t.cos.f32();
  float* sn = t.sin.f32();
  for (int64_t f = 0; f < grid[0]; ++f)
    for (int64_t h = 0; h < grid[1]; ++h)
      for (int64_t w = 0; w < grid[2]; ++w) {
        const int64_t token = (f * grid[1] + h) * grid[2] + w;
        const int64_t pos[3] = {f, h, w};
        int64_t p = 0;
        for (int a = 0; a < 3; ++a) {
          const auto n = static_cast<int64_t>(inv_freq[a].size());
          std::copy_n(axis_cos[a] + pos[a] * n, n, c + token * pairs + p);
          std::copy_n(axis_sin[a] + pos[a] * n, n, sn + token * pairs + p);
          p += n;
        }
      }
  return t;
}

}  // namespace fastwan
