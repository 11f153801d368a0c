// fastwan: text-to-video with the Wan2.1 family. See README.md and docs/cli.md.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "commands.h"
#include "core/log.h"
#ifdef FASTWAN_HAVE_CUDA
#include "pipeline/cuda/cuda_backend.h"
#include "verify/cuda/cuda_verifiers.h"
#endif

namespace fastwan::cli {

int fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

namespace {

// The first word that is not an option of fastwan itself: the subcommand the user meant.
std::string command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-t" || arg == "--threads") {
      ++i;  // its value
    } else if (!arg.starts_with("-")) {
      return arg;
    }
  }
  return "";
}

}  // namespace

// `fastwan help [CMD]`: the same text as `fastwan [CMD] --help`.
Command add_help(CLI::App& app) {
  auto* sub =
      app.add_subcommand("help", "Print the help of fastwan or of one command (fastwan help generate)");
  auto command = std::make_shared<std::string>();
  sub->add_option("COMMAND", *command, "The command to explain");
  return {sub, [&app, command] {
            // App::help() would describe the chosen subcommand, `help` itself: format the app's own.
            if (command->empty()) {
              std::fputs(
                  app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal).c_str(),
                  stdout);
              return 0;
            }
            for (const CLI::App* target :
                 app.get_subcommands([&](const CLI::App* s) { return s->get_name() == *command; })) {
              std::fputs(target->help(app.get_name()).c_str(), stdout);
              return 0;
            }
            return fail(unknown_command(app, *command));
          }};
}

}  // namespace fastwan::cli

int main(int argc, char** argv) {
  using namespace fastwan::cli;
  CLI::App app{"fastwan: text-to-video with Wan2.1 / FastWan-QAD in one binary"};
  app.require_subcommand(1);
  // A flag given twice takes its last value, as in stable-diffusion.cpp (repeatable flags such as -p keep
  // every value).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", [] {
    std::string text = version_text();
    text.pop_back();  // CLI11 ends the line
    return text;
  });
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "More output (debug logging)");
  int threads = 0;
  app.add_option("-t,--threads", threads,
                 "CPU threads for the reference path (default: all cores; or the FASTWAN_THREADS variable)")
      ->check(CLI::Range(1, 4096));

  const std::vector<Command> commands = {
      add_generate(app), add_info(app),  add_verify(app),  add_synth(app), add_encode(app),
      add_decode(app),   add_bench(app), add_convert(app), add_serve(app), add_help(app)};

  const std::vector<std::string> names = command_names(app);
  if (const std::string word = command_word(argc, argv);
      !word.empty() && std::find(names.begin(), names.end(), word) == names.end())
    return fail(unknown_command(app, word));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail(explain_parse_error(app, e));
  }
  if (verbose) fastwan::set_log_level(fastwan::LogLevel::debug);
  // The thread pool reads FASTWAN_THREADS when it starts; -t is that variable for one run.
  if (threads > 0) ::setenv("FASTWAN_THREADS", std::to_string(threads).c_str(), 1);
#ifdef FASTWAN_HAVE_CUDA
  fastwan::register_cuda_verifiers();
  fastwan::register_cuda_backend();
#endif
  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return fail("no subcommand given (see --help)");
}
