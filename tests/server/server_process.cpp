#include "server/server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "common/test_util.h"

namespace fastwan::test {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(30);
constexpr auto kPoll = std::chrono::milliseconds(20);

TempDir* g_suite_dir = nullptr;

}  // namespace

Expected<std::unique_ptr<ServerProcess>> ServerProcess::start(const std::string& model,
                                                              const std::string& output_dir,
                                                              const std::string& args) {
  // A restart on the same folder must not read the port of the server before it.
  const std::string log_path = output_dir + ".log";
  std::remove(log_path.c_str());
  const std::string command = "exec " + fastwan_bin() + " serve --model '" + model + "' --output-dir '" +
                              output_dir + "' --port 0 " + args + " > '" + log_path + "' 2>&1";
  const pid_t pid = ::fork();
  if (pid < 0) return Error("fork failed");
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::unique_ptr<ServerProcess> p(new ServerProcess(pid, log_path));
  const std::regex listening("on http://[0-9.]+:([0-9]+) ");
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string log = p->log();
    if (std::regex_search(log, m, listening)) {
      p->port_ = std::stoi(m[1]);
      return p;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      p->pid_ = -1;
      return Error("fastwan serve exited: " + log);
    }
    std::this_thread::sleep_for(kPoll);
  }
  return Error("fastwan serve did not listen within 30 s: " + p->log());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop();
}

std::string ServerProcess::log() const {
  return read_file(log_path_);
}

httplib::Client ServerProcess::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(60, 0);
  c.set_connection_timeout(10, 0);
  return c;
}

Status ServerProcess::wait_ready() const {
  auto c = client();
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = c.Get("/health"); r && r->status == 200) return Status::Ok();
    std::this_thread::sleep_for(kPoll);
  }
  return Error("the server was not ready within 30 s: " + log());
}

int ServerProcess::wait_exit() {
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(kPoll);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait_exit();
}

void ServerProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit();
}

void ServerTest::SetUpTestSuite() {
  g_suite_dir = new TempDir();
  auto s = run_command(fastwan_bin() + " synth --preset tiny --out " + model());
  ASSERT_EQ(s.status, 0) << s.output;
}

void ServerTest::TearDownTestSuite() {
  delete g_suite_dir;
  g_suite_dir = nullptr;
}

std::string ServerTest::model() {
  return g_suite_dir->file("m");
}

std::string ServerTest::folder(const std::string& name) {
  return g_suite_dir->file(name);
}

std::unique_ptr<ServerProcess> ServerTest::serve(const std::string& name, const std::string& args) {
  auto p = ServerProcess::start(model(), folder(name), args);
  EXPECT_TRUE(p.ok()) << p.error().message();
  if (!p.ok()) return nullptr;
  auto ready = (*p)->wait_ready();
  EXPECT_TRUE(ready.ok()) << ready.error().message();
  return std::move(*p);
}

}  // namespace fastwan::test
