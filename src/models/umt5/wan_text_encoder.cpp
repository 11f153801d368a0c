#include "models/umt5/wan_text_encoder.h"

#include <cstring>
#include <filesystem>

#include "core/check.h"

namespace fastwan {
namespace fs = std::filesystem;

Tensor wan_prompt_embeds(const Tensor& hidden, int64_t length, int64_t text_len) {
  FW_CHECK(hidden.ndim() == 2 && length >= 0 && length <= hidden.dim(0) && length <= text_len,
           "wan_prompt_embeds: " + std::to_string(length) + " rows of " + hidden.describe() + " into " +
               std::to_string(text_len));
  const int64_t d = hidden.dim(1);
  Tensor out = Tensor::zeros({1, text_len, d});
  const Tensor rows = hidden.slice(0, 0, length).contiguous();
  std::memcpy(out.f32(), rows.f32(), static_cast<size_t>(length * d) * sizeof(float));
  return out;
}

Expected<WanTextEncoder> WanTextEncoder::load(const std::string& model_dir) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) return Error(model_dir + ": not a folder (expected a model folder)");
  return load((fs::path(model_dir) / "text_encoder").string(),
              (fs::path(model_dir) / "tokenizer" / "spiece.model").string());
}

Expected<WanTextEncoder> WanTextEncoder::load(const std::string& text_encoder_dir,
                                              const std::string& spiece_model) {
  WanTextEncoder t;
  FW_ASSIGN_OR_RETURN(t.tokenizer_, text::T5Tokenizer::load(spiece_model));
  FW_ASSIGN_OR_RETURN(t.encoder_, Umt5EncoderModel::load(text_encoder_dir));
  if (t.tokenizer_.vocab_size() > t.encoder_.config().vocab_size)
    return Error(spiece_model + ": " + std::to_string(t.tokenizer_.vocab_size()) +
                 " pieces, more than the vocab_size " + std::to_string(t.encoder_.config().vocab_size) +
                 " of the text encoder " + text_encoder_dir);
  return t;
}

Expected<PromptEmbedding> WanTextEncoder::encode(std::string_view prompt) const {
  return encode(prompt, [this](std::span<const int32_t> ids) { return encoder_.forward(ids); });
}

Expected<PromptEmbedding> WanTextEncoder::encode(std::string_view prompt, const EncoderFn& run) const {
  FW_ASSIGN_OR_RETURN(text::TokenizedPrompt tokens, tokenizer_.encode(prompt, kWanTextLen));
  const std::span<const int32_t> real(tokens.ids.data(), static_cast<size_t>(tokens.length));
  FW_ASSIGN_OR_RETURN(Tensor hidden, run(real));
  PromptEmbedding e;
  e.embeds = wan_prompt_embeds(hidden, tokens.length, kWanTextLen);
  e.length = tokens.length;
  e.input_ids = std::move(tokens.ids);
  e.prompt = std::string(prompt);
  return e;
}

}  // namespace fastwan
