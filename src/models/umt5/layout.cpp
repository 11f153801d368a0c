#include "models/umt5/layout.h"

#include "models/common/layout_util.h"

namespace fastwan {

const NameRules& umt5_original_names() {
  static const NameRules rules = {
      {"shared", "token_embedding"},
      {"encoder.block.#.layer.0.SelfAttention.relative_attention_bias", "blocks.#.pos_embedding.embedding"},
      {"encoder.block.#.layer.0.SelfAttention", "blocks.#.attn"},
      {"encoder.block.#.layer.0.layer_norm", "blocks.#.norm1"},
      {"encoder.block.#.layer.1.DenseReluDense.wi_0", "blocks.#.ffn.gate.0"},
      {"encoder.block.#.layer.1.DenseReluDense.wi_1", "blocks.#.ffn.fc1"},
      {"encoder.block.#.layer.1.DenseReluDense.wo", "blocks.#.ffn.fc2"},
      {"encoder.block.#.layer.1.layer_norm", "blocks.#.norm2"},
      {"encoder.final_layer_norm", "norm"},
  };
  return rules;
}

const NameRules& umt5_llama_cpp_names() {
  static const NameRules rules = {
      {"shared", "token_embd"},
      {"encoder.block.#.layer.0.SelfAttention.relative_attention_bias", "enc.blk.#.attn_rel_b"},
      {"encoder.block.#.layer.0.SelfAttention.q", "enc.blk.#.attn_q"},
      {"encoder.block.#.layer.0.SelfAttention.k", "enc.blk.#.attn_k"},
      {"encoder.block.#.layer.0.SelfAttention.v", "enc.blk.#.attn_v"},
      {"encoder.block.#.layer.0.SelfAttention.o", "enc.blk.#.attn_o"},
      {"encoder.block.#.layer.0.layer_norm", "enc.blk.#.attn_norm"},
      {"encoder.block.#.layer.1.DenseReluDense.wi_0", "enc.blk.#.ffn_gate"},
      {"encoder.block.#.layer.1.DenseReluDense.wi_1", "enc.blk.#.ffn_up"},
      {"encoder.block.#.layer.1.DenseReluDense.wo", "enc.blk.#.ffn_down"},
      {"encoder.block.#.layer.1.layer_norm", "enc.blk.#.ffn_norm"},
      {"encoder.final_layer_norm", "enc.output_norm"},
  };
  return rules;
}

bool is_umt5_llama_cpp(const WeightStore& store) {
  return store.contains("token_embd.weight") && store.contains("enc.blk.0.attn_q.weight");
}

bool is_umt5_original(const WeightStore& store) {
  return store.contains("token_embedding.weight") && store.contains("blocks.0.attn.q.weight");
}

bool is_umt5_t5_style(const WeightStore& store) {
  return store.contains("encoder.block.0.layer.0.SelfAttention.q.weight");
}

Expected<Umt5Config> infer_umt5_config(const WeightStore& store) {
  ShapeReader s(store);
  Umt5Config c;
  const std::string a = "encoder.block.0.layer.0.SelfAttention.";
  const Shape embed =
      s.shape(store.contains("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight", 2);
  const Shape q = s.shape(a + "q.weight", 2);
  const Shape bias = s.shape(a + "relative_attention_bias.weight", 2);
  const Shape ff = s.shape("encoder.block.0.layer.1.DenseReluDense.wi_0.weight", 2);
  FW_RETURN_IF_ERROR(s.status());
  c.vocab_size = embed[0];
  c.d_model = embed[1];
  c.relative_attention_num_buckets = bias[0];
  c.num_heads = bias[1];
  if (c.num_heads < 1 || q[0] % c.num_heads != 0)
    return Error(store.source() + ": " + a + "q.weight has " + std::to_string(q[0]) +
                 " rows, not a multiple of " + std::to_string(c.num_heads) +
                 " heads (from relative_attention_bias)");
  c.d_kv = q[0] / c.num_heads;
  c.d_ff = ff[0];
  c.num_layers = count_indexed(store, "encoder.block.");
  return c;
}

}  // namespace fastwan
