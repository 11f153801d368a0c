#include "server/job_store.h"

namespace fastwan::server {
namespace {

// Finalizes a prepared statement when it goes out of scope.
struct Statement {
  sqlite3_stmt* s = nullptr;
  ~Statement() { sqlite3_finalize(s); }
};

}  // namespace

Expected<std::unique_ptr<JobStore>> JobStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error(path + ": cannot open the job store (" + message + ")");
  }
  std::unique_ptr<JobStore> store(new JobStore(db));
  // WAL: a killed server leaves a consistent database; seq orders the jobs as they were created.
  auto status = store->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
      "CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,"
      " object TEXT NOT NULL);");
  if (!status) return status.error().with_context(path);
  return store;
}

JobStore::~JobStore() {
  sqlite3_close(db_);
}

Status JobStore::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    Error e("job store: " + std::string(message ? message : "error"));
    sqlite3_free(message);
    return e;
  }
  return Status::Ok();
}

Status JobStore::put(const Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  // An update keeps the job's place (seq): upsert rather than replace.
  Statement st;
  const char* sql =
      "INSERT INTO jobs (id, object) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET object = excluded.object";
  if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK)
    return Error("job store: " + std::string(sqlite3_errmsg(db_)));
  const std::string object = to_json(job, 0).dump();
  sqlite3_bind_text(st.s, 1, job.id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, object.c_str(), static_cast<int>(object.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE) return Error("job store: " + std::string(sqlite3_errmsg(db_)));
  return Status::Ok();
}

std::vector<Job> JobStore::query(const std::string& sql, const std::vector<std::string>& text_args,
                                 const std::vector<int64_t>& int_args) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Job> out;
  Statement st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) return out;
  int i = 1;
  for (const std::string& t : text_args) sqlite3_bind_text(st.s, i++, t.c_str(), -1, SQLITE_TRANSIENT);
  for (int64_t v : int_args) sqlite3_bind_int64(st.s, i++, v);
  while (sqlite3_step(st.s) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    auto j = nlohmann::json::parse(text ? text : "", nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(job_from_json(j));
  }
  return out;
}

std::optional<Job> JobStore::get(const std::string& id) {
  auto jobs = query("SELECT object FROM jobs WHERE id = ?1", {id}, {});
  if (jobs.empty()) return std::nullopt;
  return jobs.front();
}

std::vector<Job> JobStore::list(const std::optional<std::string>& after, size_t limit, bool ascending) {
  const std::string order = ascending ? "ASC" : "DESC";
  const std::string cmp = ascending ? ">" : "<";
  const auto n = static_cast<int64_t>(limit);
  if (after)
    return query("SELECT object FROM jobs WHERE seq " + cmp +
                     " (SELECT seq FROM jobs WHERE id = ?1) ORDER BY seq " + order + " LIMIT ?2",
                 {*after}, {n});
  return query("SELECT object FROM jobs ORDER BY seq " + order + " LIMIT ?1", {}, {n});
}

std::vector<Job> JobStore::all() {
  return query("SELECT object FROM jobs ORDER BY seq ASC", {}, {});
}

Status JobStore::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM jobs WHERE id = ?1", -1, &st.s, nullptr) != SQLITE_OK)
    return Error("job store: " + std::string(sqlite3_errmsg(db_)));
  sqlite3_bind_text(st.s, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE) return Error("job store: " + std::string(sqlite3_errmsg(db_)));
  return Status::Ok();
}

}  // namespace fastwan::server
