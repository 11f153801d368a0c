// Subcommands of the fastwan CLI. Each add_* function declares a subcommand and its options on `app` and
// returns it with the action to run when it was chosen; actions return the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

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
Command add_serve(CLI::App& app);

// Prints "error: <message>" to stderr and returns 1.
int fail(const std::string& message);

}  // namespace fastwan::cli
