#include <signal.h>

#include <cstdio>
#include <thread>

#include "commands.h"
#include "core/log.h"
#include "server/http_api.h"

namespace fastwan::cli {
namespace {

// Until SIGINT/SIGTERM or a failed model load, then stops the HTTP server. The signals are blocked in every
// thread (before any is started) and taken here with sigtimedwait, so nothing runs in a signal handler.
class Supervisor {
 public:
  Supervisor() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }
  void watch(server::JobManager& jobs, server::HttpApi& api) {
    thread_ = std::thread([this, &jobs, &api] {
      const timespec slice{0, 200'000'000};
      while (!done_) {
        if (sigtimedwait(&signals_, nullptr, &slice) > 0) break;
        if (jobs.state() == server::JobManager::State::failed) {
          log_error("the models failed to load: " + jobs.load_error());
          code_ = 1;
          break;
        }
      }
      // The jobs first: event streams and sync requests waiting on a job then end, so the HTTP server's
      // threads can finish.
      jobs.stop();
      api.stop();
    });
  }
  // Waits for the watcher; the exit code: 0 after a signal, 1 when the models failed to load.
  int finish() {
    done_ = true;
    thread_.join();
    return code_;
  }

 private:
  sigset_t signals_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  int code_ = 0;
};

}  // namespace

Command add_serve(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "Serve the OpenAI Videos API and a web page (docs/server.md)");
  sub->fallthrough();
  auto jobs = std::make_shared<server::JobOptions>();
  auto http = std::make_shared<server::HttpOptions>();
  auto disk_mb = std::make_shared<double>(static_cast<double>(jobs->max_disk_bytes >> 20));
  GenerateFlags& f = jobs->flags;
  jobs->output_dir = "fastwan-videos";
  sub->add_option("--model", f.model, "Model folder, or ORG/NAME in the Hugging Face cache")->required();
  sub->add_option("--base", f.base, "Base Wan2.1 folder or ORG/NAME for the components the model lacks");
  sub->add_option("--taehv", f.taehv,
                  "TAEHV weights (default: taew2_1.safetensors in the model or base folder)");
  sub->add_option("--host", http->host, "Address to listen on (default 127.0.0.1: this machine only)");
  sub->add_option("--port", http->port, "Port (default 8080; 0: any free port)")->check(CLI::Range(0, 65535));
  sub->add_option("--queue", jobs->queue, "Jobs waiting behind the running one; more get 429 (default 16)")
      ->check(CLI::Range(1, 100000));
  sub->add_option(
         "--replicas", jobs->replicas,
         "Models loaded side by side, each running one job at a time: replica i on GPU i (default 1)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--output-dir", jobs->output_dir, "Videos and the job store (default fastwan-videos)");
  sub->add_option("--api-key", http->api_key, "Require Authorization: Bearer KEY on /v1/*");
  sub->add_option("--expire-after", jobs->ttl_seconds,
                  "Seconds a finished video is kept (default 86400; 0: until the disk cap)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--max-disk-mb", *disk_mb, "The oldest videos go beyond this (default 10240; 0: no cap)")
      ->check(CLI::NonNegativeNumber);
  // Unset stays std::nullopt: the model's default (plan_generation checks the values).
  auto optional = [sub](const std::string& name, std::optional<std::string>& target,
                        const std::string& help) {
    sub->add_option_function<std::string>(
        name, [&target](const std::string& v) { target = v; }, help);
  };
  optional("--device", f.device, "cpu or cuda (default: cuda when available)");
  optional("--linear", f.linear, "DiT linears: bf16, fp8, fp8-row or nvfp4 (default: the checkpoint's)");
  optional("--attention", f.attention, "DiT self-attention: bf16, sage8 or fp4 (default: the checkpoint's)");
  optional("--kernels", f.kernels,
           "GPU kernels: auto (Hopper's on sm_90, else portable), hopper or portable (mma.sync, sm_80+)");
  return {sub, [=] {
            server::JobOptions o = *jobs;
            o.max_disk_bytes = static_cast<int64_t>(*disk_mb * (1 << 20));
            Supervisor supervisor;  // before any thread starts
            auto manager = server::JobManager::open(o);
            if (!manager) return fail(manager.error().message());
            server::HttpApi api(**manager, *http);
            if (auto bound = api.bind(); !bound) return fail(bound.error().message());
            std::printf("fastwan serve: %s on http://%s:%d (videos in %s)\n",
                        (*manager)->model_name().c_str(), http->host.c_str(), api.port(),
                        o.output_dir.c_str());
            std::fflush(stdout);
            supervisor.watch(**manager, api);
            api.listen();
            return supervisor.finish();
          }};
}

}  // namespace fastwan::cli
