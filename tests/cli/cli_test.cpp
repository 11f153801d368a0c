// The fastwan binary as users run it: exit codes, the verify PASS/FAIL contract, one-line errors.
#include <filesystem>
#include <regex>

#include "common/test_util.h"
#include "fuzz/corrupt_files.h"

namespace fastwan {
namespace {

using test::fastwan_bin;
using test::run_command;

TEST(Cli, VerifyPassesTheDitGoldenCase) {
  auto r = run_command(fastwan_bin() + " verify " + test::golden_case("wan_dit_tiny"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.last_line(), "PASS wan_dit_tiny");
}

TEST(Cli, VerifyFailsOnACorruptedCase) {
  test::TempDir dir;
  const auto src = std::filesystem::path(test::golden_case("wan_dit_tiny"));
  const auto dst = dir.path() / "wan_dit_tiny";
  std::filesystem::copy(src, dst);
  // Swap the expected output for another tensor's values: the comparison must fail.
  std::string io = test::read_file((dst / "io.safetensors").string());
  auto pos = io.find("\"sample\"");
  ASSERT_NE(pos, std::string::npos);
  io.replace(pos, 8, "\"sampl_\"");
  std::filesystem::permissions(dst / "io.safetensors", std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  test::write_file((dst / "io.safetensors").string(), io);
  auto r = run_command(fastwan_bin() + " verify " + dst.string());
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.last_line().rfind("FAIL wan_dit_tiny: sampl_", 0), 0u) << r.output;
}

TEST(Cli, VerifyTakesSeveralCasesAndSkipsCudaWithoutAGpu) {
  std::string cases = " ";  // built in steps: GCC 12 warns falsely (-Wrestrict) about " " + string
  cases += test::golden_case("wan_dit_tiny") + " " + test::golden_case("dmd_3step_tiny");
  auto r = run_command(fastwan_bin() + " verify" + cases);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("PASS wan_dit_tiny\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PASS dmd_3step_tiny\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.last_line(), "2 passed, 0 failed, 0 skipped");
  auto failing = run_command(fastwan_bin() + " verify" + cases + " /nonexistent/case");
  EXPECT_EQ(failing.status, 1) << failing.output;
  EXPECT_EQ(failing.last_line(), "2 passed, 1 failed, 0 skipped");
  auto cuda = run_command(fastwan_bin() + " verify --device cuda" + cases);
  EXPECT_EQ(cuda.status, 0) << cuda.output;
  if (cuda.output.find("SKIP") == std::string::npos) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_NE(cuda.output.find("SKIP wan_dit_tiny: --device cuda: "), std::string::npos) << cuda.output;
  EXPECT_EQ(cuda.last_line(), "0 passed, 0 failed, 2 skipped");
}

TEST(Cli, VerifyOnAMissingFolderFails) {
  auto r = run_command(fastwan_bin() + " verify /nonexistent/case");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.last_line().rfind("FAIL case: ", 0), 0u) << r.output;
}

TEST(Cli, InfoReportsAFileAndRejectsCorruptOnes) {
  auto ok = run_command(fastwan_bin() + " info " + test::golden_case("wan_dit_tiny"));
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("class WanTransformer3DModel"), std::string::npos);
  test::TempDir dir;
  for (const auto& c : test::corrupt_safetensors_files()) {
    test::write_file(dir.file("bad.safetensors"), c.bytes);
    auto r = run_command(fastwan_bin() + " info " + dir.file("bad.safetensors"));
    EXPECT_EQ(r.status, 1) << c.name;
    EXPECT_EQ(r.output.rfind("error: ", 0), 0u) << c.name << ": " << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << c.name << ": one line expected: " << r.output;
  }
}

TEST(Cli, SynthThenInfo) {
  test::TempDir dir;
  auto s = run_command(fastwan_bin() + " synth --preset tiny --out " + dir.file("m"));
  ASSERT_EQ(s.status, 0) << s.output;
  auto i = run_command(fastwan_bin() + " info " + dir.file("m/transformer"));
  EXPECT_EQ(i.status, 0) << i.output;
  EXPECT_NE(i.output.find("69 tensors"), std::string::npos) << i.output;
  // A folder with files in it is not overwritten by accident.
  auto again = run_command(fastwan_bin() + " synth --preset tiny --out " + dir.file("m"));
  EXPECT_EQ(again.status, 1);
  EXPECT_EQ(again.output,
            "error: --out " + dir.file("m") + ": the folder is not empty (pass --force to write into it)\n");
  auto forced =
      run_command(fastwan_bin() + " synth --preset tiny --family fastwan-qad --force --out " + dir.file("m"));
  EXPECT_EQ(forced.status, 0) << forced.output;
  EXPECT_NE(test::read_file(dir.file("m/README.md")).find("# FastWan-QAD-FP8-1.3B (synthetic)"),
            std::string::npos);
}

TEST(Cli, BadFlagsExitNonZeroWithAMessage) {
  auto p = run_command(fastwan_bin() + " synth --preset huge --out /tmp/x");
  EXPECT_EQ(p.status, 1);
  EXPECT_NE(p.output.find("unknown preset 'huge'"), std::string::npos);
  auto d = run_command(fastwan_bin() + " verify " + test::golden_case("wan_dit_tiny") + " --device tpu");
  EXPECT_NE(d.status, 0);
  EXPECT_NE(d.output.find("--device"), std::string::npos);
  // CLI11's own parse errors come in the same one-line form, exit status 1.
  struct Case {
    std::string args, expected;
  };
  for (
      const Case& c : std::vector<Case>{
          {"", "error: A subcommand is required (see fastwan --help)"},
          {" frobnicate",
           "error: unknown command 'frobnicate'; commands: generate, info, verify, synth, encode, decode, "
           "bench, convert, serve, help (see fastwan --help)"},
          {" -v genrate -p x", "error: unknown command 'genrate' (did you mean 'generate'?)"},
          {" help genrate", "error: unknown command 'genrate' (did you mean 'generate'?)"},
          {" generate 'a cat' --model m",
           "error: unexpected argument 'a cat': give the prompt with -p, as in fastwan generate -p \"a cat\" "
           "(see fastwan generate --help)"},
          {" generate -p x --model m --stpes 3",
           "error: The following arguments were not expected: 3 --stpes (did you mean --steps?) (see fastwan "
           "generate --help)"},
          {" -t 0 info x", "--threads: Value 0 not in range 1 to 4096"},
          {" serve --model m --replicas 0",
           "error: --replicas: Value 0 not in range 1 to 64 (see fastwan serve --help)"},
          {" synth --preset tiny --out x --seed -1",
           "error: --seed: expected an integer from 0 to 18446744073709551615 (see fastwan synth --help)"},
          {" decode --latents x -o y.y4m --crf 99999999999999999999",
           "error: --crf 99999999999999999999: expected an integer that fits (see fastwan decode --help)"},
          {" generate -p x --model m -W 99999999999", "error: --width 99999999999: too large for an integer"},
          {" generate -p x", "error: --model is required (see fastwan generate --help)"},
          {" info", "error: PATH is required (see fastwan info --help)"},
          {" generate -p x --model m --bogus",
           "error: The following argument was not expected: --bogus (see fastwan generate --help)"},
      }) {
    SCOPED_TRACE(c.args);
    auto r = run_command(fastwan_bin() + c.args);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(r.output.rfind("error: ", 0), 0u) << r.output;
    EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "one line expected: " << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
  }
  for (const std::string help_args : {" generate --help", " help generate"}) {
    auto help = run_command(fastwan_bin() + help_args);
    EXPECT_EQ(help.status, 0) << help.output;
    EXPECT_NE(help.output.find("--keep-text-encoder"), std::string::npos) << help.output;
  }
  // A flag given twice: the last value wins.
  test::TempDir dir;
  auto twice = run_command(fastwan_bin() + " synth --preset huge --preset tiny --out " + dir.file("m"));
  EXPECT_EQ(twice.status, 0) << twice.output;
}

TEST(Cli, VersionNamesTheCommitTheCudaBuildAndTheMp4Module) {
  auto r = run_command("FASTWAN_THREADS=3 " + fastwan_bin() + " --version");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex("^fastwan [0-9.]+ \\(commit [0-9a-f]+(-dirty)?\\)\n")))
      << r.output;
  EXPECT_NE(r.output.find("\nCUDA backend: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\nMP4 output: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\nCPU threads: 3 (-t/--threads, FASTWAN_THREADS)\n"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace fastwan
