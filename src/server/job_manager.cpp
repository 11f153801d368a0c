#include "server/job_manager.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/log.h"
#include "pipeline/generate_request.h"
#include "pipeline/text_to_video.h"
#include "video/sinks.h"

namespace fastwan::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// How often the worker looks for expired jobs while idle.
constexpr auto kExpiryInterval = std::chrono::seconds(60);

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// What the job will run with, every default filled in.
json effective_settings(const GeneratePlan& p) {
  const SamplerConfig& s = p.sampler;
  const int fps = p.output.options.fps;
  return {{"size", std::to_string(p.width) + "x" + std::to_string(p.height)},
          {"num_frames", p.frames},
          {"fps", fps},
          {"seconds", format_number(static_cast<double>(p.frames) / fps)},
          {"seed", p.seed},
          {"sampler", sampler_kind_name(s.kind)},
          {"num_inference_steps", s.kind == SamplerKind::dmd ? static_cast<int64_t>(s.dmd_timesteps.size())
                                                             : static_cast<int64_t>(s.steps)},
          {"guidance_scale", s.cfg_scale},
          {"flow_shift", s.flow_shift},
          {"decoder", p.decoder == DecoderKind::taehv ? "taehv" : "wan-vae"},
          {"negative_prompt", p.negative_prompt},
          {"modes", p.modes.describe()},
          {"device", p.device.backend.name}};
}

// Percent done: the text encoder a little, the steps most, the frames the rest.
int percent(const std::string& stage, int64_t done, int64_t total, int before) {
  if (total <= 0) return before;
  const double f = static_cast<double>(done) / static_cast<double>(total);
  if (stage == "denoise") return 5 + static_cast<int>(85 * f);
  if (stage == "decode+write") return 90 + static_cast<int>(9 * f);
  return before;
}

int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

}  // namespace

// Hears the pipeline of a running job: progress into the live job, cancellation from remove()/stop().
class JobManager::Listener : public ProgressListener {
 public:
  Listener(JobManager& m, const std::atomic<bool>& cancel, std::string id)
      : m_(m), cancel_(cancel), id_(std::move(id)) {}
  void update(const std::string& stage, int64_t done, int64_t total, double) override {
    std::lock_guard<std::mutex> lock(m_.mu_);
    auto it = m_.live_.find(id_);
    if (it == m_.live_.end()) return;
    it->second.stage = stage;
    it->second.progress = percent(stage, done, total, it->second.progress);
    m_.changed_locked();
  }
  void finished(const std::string& stage, double seconds) override {
    std::lock_guard<std::mutex> lock(m_.mu_);
    auto it = m_.live_.find(id_);
    if (it != m_.live_.end()) it->second.timings[stage] = seconds;
  }
  bool cancelled() const override { return cancel_; }

 private:
  JobManager& m_;
  const std::atomic<bool>& cancel_;
  std::string id_;
};

Expected<std::unique_ptr<JobManager>> JobManager::open(JobOptions options) {
  if (options.replicas < 1) return Error("--replicas " + std::to_string(options.replicas) + ": at least 1");
  std::error_code ec;
  fs::create_directories(options.output_dir, ec);
  if (!fs::is_directory(options.output_dir))
    return Error("--output-dir " + options.output_dir + ": cannot create the folder");
  std::unique_ptr<JobManager> m(new JobManager(std::move(options)));
  // The model's files are checked now, so that a bad --model stops the server at once.
  GenerateRequest probe;
  probe.prompt = "warm-up";
  GenerateFlags flags = m->options_.flags;
  flags.output = (fs::path(m->options_.output_dir) / "warm-up.mp4").string();
  FW_ASSIGN_OR_RETURN(GeneratePlan plan, plan_request(probe, flags));
  m->model_name_ = plan.model.evidence.name;
  FW_ASSIGN_OR_RETURN(m->store_,
                      JobStore::open((fs::path(m->options_.output_dir) / "jobs.sqlite3").string()));
  m->recover();
  for (int i = 0; i < m->options_.replicas; ++i) {
    m->workers_.push_back(std::make_unique<Worker>());
    m->workers_.back()->index = i;
  }
  for (auto& w : m->workers_)
    w->thread = std::thread([raw = m.get(), &worker = *w, plan] { raw->start(worker, plan); });
  return m;
}

// A replica: binds its thread to its device, loads the models, then takes jobs until the server stops.
void JobManager::start(Worker& w, GeneratePlan plan) {
  Progress progress(Progress::Mode::quiet);
  Status loaded = plan.device.backend.use_device(w.index);
  if (loaded.ok()) loaded = w.cache.load(plan, progress);
  std::unique_lock<std::mutex> lock(mu_);
  if (!loaded.ok()) {
    load_error_ = options_.replicas == 1
                      ? loaded.error().message()
                      : "replica " + std::to_string(w.index) + " (--replicas " +
                            std::to_string(options_.replicas) + "): " + loaded.error().message();
    state_ = State::failed;
    changed_locked();
    return;
  }
  log_info("models loaded" +
           (options_.replicas == 1 ? std::string() : " (replica " + std::to_string(w.index) + ")") + ": " +
           progress.summary());
  if (++loaded_ == options_.replicas && state_ == State::loading) state_ = State::ready;
  changed_locked();
  lock.unlock();
  work(w);
}

JobManager::~JobManager() {
  stop();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

void JobManager::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  for (auto& w : workers_) w->cancel = true;
  changed_.notify_all();
  work_.notify_all();
}

int JobManager::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& w : workers_) n += !w->running.empty();
  return n;
}

std::string JobManager::load_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_error_;
}

std::string JobManager::video_path(const std::string& id) const {
  return (fs::path(options_.output_dir) / (id + ".mp4")).string();
}

std::string JobManager::thumbnail_path(const std::string& id) const {
  return (fs::path(options_.output_dir) / (id + ".png")).string();
}

void JobManager::remove_files(const std::string& id) const {
  std::remove(video_path(id).c_str());
  std::remove(thumbnail_path(id).c_str());
}

void JobManager::changed_locked() {
  ++version_;
  changed_.notify_all();
}

void JobManager::recover() {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> kept;
  for (Job& job : store_->all()) {
    if (!job.finished()) {
      job.status = JobStatus::failed;
      job.stage.clear();
      job.completed_at = now_seconds();
      job.error_code = "server_restarted";
      job.error_message = "the server stopped before this job finished";
      remove_files(job.id);
      job.bytes = 0;
      (void)store_->put(job);
    }
    if (job.status == JobStatus::completed) kept.insert(job.id);
  }
  // Files of jobs that are gone, and temporary files a killed server left (".ID.mp4.partial-XXXXXX").
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.output_dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name.starts_with("video_") || name.starts_with(".video_");
    const std::string id = name.substr(0, name.find('.'));
    if (ours && (name.starts_with(".") || !kept.count(id))) fs::remove(entry.path(), ec);
  }
  expire_locked();
}

std::variant<Job, ApiError> JobManager::submit(const ParsedRequest& r) {
  if (state_ != State::ready)
    return ApiError{503, state_ == State::loading ? "the models are loading; try again shortly"
                                                  : "the models failed to load: " + load_error()};
  if (!r.model.empty() && r.model != model_name_ && r.model != fs::path(model_name_).filename().string())
    return ApiError{400, "model '" + r.model + "': this server runs " + model_name_};
  Job job;
  job.id = new_job_id();
  GenerateFlags flags = options_.flags;
  flags.output = video_path(job.id);
  auto plan = plan_request(r.request, flags);
  if (!plan) return ApiError{400, plan.error().message()};
  if (plan->width * plan->height * plan->frames > options_.max_video_pixels)
    return ApiError{413, "size and num_frames: " + std::to_string(plan->width) + "x" +
                             std::to_string(plan->height) + " x " + std::to_string(plan->frames) +
                             " frames is over this server's limit of " +
                             std::to_string(options_.max_video_pixels) + " pixels per video"};
  job.model = model_name_;
  job.created_at = now_seconds();
  job.request = r.given;
  job.settings = effective_settings(*plan);

  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return ApiError{503, "the server is stopping"};
  if (queue_.size() >= options_.queue)
    return ApiError{429,
                    "the queue is full (" + std::to_string(options_.queue) + " jobs waiting); retry later"};
  if (auto stored = store_->put(job); !stored) return ApiError{500, stored.error().message()};
  live_[job.id] = job;
  queue_.emplace_back(job.id, std::move(*plan));
  changed_locked();
  work_.notify_one();
  return job;
}

std::optional<Job> JobManager::get_locked(const std::string& id) {
  if (auto it = live_.find(id); it != live_.end()) return it->second;
  return store_->get(id);
}

std::optional<Job> JobManager::get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return get_locked(id);
}

std::vector<Job> JobManager::list(const std::optional<std::string>& after, size_t limit, bool ascending) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Job> jobs = store_->list(after, limit, ascending);
  for (Job& job : jobs)
    if (auto it = live_.find(job.id); it != live_.end()) job = it->second;
  return jobs;
}

bool JobManager::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!get_locked(id)) return false;
  const auto runner =
      std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) { return w->running == id; });
  if (runner != workers_.end()) {
    (*runner)->cancel = true;  // the replica removes what it wrote when it sees the job gone
  } else {
    std::erase_if(queue_, [&](const auto& q) { return q.first == id; });
    remove_files(id);
  }
  live_.erase(id);
  if (auto removed = store_->remove(id); !removed) log_warn(removed.error().message());
  changed_locked();
  return true;
}

std::optional<Job> JobManager::wait_for_change(const std::string& id, uint64_t& seen,
                                               std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return version_ != seen || stopping_; });
  seen = version_;
  return get_locked(id);
}

void JobManager::work(Worker& w) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_ && state_ != State::failed) {
    if (queue_.empty()) {
      if (!work_.wait_for(lock, kExpiryInterval, [&] { return stopping_ || !queue_.empty(); }))
        expire_locked();
      continue;
    }
    auto [id, plan] = std::move(queue_.front());
    queue_.pop_front();
    w.running = id;
    w.cancel = false;
    Job& job = live_.at(id);
    job.status = JobStatus::in_progress;
    if (auto stored = store_->put(job); !stored) log_warn(stored.error().message());
    changed_locked();
    lock.unlock();
    run_job(w, id, std::move(plan));
    lock.lock();
    w.running.clear();
    expire_locked();
  }
}

void JobManager::run_job(Worker& w, const std::string& id, GeneratePlan plan) {
  const std::string thumbnail = thumbnail_path(id);
  plan.output.first_frame = [&](const uint8_t* rgb, int64_t width, int64_t height) {
    return write_png(thumbnail, rgb, width, height);
  };
  Listener listener(*this, w.cancel, id);
  Progress progress(Progress::Mode::quiet);
  progress.set_listener(&listener);
  auto result = text_to_video(plan, progress, nullptr, &w.cache);

  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) {  // deleted while running
    remove_files(id);
    return;
  }
  Job job = it->second;
  live_.erase(it);
  job.stage.clear();
  job.completed_at = now_seconds();
  if (result) {
    job.status = JobStatus::completed;
    job.progress = 100;
    double total = 0;
    for (const Progress::Stage& s : progress.stages()) total += s.seconds;
    job.timings["total"] = total;
    job.bytes = file_size(video_path(id)) + file_size(thumbnail);
  } else {
    job.status = JobStatus::failed;
    job.error_code = stopping_ ? "server_stopped" : "generation_failed";
    job.error_message = result.error().message();
    remove_files(id);
  }
  if (auto stored = store_->put(job); !stored) log_warn(stored.error().message());
  changed_locked();
}

void JobManager::expire_locked() {
  const int64_t now = now_seconds();
  std::vector<Job> finished;
  int64_t bytes = 0;
  for (Job& job : store_->all()) {
    if (!job.finished() || live_.count(job.id)) continue;
    if (options_.ttl_seconds > 0 && job.completed_at + options_.ttl_seconds <= now) {
      remove_files(job.id);
      (void)store_->remove(job.id);
      continue;
    }
    bytes += job.bytes;
    finished.push_back(std::move(job));
  }
  // Over the cap: the oldest go first.
  for (const Job& job : finished) {
    if (options_.max_disk_bytes <= 0 || bytes <= options_.max_disk_bytes) break;
    remove_files(job.id);
    (void)store_->remove(job.id);
    bytes -= job.bytes;
  }
  changed_locked();
}

}  // namespace fastwan::server
