#include "server/job.h"

#include <random>

namespace fastwan::server {
namespace {

constexpr const char* kIdPrefix = "video_";
constexpr size_t kIdDigits = 32;

JobStatus parse_status(const std::string& s) {
  if (s == "queued") return JobStatus::queued;
  if (s == "in_progress") return JobStatus::in_progress;
  if (s == "completed") return JobStatus::completed;
  return JobStatus::failed;
}

}  // namespace

std::string job_status_name(JobStatus status) {
  switch (status) {
    case JobStatus::queued:
      return "queued";
    case JobStatus::in_progress:
      return "in_progress";
    case JobStatus::completed:
      return "completed";
    case JobStatus::failed:
      return "failed";
  }
  return "failed";
}

nlohmann::json to_json(const Job& job, int64_t ttl_seconds) {
  using nlohmann::json;
  json j = {
      {"id", job.id},
      {"object", "video"},
      {"model", job.model},
      {"status", job_status_name(job.status)},
      {"progress", job.progress},
      {"stage", job.stage},
      {"created_at", job.created_at},
      {"completed_at", job.completed_at ? json(job.completed_at) : json(nullptr)},
      {"expires_at",
       job.completed_at && ttl_seconds > 0 ? json(job.completed_at + ttl_seconds) : json(nullptr)},
      {"request", job.request},
      {"settings", job.settings},
      {"timings", job.timings},
      {"error", job.error_code.empty() ? json(nullptr)
                                       : json{{"code", job.error_code}, {"message", job.error_message}}},
      {"bytes", job.bytes}};
  // OpenAI's own fields, from the effective settings.
  if (job.settings.contains("size")) j["size"] = job.settings["size"];
  if (job.settings.contains("seconds")) j["seconds"] = job.settings["seconds"];
  if (job.settings.contains("seed")) j["seed"] = job.settings["seed"];
  return j;
}

Job job_from_json(const nlohmann::json& j) {
  Job job;
  job.id = j.value("id", "");
  job.status = parse_status(j.value("status", "failed"));
  job.progress = j.value("progress", 0);
  job.stage = j.value("stage", "");
  job.created_at = j.value("created_at", int64_t{0});
  if (j.contains("completed_at") && j["completed_at"].is_number())
    job.completed_at = j["completed_at"].get<int64_t>();
  job.model = j.value("model", "");
  job.request = j.value("request", nlohmann::json::object());
  job.settings = j.value("settings", nlohmann::json::object());
  job.timings = j.value("timings", nlohmann::json::object());
  if (j.contains("error") && j["error"].is_object()) {
    job.error_code = j["error"].value("code", "");
    job.error_message = j["error"].value("message", "");
  }
  job.bytes = j.value("bytes", int64_t{0});
  return job;
}

std::string new_job_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = kIdPrefix;
  for (size_t i = 0; i < kIdDigits; ++i) id += hex[rng() & 15];
  return id;
}

bool is_job_id(const std::string& text) {
  if (text.size() != std::string(kIdPrefix).size() + kIdDigits || !text.starts_with(kIdPrefix)) return false;
  for (size_t i = std::string(kIdPrefix).size(); i < text.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(text[i])) ||
        std::isupper(static_cast<unsigned char>(text[i])))
      return false;
  return true;
}

}  // namespace fastwan::server
