// Command-line mistakes in fastwan's one-line form, each with the hint that fixes it.
#include <algorithm>

#include "commands.h"

namespace fastwan::cli {
namespace {

// Levenshtein distance, for did-you-mean.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string help_command(const CLI::App* sub) {
  return sub ? "fastwan " + sub->get_name() + " --help" : "fastwan --help";
}

}  // namespace

std::string closest_name(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;  // a typo, not another word
  for (const std::string& name : names)
    if (const size_t d = edit_distance(word, name); d < best_distance) {
      best = name;
      best_distance = d;
    }
  return best;
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

std::string unknown_command(const CLI::App& app, const std::string& word) {
  const std::vector<std::string> names = command_names(app);
  std::string message = "unknown command '" + word + "'";
  if (const std::string near = closest_name(word, names); !near.empty())
    message += " (did you mean '" + near + "'?)";
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  return message + "; commands: " + list + " (see fastwan --help)";
}

std::string explain_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands()) sub = s;
  std::string message = e.what();
  std::replace(message.begin(), message.end(), '\n', ' ');
  // "Could not convert: --crf = 1e99": the flag and value, and what kind of number it takes.
  const std::string prefix = "Could not convert: ";
  if (dynamic_cast<const CLI::ConversionError*>(&e) && message.starts_with(prefix)) {
    const size_t eq = message.find(" = ");
    const std::string flag = message.substr(prefix.size(), eq - prefix.size());
    const CLI::Option* option = sub ? sub->get_option_no_throw(flag) : app.get_option_no_throw(flag);
    const std::string type = option ? option->get_type_name() : "";
    const std::string kind = type == "UINT"    ? "a non-negative integer"
                             : type == "INT"   ? "an integer"
                             : type == "FLOAT" ? "a number"
                                               : "a value of type " + type;
    if (eq != std::string::npos)
      return flag + " " + message.substr(eq + 3) + ": expected " + kind + " that fits (see " +
             help_command(sub) + ")";
  }
  if (sub && dynamic_cast<const CLI::ExtrasError*>(&e)) {
    const std::vector<std::string> extras = app.remaining(true);
    const std::string first = extras.empty() ? "" : extras.front();
    if (!first.empty() && first[0] != '-' && sub->get_option_no_throw("-p"))
      return "unexpected argument '" + first + "': give the prompt with -p, as in fastwan " +
             sub->get_name() + " -p \"" + first + "\" (see " + help_command(sub) + ")";
    if (first.starts_with("--")) {
      std::vector<std::string> flags;
      for (const CLI::Option* o : sub->get_options())
        for (const std::string& name : o->get_lnames()) flags.push_back("--" + name);
      if (const std::string near = closest_name(first, flags); !near.empty())
        message += " (did you mean " + near + "?)";
    }
  }
  return message + " (see " + help_command(sub) + ")";
}

}  // namespace fastwan::cli
