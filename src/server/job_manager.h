// The server's jobs: a bounded queue in front of the replicas, worker threads that each own a device and its
// resident models (ModelCache) and run one job at a time: replica i on GPU i, or, on the CPU, all sharing its
// cores. Every change of a job is counted, so that readers (the
// event stream, POST /v1/videos/sync) can wait for the next one. Records go to the JobStore at each change of
// status; progress within a job is kept in memory.
//
// Files of job ID in the output folder: ID.mp4 (the video), ID.png (its first frame). Nothing a client sends
// becomes a path: ids are made here and checked with is_job_id() before any lookup.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "pipeline/generate_plan.h"
#include "pipeline/model_cache.h"
#include "server/api_request.h"
#include "server/job_store.h"

namespace fastwan::server {

struct JobOptions {
  GenerateFlags flags;  // --model, --device, precision flags; each request's fields go on top
  std::string output_dir;
  size_t queue = 16;                    // jobs waiting behind the running ones; more get 429
  int replicas = 1;                     // workers, each with the models loaded: replica i on GPU i
  int64_t ttl_seconds = 24 * 3600;      // finished jobs expire this long after completion (0: never)
  int64_t max_disk_bytes = 10LL << 30;  // the oldest finished jobs go beyond this (0: no cap)
  size_t max_prompt_chars = 16384;
  int64_t max_video_pixels = 832LL * 480 * 161;  // width * height * frames of one job; more get 413
};

class JobManager {
 public:
  // Opens the job store in the output folder; jobs that were queued or running when the last server stopped
  // are marked failed, and expired or orphaned files are removed. Then starts the replicas, which load the
  // models first (ready once every replica has; failed when one cannot, naming it).
  static Expected<std::unique_ptr<JobManager>> open(JobOptions options);
  ~JobManager();  // stop()s and waits for the replicas

  enum class State { loading, ready, failed };
  State state() const { return state_; }
  std::string load_error() const;
  const std::string& model_name() const { return model_name_; }
  const JobOptions& options() const { return options_; }
  int64_t ttl_seconds() const { return options_.ttl_seconds; }
  int replicas() const { return options_.replicas; }
  int running() const;  // jobs in progress now
  bool stopping() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  // Checks the request against the model (400), the limits (413) and the queue (429), then queues it.
  std::variant<Job, ApiError> submit(const ParsedRequest& request);
  std::optional<Job> get(const std::string& id);
  std::vector<Job> list(const std::optional<std::string>& after, size_t limit, bool ascending);
  // Cancels a queued or running job and removes its record and files; false when there is no such job.
  bool remove(const std::string& id);
  // Waits until anything changes after `seen` (then updated) or the timeout passes; the job as it is then
  // (nullopt when it is gone).
  std::optional<Job> wait_for_change(const std::string& id, uint64_t& seen,
                                     std::chrono::milliseconds timeout);
  std::string video_path(const std::string& id) const;
  std::string thumbnail_path(const std::string& id) const;
  // Cancels the running jobs, wakes every waiter and ends the replicas.
  void stop();

 private:
  // One replica: its thread, device and models; `running` is guarded by mu_.
  struct Worker {
    int index = 0;
    ModelCache cache;
    std::string running;
    std::atomic<bool> cancel{false};
    std::thread thread;
  };

  explicit JobManager(JobOptions options) : options_(std::move(options)) {}
  void recover();
  void start(Worker& w, GeneratePlan plan);
  void work(Worker& w);
  void run_job(Worker& w, const std::string& id, GeneratePlan plan);
  void expire_locked();
  void remove_files(const std::string& id) const;
  std::optional<Job> get_locked(const std::string& id);
  void changed_locked();

  class Listener;

  JobOptions options_;
  std::string model_name_;
  std::unique_ptr<JobStore> store_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<State> state_{State::loading};

  mutable std::mutex mu_;
  std::condition_variable changed_;  // any job changed, or stopping
  std::condition_variable work_;     // a job was queued, or stopping
  std::deque<std::pair<std::string, GeneratePlan>> queue_;
  std::map<std::string, Job> live_;  // queued and running jobs, with their progress
  int loaded_ = 0;                   // replicas whose models are loaded
  uint64_t version_ = 0;
  bool stopping_ = false;
  std::string load_error_;
};

}  // namespace fastwan::server
