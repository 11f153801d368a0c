// A video job as the server keeps it: what was asked, where it is, what came out. Its JSON form is both the
// API's video object (docs/server.md) and the record in the job store.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace fastwan::server {

enum class JobStatus { queued, in_progress, completed, failed };

std::string job_status_name(JobStatus status);

struct Job {
  std::string id;  // "video_" + 32 hex digits, made by the server
  JobStatus status = JobStatus::queued;
  int progress = 0;                          // percent
  std::string stage;                         // the pipeline stage running now ("" before and after)
  int64_t created_at = 0, completed_at = 0;  // unix seconds; completed_at 0 until finished
  std::string model;
  nlohmann::json request;   // the fields given, as given
  nlohmann::json settings;  // the effective settings (size, frames, fps, seed, steps, ...)
  nlohmann::json timings = nlohmann::json::object();  // stage -> seconds
  std::string error_code, error_message;              // when failed
  int64_t bytes = 0;                                  // the files on disk

  bool finished() const { return status == JobStatus::completed || status == JobStatus::failed; }
};

// The API's video object; `expires_at` is completed_at + ttl (null while running or without expiry).
nlohmann::json to_json(const Job& job, int64_t ttl_seconds);
// Reads a stored object back (from_json(to_json(job)) == job for what the store keeps).
Job job_from_json(const nlohmann::json& j);

// "video_" and 32 random hex digits; is_job_id() tells one apart from anything a client could send.
std::string new_job_id();
bool is_job_id(const std::string& text);

}  // namespace fastwan::server
