// fastwan: text-to-video with the Wan2.1 family. See README.md and docs/cli.md.
#include <cstdio>
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

}  // namespace fastwan::cli

int main(int argc, char** argv) {
  using namespace fastwan::cli;
  CLI::App app{"fastwan: text-to-video with Wan2.1 / FastWan-QAD in one binary"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fastwan 0.1.0");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "More output (debug logging)");

  const std::vector<Command> commands = {add_generate(app), add_info(app),   add_verify(app), add_synth(app),
                                         add_encode(app),   add_decode(app), add_bench(app), add_serve(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // CLI11's own errors (an unknown or missing flag) in the one-line form of every other error.
    std::string help = "fastwan --help";
    for (const CLI::App* sub : app.get_subcommands()) help = "fastwan " + sub->get_name() + " --help";
    std::string message = e.what();
    for (char& c : message)
      if (c == '\n') c = ' ';
    return fail(message + " (see " + help + ")");
  }
  if (verbose) fastwan::set_log_level(fastwan::LogLevel::debug);
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
