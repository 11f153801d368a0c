// The fastwan binary as users run it: exit codes, the verify PASS/FAIL contract, one-line errors.
#include <filesystem>

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
  for (const Case& c : std::vector<Case>{
           {"", "error: A subcommand is required (see fastwan --help)"},
           {" frobnicate", "error: A subcommand is required (see fastwan --help)"},
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
  auto help = run_command(fastwan_bin() + " generate --help");
  EXPECT_EQ(help.status, 0) << help.output;
  EXPECT_NE(help.output.find("--keep-text-encoder"), std::string::npos) << help.output;
}

}  // namespace
}  // namespace fastwan
