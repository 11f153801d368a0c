#include "models/umt5/cuda/umt5_cuda.h"

#include "core/log.h"
#include "cuda/check.h"
#include "cuda/weight_source.h"
#include "models/common/cuda/attention.h"
#include "models/umt5/attention.h"
#include "models/umt5/parameters.h"
#include "ops/cuda/embed.h"
#include "ops/cuda/norm.h"
#include "ops/cuda/t5.h"

namespace fastwan::cuda {
namespace {

Expected<Umt5Weights> build(const Umt5Config& c, WeightSource& src) {
  const int64_t d = c.d_model, inner = c.inner_dim();
  Umt5Weights w;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "encoder.block." + std::to_string(i) + ".layer.";
    const std::string a = b + "0.SelfAttention.";
    Umt5LayerWeights l;
    FW_ASSIGN_OR_RETURN(Tensor qkv, src.get({a + "q.weight", a + "k.weight", a + "v.weight"}, {inner, d}));
    FW_ASSIGN_OR_RETURN(Tensor o, src.get(a + "o.weight", {d, inner}));
    l.qkv = Linear::bf16(qkv);
    l.o = Linear::bf16(o);
    FW_ASSIGN_OR_RETURN(l.relative_attention_bias, src.get(a + "relative_attention_bias.weight",
                                                           {c.relative_attention_num_buckets, c.num_heads}));
    FW_ASSIGN_OR_RETURN(l.layer_0_norm, src.get(b + "0.layer_norm.weight", {d}));
    FW_ASSIGN_OR_RETURN(l.layer_1_norm, src.get(b + "1.layer_norm.weight", {d}));
    FW_ASSIGN_OR_RETURN(
        Tensor wi,
        src.get({b + "1.DenseReluDense.wi_0.weight", b + "1.DenseReluDense.wi_1.weight"}, {c.d_ff, d}));
    FW_ASSIGN_OR_RETURN(Tensor wo, src.get(b + "1.DenseReluDense.wo.weight", {d, c.d_ff}));
    l.wi = Linear::bf16(wi);
    l.wo = Linear::bf16(wo);
    w.block.push_back(std::move(l));
  }
  FW_ASSIGN_OR_RETURN(w.final_layer_norm, src.get("encoder.final_layer_norm.weight", {d}));
  return w;
}

}  // namespace

size_t Umt5Weights::bytes() const {
  size_t n = final_layer_norm.nbytes();
  for (const auto& l : block)
    n += l.qkv.bytes() + l.o.bytes() + l.relative_attention_bias.nbytes() + l.layer_0_norm.nbytes() +
         l.layer_1_norm.nbytes() + l.wi.bytes() + l.wo.bytes();
  return n;
}

Expected<Umt5Weights> upload_umt5_weights(const Umt5Config& config, const WeightStore& store) {
  CheckpointSource src(store, nullptr);  // its own stream: the weights are complete when this returns
  auto w = build(config, src);
  src.finish();
  log_info("text encoder weights: " + src.summary());
  return w;
}

Umt5Weights random_umt5_weights(const Umt5Config& config, uint64_t seed) {
  RandomSource src(umt5_encoder_parameters(config), seed);
  auto w = build(config, src);
  FW_CHECK(w.ok(), "random UMT5 weights: " + (w.ok() ? std::string() : w.error().message()));
  FW_CUDA_CHECK(cudaDeviceSynchronize());
  return std::move(w).value();
}

Umt5EncoderCuda::Umt5EncoderCuda(std::shared_ptr<DeviceContext> ctx, const Umt5Config& config,
                                 Umt5Weights weights, int max_rows)
    : ctx_(std::move(ctx)),
      config_(config),
      weights_(std::move(weights)),
      max_rows_(max_rows),
      stream_(ctx_->stream()) {
  const int64_t n = max_rows, d = config.d_model, inner = config.inner_dim(), h = config.num_heads;
  auto layout = [&](Arena& a) {
    x_ = a.alloc({n, d}, DType::bf16);
    h_ = a.alloc({n, d}, DType::bf16);
    qkv_ = a.alloc({n, 3 * inner}, DType::bf16);
    scores_ = a.alloc({h, n, n}, DType::f32);
    probs_ = a.alloc({h, n, n}, DType::bf16);
    attn_ = a.alloc({n, inner}, DType::bf16);
    gu_ = a.alloc({n, 2 * config.d_ff}, DType::bf16);
    ff_ = a.alloc({n, config.d_ff}, DType::bf16);
    out_ = a.alloc({n, d}, DType::bf16);
    bucket_ = a.alloc({2 * n}, DType::i32);
    mask_ = a.alloc({n}, DType::i32);
  };
  Arena sizing = Arena::counting();
  layout(sizing);
  arena_ = std::make_unique<Arena>(sizing.used());
  layout(*arena_);
}

Expected<Tensor> Umt5EncoderCuda::forward(const Tensor& embeddings, const std::vector<int32_t>& key_mask) {
  const auto& c = config_;
  const int64_t rows = embeddings.ndim() == 2 ? embeddings.dim(0) : 0;
  if (embeddings.ndim() != 2 || embeddings.dim(1) != c.d_model || rows < 1 || rows > max_rows_)
    return Error("UMT5 input: expected [1.." + std::to_string(max_rows_) + ", " + std::to_string(c.d_model) +
                 "] embedding rows, got " + embeddings.describe());
  if (!key_mask.empty() && static_cast<int64_t>(key_mask.size()) != rows)
    return Error("UMT5 input: the attention mask has " + std::to_string(key_mask.size()) + " values for " +
                 std::to_string(rows) + " tokens");
  const int64_t d = c.d_model, inner = c.inner_dim(), h = c.num_heads, dk = c.d_kv, ff = c.d_ff;
  const int n = static_cast<int>(rows);

  if (embeddings.device() == Device::cpu) {
    const Tensor b = embeddings.to(DType::bf16);
    FW_CUDA_CHECK(cudaMemcpyAsync(x_.raw(), b.raw(), b.nbytes(), cudaMemcpyHostToDevice, stream_));
  } else if (embeddings.dtype() == DType::f32) {
    f32_to_bf16(embeddings.data<float>(), x_.raw(), embeddings.numel(), stream_);
  } else {
    FW_CUDA_CHECK(
        cudaMemcpyAsync(x_.raw(), embeddings.raw(), embeddings.nbytes(), cudaMemcpyDeviceToDevice, stream_));
  }
  // Buckets of every relative position j - i in [-(n-1), n-1], shared by all layers.
  std::vector<int32_t> buckets(2 * n - 1);
  for (int r = -(n - 1); r <= n - 1; ++r)
    buckets[r + n - 1] = static_cast<int32_t>(umt5_relative_position_bucket(
        r, c.relative_attention_num_buckets, c.relative_attention_max_distance));
  FW_CUDA_CHECK(
      cudaMemcpyAsync(bucket_.raw(), buckets.data(), buckets.size() * 4, cudaMemcpyHostToDevice, stream_));
  if (!key_mask.empty())
    FW_CUDA_CHECK(
        cudaMemcpyAsync(mask_.raw(), key_mask.data(), key_mask.size() * 4, cudaMemcpyHostToDevice, stream_));

  RowNormParams norm;
  norm.rows = rows;
  norm.dim = static_cast<int>(d);
  norm.eps = static_cast<float>(c.layer_norm_epsilon);
  norm.x = x_.raw();
  norm.out = h_.raw();
  for (const auto& l : weights_.block) {
    // layer.0: x = x + o(attention(layer_norm(x)))
    norm.weight = l.layer_0_norm.raw();
    t5_rms_norm(norm, false, stream_);
    l.qkv.forward(*ctx_, {h_.raw(), d}, rows, {qkv_.raw(), 3 * inner});
    const ScoreAttentionParams a{qkv_.raw(),          3 * inner,   rows,
                                 static_cast<int>(h), dk,          scores_.data<float>(),
                                 probs_.raw(),        attn_.raw(), inner};
    attention_scores(*ctx_, a);
    relative_bias_softmax(
        {scores_.data<float>(), l.relative_attention_bias.raw(), bucket_.data<int32_t>(),
         key_mask.empty() ? nullptr : mask_.data<int32_t>(), probs_.raw(), static_cast<int>(h), n},
        stream_);
    attention_values(*ctx_, a);
    l.o.forward(*ctx_, {attn_.raw(), inner}, rows, {x_.raw(), d, false, true});

    // layer.1: x = x + wo(gelu_tanh(wi_0(h)) * wi_1(h))
    norm.weight = l.layer_1_norm.raw();
    t5_rms_norm(norm, false, stream_);
    l.wi.forward(*ctx_, {h_.raw(), d}, rows, {gu_.raw(), 2 * ff});
    gated_gelu(gu_.raw(), ff_.raw(), rows, ff, stream_);
    l.wo.forward(*ctx_, {ff_.raw(), ff}, rows, {x_.raw(), d, false, true});
  }
  norm.weight = weights_.final_layer_norm.raw();
  norm.out = out_.raw();
  t5_rms_norm(norm, false, stream_);
  return out_.slice(0, 0, rows);
}

}  // namespace fastwan::cuda
