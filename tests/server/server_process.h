// A `fastwan serve` process for the server tests: started on a free loopback port with a synthesized model,
// its output in a log file, stopped (or killed) by its pid. An HTTP client for it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "fastwan/status.h"

namespace fastwan::test {

class ServerProcess {
 public:
  // `fastwan serve --model MODEL --output-dir DIR --port 0 ARGS`; returns once it listens (30 s at most).
  static Expected<std::unique_ptr<ServerProcess>> start(const std::string& model,
                                                        const std::string& output_dir,
                                                        const std::string& args = "");
  ~ServerProcess();  // stop()s it if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string log() const;
  httplib::Client client() const;
  // Polls GET /health until 200 (30 s at most).
  Status wait_ready() const;
  // SIGTERM and wait; the exit status (or 128 + signal).
  int stop();
  // SIGKILL and wait: a crash mid-job.
  void kill_hard();

 private:
  ServerProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  int wait_exit();

  pid_t pid_;
  std::string log_path_;
  int port_ = 0;
};

// A test suite with one synthesized tiny model and a folder for its servers' outputs.
class ServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  static std::string model();
  static std::string folder(const std::string& name);
  // A ready server with its output in folder(name) (the same name again: a restart on the same jobs).
  static std::unique_ptr<ServerProcess> serve(const std::string& name, const std::string& args = "");
};

}  // namespace fastwan::test
