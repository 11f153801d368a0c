// diffusers WanTransformer3DModel (text-to-video), the CPU reference:
//   patch_embedding (Conv3d, kernel = stride = patch_size) -> tokens [S, dim] in (t, h, w) order
//   condition_embedder -> temb, timestep_proj, text rows
//   blocks.0 .. blocks.N-1
//   head: LN(x) * (1 + scale) + shift with (shift, scale) = scale_shift_table + temb; proj_out; unpatchify
// Weights stay as stored in the checkpoint (mmapped); each op upcasts what it needs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/wan_dit/block.h"
#include "models/wan_dit/condition_embedder.h"
#include "parallel/communicator.h"

namespace fastwan {

// Receives named intermediates (patch_embed_out, temb, timestep_proj, text_embed_out, block_i_out) for
// bisecting against golden data.
using DitTrace = std::function<void(const std::string& name, const Tensor& value)>;

class WanTransformer3DModel {
 public:
  // `path`: the transformer folder (config.json + weights) of a diffusers checkpoint, or a single file in any
  // layout models/checkpoint.h reads. `options`: the precision modes, run as fake quantization (the CPU
  // oracle of each GPU mode).
  static Expected<WanTransformer3DModel> load(const std::string& path,
                                              const quant::ModelOptions& options = {});
  static Expected<WanTransformer3DModel> load(const WanDitConfig& config, const WeightStore& store,
                                              const quant::ModelOptions& options = {});

  const WanDitConfig& config() const { return config_; }
  const quant::ModelOptions& options() const { return options_; }
  const std::vector<WanTransformerBlock>& blocks() const { return blocks_; }

  // latents: [1, in_channels, T, H, W] f32; context: [1, L, text_dim] f32. Returns [1, out_channels, T, H,
  // W].
  Expected<Tensor> forward(const Tensor& latents, float timestep, const Tensor& context,
                           const DitTrace& trace = nullptr) const;
  // The same, as one rank of a sequence-parallel world (parallel/ulysses.h): every rank passes the same
  // inputs, runs the blocks on its 1/P of the tokens and returns the whole output. The CPU reference of the
  // multi-GPU DiT; the trace sees this rank's rows of block outputs.
  Expected<Tensor> forward(const Tensor& latents, float timestep, const Tensor& context,
                           parallel::Communicator& comm, const DitTrace& trace = nullptr) const;

 private:
  Expected<Tensor> run(const Tensor& latents, float timestep, const Tensor& context,
                       parallel::Communicator* comm, const DitTrace& trace) const;

  WanDitConfig config_;
  quant::ModelOptions options_;
  WeightStore store_;  // keeps the mapped files alive
  Tensor patch_embedding_weight_, patch_embedding_bias_;
  WanConditionEmbedder condition_embedder_;
  std::vector<WanTransformerBlock> blocks_;
  Tensor scale_shift_table_;  // [1, 2, dim]
  nn::Linear proj_out_;
};

}  // namespace fastwan
