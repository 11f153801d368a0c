// Renaming tensors between checkpoint layouts by a table of rules. Each rule pairs a name prefix in the
// diffusers layout with the same prefix in another layout (original Wan, ComfyUI); '#' stands for a block
// index (decimal digits) carried across. A prefix matches whole dot-separated parts: "blocks.#.self_attn.q"
// matches "blocks.3.self_attn.q.weight" but not "blocks.3.self_attn.qk". The first matching rule wins, so
// tables list the longer prefixes first.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/weight_store.h"

namespace fastwan {

struct NameRule {
  std::string diffusers;
  std::string other;
};
using NameRules = std::vector<NameRule>;

enum class RenameTo { diffusers, other };

// `name` renamed by the first rule that matches it; nullopt when none does.
std::optional<std::string> apply_name_rules(const NameRules& rules, const std::string& name, RenameTo to);

// Strips `prefix` from every name that has it; returns whether any had it.
Expected<bool> strip_name_prefix(WeightStore& store, const std::string& prefix);

}  // namespace fastwan
