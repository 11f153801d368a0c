// The Wan DiT forward on the GPU: bf16 activations, fp32 accumulation and norm/modulation math, the
// rounding points of reference §1.4, fused kernels around cuBLASLt GEMMs and the sm_90a attention kernel.
//
// Use: prepare(latent grid, text rows) once per shape -> set_context(text) once per prompt (text embedder and
// every block's cross-attention K/V) -> forward(t) per sampling step. The first forward runs eagerly and
// captures a CUDA graph; later ones replay it with the timestep passed through device memory.
//
// In an FP8 linear mode the inputs of the blocks' linears are quantized on the device as they are made: the
// norm kernels and the attention epilogue fold each activation's amax in as they write it, a quantizing pass
// turns it into e4m3 codes, and the FP8 GEMM reads those (the FFN's GELU output gets an amax pass of its own,
// since cuBLASLt makes it). In nvfp4 the same inputs each get one fake-quantizing pass (bf16 code * SF per 16
// elements, no statistic to gather) before a bf16 GEMM whose alpha carries the weight's global scale.
//
// With --attention sage8 the self-attention runs SageAttention2's 8-bit kernel (ops/cuda/attention.h): the
// q-norm/RoPE kernel writes INT8 Q, the k-norm/RoPE kernel bf16 K and its channel sums, then K and V are
// quantized (ops/cuda/sage_quant.h). With --attention fp4 the same norm kernels and the V transpose write
// NVFP4 values (Attn-QAT's FP4 attention, emulated on bf16 tensor cores). Cross-attention over the text rows
// stays bf16 in both, as in the references.
#pragma once

#include <cuda_runtime.h>

#include <memory>

#include "cuda/device.h"
#include "models/wan_dit/config.h"
#include "models/wan_dit/cuda/weights.h"

namespace fastwan::cuda {

class WanDitCuda {
 public:
  WanDitCuda(std::shared_ptr<DeviceContext> ctx, const WanDitConfig& config, DitWeights weights,
             quant::AttentionMode attention = quant::AttentionMode::bf16);
  ~WanDitCuda();
  WanDitCuda(const WanDitCuda&) = delete;
  WanDitCuda& operator=(const WanDitCuda&) = delete;

  const WanDitConfig& config() const { return config_; }
  const DitWeights& weights() const { return weights_; }
  quant::AttentionMode attention_mode() const { return attention_; }

  // Allocates every activation for latents [in_channels, frames, height, width] and `text_rows` context
  // rows (validated: sizes must be patch multiples).
  Status prepare(int64_t frames, int64_t height, int64_t width, int64_t text_rows);
  // context: [text_rows, text_dim] f32 or bf16, host or device.
  Status set_context(const Tensor& context);
  // latents(): device f32 [C, T, H, W] to fill before forward(); velocity(): device f32 result.
  Tensor latents() const { return latents_; }
  Tensor velocity() const { return velocity_; }
  void forward(float timestep);
  // The stream forward() queues on (the context's).
  cudaStream_t stream() const { return stream_; }

  size_t activation_bytes() const { return arena_ ? arena_->high_water() : 0; }

 private:
  void layout(Arena& arena, int64_t frames, int64_t height, int64_t width);  // every activation buffer
  void run_forward();                                                        // the captured sequence
  void block(int layer);
  // Q, K, V^T of self-attention from the fused qkv projection in big_, then the attention into attn_.
  void self_attention(int layer, float* out_amax);
  // out[rows, out] = l(x), GELU(tanh) after the bias with gelu.
  void linear(const Linear& l, const LinearInput& x, int64_t rows, void* out, int64_t ldd, bool gelu = false);
  // The bf16 activation `in` [rows, cols] as a block linear reads it: through `q` (its amax slot `site`) in
  // an FP8 mode. `measure`: the amax is not folded in by the producer, take it here.
  LinearInput block_input(const QuantizedInput& q, const void* in, int64_t rows, int64_t cols, int site,
                          bool measure = false) const;

  std::shared_ptr<DeviceContext> ctx_;
  WanDitConfig config_;
  DitWeights weights_;
  quant::AttentionMode attention_;
  cudaStream_t stream_;
  // The FP8 inputs of the blocks' linears: [tokens, dim] activations (one amax slot per layer and site),
  // the FFN hidden rows, the text rows of the cross-attention K/V.
  QuantizedInput q_tokens_, q_hidden_, q_text_;
  std::unique_ptr<Arena> arena_;
  int64_t grid_[3] = {0, 0, 0};
  int64_t tokens_ = 0, text_rows_ = 0, text_stride_ = 0, vt_stride_ = 0;
  // Activations (arena views).
  Tensor latents_, velocity_, patches_, x_, n_, big_, q_, k_, vt_, attn_, branch_, y_;
  Tensor text_, text_hidden_, text_k_, text_vt_;  // text_k_/text_vt_: every layer's cross K and V^T
  // sage8 operands: INT8 Q and K, e4m3 V^T, their scales, and the workspaces of the K mean and V amax.
  Tensor q8_, k8_, vt8_, q8_scale_, k8_scale_, v8_scale_, k_partials_, k_mean_, v_amax_;
  Tensor cos_, sin_, timestep_, t_freq_, t_hidden_, temb_, t_act_, tproj_, e_, head_mod_;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t graph_exec_ = nullptr;
};

}  // namespace fastwan::cuda
