#include "models/common/cuda/attention.h"

#include "ops/cuda/gemm.h"

namespace fastwan::cuda {

void attention_scores(DeviceContext& ctx, const ScoreAttentionParams& p) {
  const int64_t q_cols = p.heads * p.head_dim;
  GemmParams s;  // per head: scores[h] = q_h . k_h^T, fp32, the heads as a strided batch
  s.a = p.qkv;
  s.lda = p.ld;
  s.stride_a = p.head_dim;
  s.b = static_cast<const char*>(p.qkv) + q_cols * 2;
  s.ldb = p.ld;
  s.stride_b = p.head_dim;
  s.d = p.scores;
  s.ldd = p.rows;
  s.stride_d = p.rows * p.rows;
  s.d_type = DType::f32;
  s.m = p.rows;
  s.n = p.rows;
  s.k = p.head_dim;
  s.batch = p.heads;
  gemm(ctx, s);
}

void attention_values(DeviceContext& ctx, const ScoreAttentionParams& p) {
  const int64_t q_cols = p.heads * p.head_dim;
  GemmParams pv;  // per head: out[:, h] = P_h . v_h
  pv.a = p.probs;
  pv.lda = p.rows;
  pv.stride_a = p.rows * p.rows;
  pv.b = static_cast<const char*>(p.qkv) + 2 * q_cols * 2;
  pv.ldb = p.ld;
  pv.stride_b = p.head_dim;
  pv.b_transposed = false;
  pv.d = p.out;
  pv.ldd = p.ld_out;
  pv.stride_d = p.head_dim;
  pv.m = p.rows;
  pv.n = p.head_dim;
  pv.k = p.rows;
  pv.batch = p.heads;
  gemm(ctx, pv);
}

}  // namespace fastwan::cuda
