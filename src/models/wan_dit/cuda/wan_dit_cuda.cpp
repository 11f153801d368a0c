#include "models/wan_dit/cuda/wan_dit_cuda.h"

#include "cuda/check.h"
#include "models/wan_dit/rope.h"
#include "ops/cuda/attention.h"
#include "ops/cuda/embed.h"
#include "ops/cuda/norm.h"
#include "ops/cuda/sage_quant.h"

namespace fastwan::cuda {

namespace {

// The amax slots of one layer's quantized [tokens, dim] inputs (per-tensor FP8).
enum Site { kNorm1, kAttn1Out, kNorm2, kAttn2Out, kNorm3, kSitesPerLayer };

}  // namespace

WanDitCuda::WanDitCuda(std::shared_ptr<DeviceContext> ctx, const WanDitConfig& config, DitWeights weights,
                       quant::AttentionMode attention)
    : ctx_(std::move(ctx)),
      config_(config),
      weights_(std::move(weights)),
      attention_(attention),
      stream_(ctx_->stream()) {}

WanDitCuda::~WanDitCuda() {
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
  if (graph_) cudaGraphDestroy(graph_);
}

Status WanDitCuda::prepare(int64_t frames, int64_t height, int64_t width, int64_t text_rows) {
  const auto& c = config_;
  const auto& p = c.patch_size;
  if (c.attention_head_dim != kAttentionHeadDim)
    return Error("the GPU DiT needs attention_head_dim 128, the config has " +
                 std::to_string(c.attention_head_dim));
  if (frames % p[0] || height % p[1] || width % p[2])
    return Error("DiT input: latent size " + std::to_string(frames) + "x" + std::to_string(height) + "x" +
                 std::to_string(width) + " is not a multiple of patch_size");
  if (text_rows < 1) return Error("DiT input: the text context has no rows");
  if (graph_exec_) {
    cudaGraphExecDestroy(graph_exec_);
    cudaGraphDestroy(graph_);
    graph_exec_ = nullptr;
    graph_ = nullptr;
  }
  grid_[0] = frames / p[0];
  grid_[1] = height / p[1];
  grid_[2] = width / p[2];
  tokens_ = grid_[0] * grid_[1] * grid_[2];
  text_rows_ = text_rows;
  vt_stride_ = (tokens_ + 7) / 8 * 8;
  text_stride_ = (text_rows + 7) / 8 * 8;
  // The buffer `big_` holds the fused qkv projection and, later in the block, the FFN hidden activations.
  Arena sizing = Arena::counting();
  layout(sizing, frames, height, width);
  arena_ = std::make_unique<Arena>(sizing.used());
  layout(*arena_, frames, height, width);
  FW_CUDA_CHECK(cudaMemsetAsync(text_vt_.raw(), 0, text_vt_.nbytes(), stream_));

  const RopeTables rope = wan_rope_tables(c, grid_[0], grid_[1], grid_[2]);
  FW_CUDA_CHECK(
      cudaMemcpyAsync(cos_.raw(), rope.cos.raw(), rope.cos.nbytes(), cudaMemcpyHostToDevice, stream_));
  FW_CUDA_CHECK(
      cudaMemcpyAsync(sin_.raw(), rope.sin.raw(), rope.sin.nbytes(), cudaMemcpyHostToDevice, stream_));
  FW_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return Status::Ok();
}

void WanDitCuda::layout(Arena& a, int64_t frames, int64_t height, int64_t width) {
  const auto& c = config_;
  const int64_t d = c.dim(), s = tokens_, h = c.num_attention_heads, L = c.num_layers, pv = c.patch_volume();
  latents_ = a.alloc({c.in_channels, frames, height, width}, DType::f32);
  velocity_ = a.alloc({c.out_channels, frames, height, width}, DType::f32);
  patches_ = a.alloc({s, c.in_channels * pv}, DType::bf16);
  x_ = a.alloc({s, d}, DType::bf16);
  n_ = a.alloc({s, d}, DType::bf16);
  big_ = a.alloc({std::max(3 * d, c.ffn_dim) * s}, DType::bf16);
  q_ = a.alloc({h, s, 128}, DType::bf16);
  k_ = a.alloc({h, s, 128}, DType::bf16);
  if (attention_ == quant::AttentionMode::sage8) {
    q8_ = a.alloc({h, s, 128}, DType::i8);
    k8_ = a.alloc({h, s, 128}, DType::i8);
    vt8_ = a.alloc({h, 128, sage_vt_stride(s)}, DType::fp8_e4m3);
    q8_scale_ = a.alloc({h, sage_q_scale_count(s)}, DType::f32);
    k8_scale_ = a.alloc({h, sage_k_scale_count(s)}, DType::f32);
    v8_scale_ = a.alloc({h, 128}, DType::f32);
    k_partials_ = a.alloc({sage_k_partial_rows(s), d}, DType::f32);
    k_mean_ = a.alloc({d}, DType::f32);
    v_amax_ = a.alloc({d}, DType::f32);
  } else {
    vt_ = a.alloc({h, 128, vt_stride_}, DType::bf16);
  }
  attn_ = a.alloc({s, d}, DType::bf16);
  branch_ = a.alloc({s, d}, DType::bf16);
  y_ = a.alloc({s, c.out_channels * pv}, DType::bf16);
  text_ = a.alloc({text_rows_, c.text_dim}, DType::bf16);
  text_hidden_ = a.alloc({text_rows_, d}, DType::bf16);
  text_k_ = a.alloc({L, h, text_stride_, 128}, DType::bf16);
  text_vt_ = a.alloc({L, h, 128, text_stride_}, DType::bf16);
  cos_ = a.alloc({s, 64}, DType::f32);
  sin_ = a.alloc({s, 64}, DType::f32);
  timestep_ = a.alloc({1}, DType::f32);
  t_freq_ = a.alloc({c.freq_dim}, DType::bf16);
  t_hidden_ = a.alloc({d}, DType::bf16);
  temb_ = a.alloc({d}, DType::bf16);
  t_act_ = a.alloc({d}, DType::bf16);
  tproj_ = a.alloc({6 * d}, DType::bf16);
  e_ = a.alloc({L, 6, d}, DType::f32);
  head_mod_ = a.alloc({2, d}, DType::bf16);
  const quant::LinearMode mode = weights_.linear_mode;
  q_tokens_.layout(a, s, d, mode, static_cast<int>(L) * kSitesPerLayer);
  q_hidden_.layout(a, s, c.ffn_dim, mode, static_cast<int>(L));
  q_text_.layout(a, text_rows_, d, mode);
}

void WanDitCuda::linear(const Linear& l, const LinearInput& x, int64_t rows, void* out, int64_t ldd,
                        bool gelu) {
  l.forward(*ctx_, x, rows, {out, ldd, gelu});
}

LinearInput WanDitCuda::block_input(const QuantizedInput& q, const void* in, int64_t rows, int64_t cols,
                                    int site, bool measure) const {
  if (measure) q.measure(*ctx_, in, cols, rows, cols, site);
  return q.quantize(*ctx_, in, cols, rows, cols, site);
}

Status WanDitCuda::set_context(const Tensor& context) {
  const auto& c = config_;
  if (!arena_) return Error("set_context before prepare");
  if (context.ndim() != 2 || context.dim(0) != text_rows_ || context.dim(1) != c.text_dim)
    return Error("DiT text context: expected [" + std::to_string(text_rows_) + ", " +
                 std::to_string(c.text_dim) + "], got " + context.describe());
  if (context.device() == Device::cpu) {
    const Tensor b = context.to(DType::bf16);
    FW_CUDA_CHECK(cudaMemcpyAsync(text_.raw(), b.raw(), b.nbytes(), cudaMemcpyHostToDevice, stream_));
    FW_CUDA_CHECK(cudaStreamSynchronize(stream_));
  } else if (context.dtype() == DType::f32) {
    f32_to_bf16(context.data<float>(), text_.raw(), context.numel(), stream_);
  } else {
    FW_CUDA_CHECK(
        cudaMemcpyAsync(text_.raw(), context.raw(), context.nbytes(), cudaMemcpyDeviceToDevice, stream_));
  }
  const int64_t d = c.dim(), h = c.num_attention_heads, L = text_rows_;
  // text_embedder: linear_1 -> GELU(tanh) -> linear_2 (the GELU is cuBLASLt's epilogue).
  linear(weights_.text_linear_1, {text_.raw(), c.text_dim}, L, n_.raw(), d, true);
  linear(weights_.text_linear_2, {n_.raw(), d}, L, text_hidden_.raw(), d);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const auto& b = weights_.blocks[l];
    q_text_.reset_amax(*ctx_);
    linear(b.attn2_to_k, block_input(q_text_, text_hidden_.raw(), L, d, 0, true), L, attn_.raw(), d);
    QkNormRopeParams k;
    k.rows = L;
    k.heads = static_cast<int>(h);
    k.eps = static_cast<float>(c.eps);
    k.src = attn_.raw();
    k.src_stride = d;
    k.weight = b.attn2_norm_k.raw();
    k.dst = text_k_.select(0, l).raw();
    // The attention kernel reads K as [heads][rows][128] with rows = text_rows (tensor map), so the
    // per-layer slab is written densely for text_rows rows.
    qk_norm_rope(k, stream_);
    linear(b.attn2_to_v, block_input(q_text_, text_hidden_.raw(), L, d, 0), L, attn_.raw(), d);
    transpose_heads({L, static_cast<int>(h), attn_.raw(), d, text_vt_.select(0, l).raw(), text_stride_},
                    stream_);
  }
  FW_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return Status::Ok();
}

void WanDitCuda::self_attention(int layer, float* out_amax) {
  const auto& c = config_;
  const auto& b = weights_.blocks[layer];
  const int64_t d = c.dim(), s = tokens_;
  const int h = static_cast<int>(c.num_attention_heads);
  const char* qkv = static_cast<const char*>(big_.raw());  // [s][3 d] bf16: q | k | v
  QkNormRopeParams qk{s,
                      h,
                      static_cast<float>(c.eps),
                      qkv,
                      3 * d,
                      b.attn1_norm_q.raw(),
                      cos_.data<float>(),
                      sin_.data<float>(),
                      q_.raw()};
  QkNormRopeParams kk = qk;
  kk.src = qkv + d * 2;
  kk.weight = b.attn1_norm_k.raw();
  kk.dst = k_.raw();
  // Operands per mode below (vt_ exists only in the bf16-operand modes, vt8_ only in sage8).
  AttentionParams ap;
  ap.out = attn_.raw();
  ap.heads = h;
  ap.seq_q = ap.seq_kv = static_cast<int>(s);
  ap.out_stride = static_cast<int>(d);
  ap.scale = 1.0f / std::sqrt(static_cast<float>(kAttentionHeadDim));
  ap.amax = out_amax;
  if (attention_ == quant::AttentionMode::sage8) {
    qk.dst = q8_.raw();
    qk.int8_scale = q8_scale_.data<float>();
    kk.channel_partials = k_partials_.data<float>();
    qk_norm_rope(qk, stream_);
    qk_norm_rope(kk, stream_);
    sage_quantize_k({s, h, k_.raw(), k_partials_.data<float>(), k_mean_.data<float>(), k8_.raw(),
                     k8_scale_.data<float>()},
                    stream_);
    sage_quantize_v({s, h, qkv + 2 * d * 2, 3 * d, v_amax_.data<float>(), vt8_.raw(), vt8_.dim(2),
                     v8_scale_.data<float>()},
                    stream_);
    ap.q = q8_.raw();
    ap.k = k8_.raw();
    ap.vt = vt8_.raw();
    ap.vt_stride = static_cast<int>(vt8_.dim(2));
    ap.operands = AttentionOperands::sage8;
    ap.q_scale = q8_scale_.data<float>();
    ap.k_scale = k8_scale_.data<float>();
    ap.v_scale = v8_scale_.data<float>();
  } else {  // bf16, or fp4: the same kernels writing NVFP4 values (exact in bf16)
    const bool fp4 = attention_ == quant::AttentionMode::fp4;
    qk.fp4 = kk.fp4 = fp4;
    qk_norm_rope(qk, stream_);
    qk_norm_rope(kk, stream_);
    transpose_heads({s, h, qkv + 2 * d * 2, 3 * d, vt_.raw(), vt_stride_, fp4}, stream_);
    ap.q = q_.raw();
    ap.k = k_.raw();
    ap.vt = vt_.raw();
    ap.vt_stride = static_cast<int>(vt_stride_);
    if (fp4) ap.operands = AttentionOperands::fp4;
  }
  flash_attention(*ctx_, ap);
}

void WanDitCuda::block(int layer) {
  const auto& c = config_;
  const auto& b = weights_.blocks[layer];
  const int64_t d = c.dim(), s = tokens_;
  const int h = static_cast<int>(c.num_attention_heads);
  const float eps = static_cast<float>(c.eps);
  const float* e =
      e_.data<float>() + static_cast<int64_t>(layer) * 6 * d;  // shift, scale, gate, c_shift, c_scale, c_gate
  const float scale = 1.0f / std::sqrt(static_cast<float>(kAttentionHeadDim));
  const int site = layer * kSitesPerLayer;  // this layer's amax slots (null pointers in bf16)

  RowNormParams rn;
  rn.rows = s;
  rn.dim = static_cast<int>(d);
  rn.eps = eps;
  rn.x = x_.raw();
  rn.out = n_.raw();

  // 1) self-attention
  rn.scale = e + d;
  rn.shift = e;
  rn.amax = q_tokens_.amax(site + kNorm1);
  modulated_layer_norm(rn, stream_);
  linear(b.attn1_qkv, block_input(q_tokens_, n_.raw(), s, d, site + kNorm1), s, big_.raw(), 3 * d);
  self_attention(layer, q_tokens_.amax(site + kAttn1Out));
  linear(b.attn1_to_out, block_input(q_tokens_, attn_.raw(), s, d, site + kAttn1Out), s, branch_.raw(), d);
  // r = x + a * gate; n = LN_affine(r); x = bf16(r)
  rn.y = branch_.raw();
  rn.gate = e + 2 * d;
  rn.weight = b.norm2_weight.raw();
  rn.bias = b.norm2_bias.raw();
  rn.amax = q_tokens_.amax(site + kNorm2);
  gated_residual_norm(rn, stream_);

  // 2) cross-attention over the text rows (K/V precomputed in set_context)
  linear(b.attn2_to_q, block_input(q_tokens_, n_.raw(), s, d, site + kNorm2), s, branch_.raw(), d);
  QkNormRopeParams q2{s, h, eps, branch_.raw(), d, b.attn2_norm_q.raw(), nullptr, nullptr, q_.raw()};
  qk_norm_rope(q2, stream_);
  flash_attention(*ctx_,
                  {q_.raw(), text_k_.select(0, layer).raw(), text_vt_.select(0, layer).raw(), attn_.raw(), h,
                   static_cast<int>(s), static_cast<int>(text_rows_), static_cast<int>(text_stride_),
                   static_cast<int>(d), scale, q_tokens_.amax(site + kAttn2Out)});
  linear(b.attn2_to_out, block_input(q_tokens_, attn_.raw(), s, d, site + kAttn2Out), s, branch_.raw(), d);
  // r2 = bf16(x + c); n = modulate(bf16(LN(r2))); x = r2
  rn.scale = e + 4 * d;
  rn.shift = e + 3 * d;
  rn.amax = q_tokens_.amax(site + kNorm3);
  residual_norm_modulate(rn, stream_);

  // 3) FFN: GELU(tanh) fused into the first GEMM
  linear(b.ffn_in, block_input(q_tokens_, n_.raw(), s, d, site + kNorm3), s, big_.raw(), c.ffn_dim, true);
  linear(b.ffn_out, block_input(q_hidden_, big_.raw(), s, c.ffn_dim, layer, true), s, branch_.raw(), d);
  rn.gate = e + 5 * d;
  rn.amax = nullptr;
  gated_residual(rn, stream_);
}

void WanDitCuda::run_forward() {
  const auto& c = config_;
  const int64_t d = c.dim(), s = tokens_;
  const auto& p = c.patch_size;
  const PatchParams patch{static_cast<int>(c.in_channels),
                          static_cast<int>(latents_.dim(1)),
                          static_cast<int>(latents_.dim(2)),
                          static_cast<int>(latents_.dim(3)),
                          static_cast<int>(p[0]),
                          static_cast<int>(p[1]),
                          static_cast<int>(p[2]),
                          latents_.raw(),
                          patches_.raw()};
  patchify(patch, stream_);
  q_tokens_.reset_amax(*ctx_);
  q_hidden_.reset_amax(*ctx_);
  linear(weights_.patch_embedding, {patches_.raw(), patches_.dim(1)}, s, x_.raw(), d);

  // Condition embedder: sinusoid -> linear_1 -> SiLU -> linear_2 = temb; time_proj(SiLU(temb)).
  timestep_sinusoid(timestep_.data<float>(), t_freq_.raw(), static_cast<int>(c.freq_dim), stream_);
  linear(weights_.time_linear_1, {t_freq_.raw(), c.freq_dim}, 1, t_hidden_.raw(), d);
  silu_bf16(t_hidden_.raw(), d, stream_);
  linear(weights_.time_linear_2, {t_hidden_.raw(), d}, 1, temb_.raw(), d);
  FW_CUDA_CHECK(
      cudaMemcpyAsync(t_act_.raw(), temb_.raw(), temb_.nbytes(), cudaMemcpyDeviceToDevice, stream_));
  silu_bf16(t_act_.raw(), d, stream_);
  linear(weights_.time_proj, {t_act_.raw(), d}, 1, tproj_.raw(), 6 * d);
  block_modulation(weights_.block_tables.raw(), tproj_.raw(), e_.data<float>(),
                   static_cast<int>(c.num_layers), static_cast<int>(d), stream_);

  for (int l = 0; l < c.num_layers; ++l) block(l);

  // Head: (shift, scale) = bf16(table + temb); n = modulate(bf16(LN(x))) in bf16 modulation; proj_out.
  head_modulation(weights_.head_table.raw(), temb_.raw(), head_mod_.raw(), static_cast<int>(d), stream_);
  RowNormParams rn;
  rn.rows = s;
  rn.dim = static_cast<int>(d);
  rn.eps = static_cast<float>(c.eps);
  rn.x = x_.raw();
  rn.out = n_.raw();
  rn.shift = static_cast<const float*>(head_mod_.raw());
  rn.scale = reinterpret_cast<const float*>(static_cast<const char*>(head_mod_.raw()) + d * 2);
  head_norm_modulate(rn, stream_);
  linear(weights_.proj_out, {n_.raw(), d}, s, y_.raw(), y_.dim(1));
  PatchParams un = patch;
  un.channels = static_cast<int>(c.out_channels);
  un.src = y_.raw();
  un.dst = velocity_.raw();
  unpatchify(un, stream_);
}

void WanDitCuda::forward(float timestep) {
  FW_CHECK(arena_ != nullptr && text_rows_ > 0, "WanDitCuda::forward before prepare/set_context");
  set_scalar(timestep_.data<float>(), timestep, stream_);
  if (graph_exec_) {
    FW_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream_));
    return;
  }
  // First call: run eagerly (creates the GEMM plans and kernel attributes), then capture the same sequence.
  run_forward();
  FW_CUDA_CHECK(cudaStreamSynchronize(stream_));
  cudaStream_t capture = stream_;
  bool own_stream = false;
  if (capture == nullptr) {  // the legacy default stream cannot be captured
    FW_CUDA_CHECK(cudaStreamCreateWithFlags(&capture, cudaStreamNonBlocking));
    own_stream = true;
  }
  std::swap(stream_, capture);
  FW_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  run_forward();
  FW_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph_));
  std::swap(stream_, capture);
  FW_CUDA_CHECK(cudaGraphInstantiate(&graph_exec_, graph_, 0));
  if (own_stream) FW_CUDA_CHECK(cudaStreamDestroy(capture));
}

}  // namespace fastwan::cuda
