#include "io/name_rules.h"

#include <cctype>

namespace fastwan {
namespace {

// Matches `pattern` at the start of `name` ending on a part boundary; the digits each '#' matched go to
// `indices`. Returns the length of `name` matched, or nullopt.
std::optional<size_t> match_prefix(const std::string& pattern, const std::string& name,
                                   std::vector<std::string>& indices) {
  size_t n = 0;
  for (char p : pattern) {
    if (p == '#') {
      const size_t start = n;
      while (n < name.size() && std::isdigit(static_cast<unsigned char>(name[n]))) ++n;
      if (n == start) return std::nullopt;
      indices.push_back(name.substr(start, n - start));
    } else if (n < name.size() && name[n] == p) {
      ++n;
    } else {
      return std::nullopt;
    }
  }
  if (n != name.size() && name[n] != '.') return std::nullopt;
  return n;
}

}  // namespace

std::optional<std::string> apply_name_rules(const NameRules& rules, const std::string& name, RenameTo to) {
  for (const auto& rule : rules) {
    const std::string& from = to == RenameTo::diffusers ? rule.other : rule.diffusers;
    const std::string& into = to == RenameTo::diffusers ? rule.diffusers : rule.other;
    std::vector<std::string> indices;
    auto matched = match_prefix(from, name, indices);
    if (!matched) continue;
    std::string out;
    size_t next = 0;
    for (char c : into) {
      if (c == '#' && next < indices.size())
        out += indices[next++];
      else
        out += c;
    }
    return out + name.substr(*matched);
  }
  return std::nullopt;
}

Expected<bool> strip_name_prefix(WeightStore& store, const std::string& prefix) {
  bool any = false;
  for (const auto& name : store.names()) any = any || name.starts_with(prefix);
  if (!any) return false;
  FW_RETURN_IF_ERROR(store.rename([&](const std::string& name) -> std::optional<std::string> {
    if (!name.starts_with(prefix)) return std::nullopt;
    return name.substr(prefix.size());
  }));
  return true;
}

}  // namespace fastwan
