// The UMT5 encoder in the layouts users hold: the transformers / T5-style names (what diffusers folders and
// ComfyUI's single files use, the names fastwan loads), the original Wan T5 names and llama.cpp's GGUF names
// (one table each, both ways); the config read from the tensors when a single file comes without
// config.json.
#pragma once

#include "io/name_rules.h"
#include "io/weight_store.h"
#include "models/umt5/config.h"

namespace fastwan {

// transformers (T5-style) <-> original Wan names (wan/modules/t5.py).
const NameRules& umt5_original_names();

// transformers (T5-style) <-> llama.cpp's T5 encoder names (GGUF files such as City96's umt5-xxl-encoder).
const NameRules& umt5_llama_cpp_names();

bool is_umt5_original(const WeightStore& store);   // token_embedding + blocks.0.attn
bool is_umt5_llama_cpp(const WeightStore& store);  // token_embd + enc.blk.0.attn_q
bool is_umt5_t5_style(const WeightStore& store);   // encoder.block.0.layer.0.SelfAttention

// The config from the shapes (T5-style names): widths from the embedding and the first block, heads and
// position buckets from the relative attention bias [buckets, heads]; the maximum distance is UMT5's 128.
Expected<Umt5Config> infer_umt5_config(const WeightStore& store);

}  // namespace fastwan
