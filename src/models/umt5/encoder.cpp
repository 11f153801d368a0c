#include "models/umt5/encoder.h"

#include <algorithm>

#include "core/log.h"
#include "models/checkpoint.h"

namespace fastwan {

Expected<Umt5EncoderModel> Umt5EncoderModel::load(const std::string& path) {
  FW_ASSIGN_OR_RETURN(auto ckpt, open_umt5(path));
  auto model = load(ckpt.config, ckpt.store);
  if (!model) return model.error().with_context(ckpt.config_source + " does not match the weights");
  return model;
}

Expected<Umt5EncoderModel> Umt5EncoderModel::load(const Umt5Config& c, const WeightStore& store) {
  Umt5EncoderModel m;
  m.config_ = c;
  m.store_ = store;
  // transformers writes the tied table as shared.weight, sometimes also as encoder.embed_tokens.weight.
  const char* embedding = store.contains("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
  if (!store.contains(embedding))
    return Error(store.source() +
                 ": no token embedding (expected shared.weight or encoder.embed_tokens.weight)");
  FW_ASSIGN_OR_RETURN(m.shared_, nn::Embedding::load(store, embedding, c.vocab_size, c.d_model));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    FW_ASSIGN_OR_RETURN(auto block, Umt5Block::load(store, c, "encoder.block." + std::to_string(i)));
    m.encoder_.block.push_back(std::move(block));
  }
  FW_ASSIGN_OR_RETURN(m.encoder_.final_layer_norm,
                      nn::NormParams::load(store, "encoder.final_layer_norm", c.d_model, false));
  if (store.contains("encoder.block." + std::to_string(c.num_layers) + ".layer.0.layer_norm.weight"))
    return Error(store.source() + ": holds more blocks than num_layers = " + std::to_string(c.num_layers) +
                 " in config.json");
  return m;
}

Expected<Tensor> Umt5EncoderModel::embed(std::span<const int32_t> ids, std::span<const int32_t> mask) const {
  const auto s = static_cast<int64_t>(ids.size());
  if (s == 0) return Error("text encoder input: no token ids (a prompt always has at least </s>)");
  if (!mask.empty() && mask.size() != ids.size())
    return Error("text encoder input: " + std::to_string(mask.size()) + " attention mask values for " +
                 std::to_string(s) + " token ids");
  for (int64_t i = 0; i < s; ++i) {
    if (ids[i] < 0 || ids[i] >= config_.vocab_size)
      return Error("text encoder input: token id " + std::to_string(ids[i]) + " at position " +
                   std::to_string(i) + " is outside the vocabulary [0, " +
                   std::to_string(config_.vocab_size) + ") of " + source() +
                   " (tokenizer and text encoder do not belong together)");
    if (!mask.empty() && mask[i] != 0 && mask[i] != 1)
      return Error("text encoder input: attention mask value " + std::to_string(mask[i]) + " is not 0 or 1");
  }
  if (!mask.empty() && std::find(mask.begin(), mask.end(), 1) == mask.end())
    return Error("text encoder input: the attention mask masks every token");
  return shared_(ids);
}

Expected<Tensor> Umt5EncoderModel::forward(std::span<const int32_t> ids,
                                           std::span<const int32_t> mask) const {
  FW_ASSIGN_OR_RETURN(Tensor x, embed(ids, mask));
  const auto s = static_cast<int64_t>(ids.size());
  Tensor key_mask;
  if (!mask.empty()) {
    key_mask = Tensor::empty({s}, DType::f32);
    for (int64_t i = 0; i < s; ++i) key_mask.f32()[i] = static_cast<float>(mask[i]);
  }
  for (size_t i = 0; i < encoder_.block.size(); ++i) {
    x = encoder_.block[i](x, key_mask);
    log_debug("text encoder block " + std::to_string(i + 1) + "/" + std::to_string(encoder_.block.size()));
  }
  return ops::rms_norm(x, static_cast<float>(config_.layer_norm_epsilon), encoder_.final_layer_norm.weight);
}

}  // namespace fastwan
