// The job records on disk: one SQLite database (jobs.sqlite3) beside the output files, so that a restarted
// server serves its finished videos again. Each record is the job's JSON object plus the columns it is
// listed and expired by. Safe to call from several threads (one connection, serialized).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fastwan/status.h"
#include "server/job.h"

namespace fastwan::server {

class JobStore {
 public:
  // Opens or creates the database file (and its table).
  static Expected<std::unique_ptr<JobStore>> open(const std::string& path);
  ~JobStore();

  Status put(const Job& job);  // inserts or replaces
  std::optional<Job> get(const std::string& id);
  // Jobs in creation order (oldest first, or newest first unless `ascending`), starting after the job `after`
  // (when given and known), at most `limit`.
  std::vector<Job> list(const std::optional<std::string>& after, size_t limit, bool ascending);
  std::vector<Job> all();  // oldest first
  Status remove(const std::string& id);

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}
  Status exec(const std::string& sql);
  std::vector<Job> query(const std::string& sql, const std::vector<std::string>& text_args,
                         const std::vector<int64_t>& int_args);

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace fastwan::server
