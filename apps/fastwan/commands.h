// Subcommands of the fastwan CLI. Each add_* function declares a subcommand and its options on `app` and
// returns it with the action to run when it was chosen; actions return the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include <string>
#include <vector>
#include "fastwan/status.h"

namespace fastwan {
struct GenerateFlags;
}

namespace fastwan::cli {

using Action = std::function<int()>;

struct Command {
  CLI::App* app;
  Action run;
};

Command add_info(CLI::App& app);
Command add_verify(CLI::App& app);
Command add_synth(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_encode(CLI::App& app);
Command add_decode(CLI::App& app);
Command add_generate(CLI::App& app);
Command add_convert(CLI::App& app);
Command add_serve(CLI::App& app);

Command add_help(CLI::App& app);

// Prints "error: <message>" to stderr and returns 1.
int fail(const std::string& message);

// parse_errors.cpp: CLI11's parse errors in fastwan's one-line form, with a hint.
std::string closest_name(const std::string& word, const std::vector<std::string>& names);  // "" if none
std::vector<std::string> command_names(const CLI::App& app);
std::string unknown_command(const CLI::App& app, const std::string& word);
std::string explain_parse_error(const CLI::App& app, const CLI::ParseError& e);

// version.cpp: what --version prints (commit, CUDA build, MP4 module, threads), and its first line.
std::string version_text();
std::string version_line();

// rerun.cpp: fills the flags the user left unset from the settings in FILE's metadata (--from FILE).
Status apply_rerun_settings(const std::string& file, GenerateFlags& flags);

}  // namespace fastwan::cli
