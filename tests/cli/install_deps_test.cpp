// The README's set-up as written: scripts/install-deps.sh with apt-get, dpkg-query, id and sudo replaced by
// stubs that log their calls (as root without sudo, as a user with sudo, nothing to do when everything is
// installed), and the demo command on the binary under test.
#include <filesystem>

#include "common/test_util.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using test::run_command;

class InstallDeps : public testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_.path() / "bin"); }
  // A stub command that appends its name and arguments to calls.log, then runs `body`.
  void stub(const std::string& name, const std::string& body) {
    const std::string path = dir_.file("bin/" + name);
    test::write_file(path, "#!/bin/sh\necho \"" + name + " $*\" >> " + dir_.file("calls.log") + "\n" + body);
    fs::permissions(path, fs::perms::owner_all);
  }
  // Stubs for a machine where user `uid` runs the script and dpkg-query answers `status` for every package.
  void machine(int uid, const std::string& status) {
    stub("id", "echo " + std::to_string(uid) + "\n");
    stub("dpkg-query", "printf '" + status + "'\n");
    stub("apt-get", "");
  }
  test::CommandResult run(const std::string& args = "") {
    // A PATH without /usr/sbin and /sbin: on CI machines sudo lives in /usr/bin, so it is the stub or
    // nothing.
    return run_command("env PATH=" + dir_.file("bin") + ":/bin " + FASTWAN_SOURCE_DIR +
                       "/scripts/install-deps.sh " + args);
  }
  std::string calls() {
    return fs::exists(dir_.file("calls.log")) ? test::read_file(dir_.file("calls.log")) : "";
  }
  test::TempDir dir_;
};

TEST_F(InstallDeps, RootWithoutSudoInstallsDirectly) {
  if (fs::exists("/bin/sudo")) GTEST_SKIP() << "/bin/sudo exists: cannot hide it from the script";
  machine(0, "unknown ok not-installed");
  auto r = run();
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(calls().find("apt-get install -y -q --no-install-recommends build-essential"), std::string::npos)
      << calls();
  EXPECT_EQ(calls().find("sudo"), std::string::npos) << calls();
}

TEST_F(InstallDeps, AUserGetsSudoOnlyWhenSomethingIsMissing) {
  machine(1000, "unknown ok not-installed");
  stub("sudo", "exec \"$@\"\n");
  auto r = run();
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(calls().find("sudo env DEBIAN_FRONTEND=noninteractive apt-get update"), std::string::npos)
      << calls();
  EXPECT_NE(calls().find("apt-get install"), std::string::npos) << calls();

  fs::remove(dir_.file("calls.log"));
  machine(1000, "install ok installed");
  auto done = run();
  ASSERT_EQ(done.status, 0) << done.output;
  EXPECT_NE(done.output.find(" packages are installed"), std::string::npos) << done.output;
  EXPECT_EQ(calls().find("sudo"), std::string::npos) << calls();
  EXPECT_EQ(calls().find("apt-get"), std::string::npos) << calls();
  auto quiet = run("--if-missing");
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.output, "");
}

TEST_F(InstallDeps, AUserWithoutSudoIsToldWhatToDo) {
  if (fs::exists("/bin/sudo")) GTEST_SKIP() << "/bin/sudo exists: cannot hide it from the script";
  machine(1000, "unknown ok not-installed");
  auto r = run();
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.last_line(),
            "install-deps: installing packages needs root: run this script as root, or install sudo");
  EXPECT_EQ(calls().find("apt-get"), std::string::npos) << calls();
}

TEST(Readme, TheSetUpCommandsRunAsWritten) {
  if (!FASTWAN_TEST_MP4) GTEST_SKIP() << "built without libav: the demo writes an MP4";
  const std::string readme = test::read_file(std::string(FASTWAN_SOURCE_DIR) + "/README.md");
  const std::string setup = "\n```sh\nscripts/install-deps.sh && scripts/build.sh && ";
  EXPECT_NE(readme.find(setup), std::string::npos);
  for (const char* script : {"/scripts/install-deps.sh", "/scripts/build.sh"}) {
    const auto perms = fs::status(std::string(FASTWAN_SOURCE_DIR) + script).permissions();
    EXPECT_NE(perms & fs::perms::owner_exec, fs::perms::none) << script << " is not executable";
  }
  // The demo: the synthesized FastWan-QAD-like model on the fast path, with this build's binary and a
  // temporary folder in place of build/bin and /tmp (in that order: the build may itself live under /tmp).
  const size_t at = readme.find(setup);
  ASSERT_NE(at, std::string::npos);
  const size_t begin = at + setup.size();
  std::string demo = readme.substr(begin, readme.find('\n', begin) - begin);
  ASSERT_EQ(demo.rfind("build/bin/fastwan synth --preset tiny --family fastwan-qad", 0), 0u) << demo;
  test::TempDir dir;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"/tmp/", dir.path().string() + "/"}, {"build/bin/fastwan", test::fastwan_bin()}})
    for (size_t p = demo.find(from); p != std::string::npos; p = demo.find(from, p + to.size()))
      demo.replace(p, from.size(), to);
  auto r = run_command(demo);
  ASSERT_EQ(r.status, 0) << demo << "\n" << r.output;
  EXPECT_NE(r.output.find("settings: fastwan-qad (FastWan-QAD-FP8-1.3B: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", dmd, 3 steps (timesteps 1000, 757, 522)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("taehv decoder"), std::string::npos) << r.output;
  EXPECT_EQ(r.last_line(), "wrote " + dir.file("fastwan-tiny.mp4") + " (9 frames, 64x48, 16 fps)");
}

}  // namespace
}  // namespace fastwan
