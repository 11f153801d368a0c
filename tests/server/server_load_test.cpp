// `fastwan serve` under load and faults: a bounded burst of 200 requests at a queue of 8 (each accepted and
// completed, or refused with 429; none lost or duplicated), clients that go away mid-request, bodies that
// are malformed, huge or not UTF-8, a kill during a job, and two replicas at once. After each the server
// still serves and the job store agrees with what the clients were told.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "common/test_util.h"
#include "server/server_process.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json kSmall = {
    {"prompt", "a curious raccoon"}, {"size", "64x48"}, {"num_frames", 9}, {"num_inference_steps", 4}};
// Many short steps: seconds of work, cancelled within a step.
const json kSlow = {{"prompt", "x"}, {"size", "64x48"}, {"num_frames", 9}, {"num_inference_steps", 900}};
constexpr int kBurst = 200, kClients = 20;
constexpr auto kDrainTimeout = std::chrono::seconds(300);

json body_of(const httplib::Result& r) {
  return r ? json::parse(r->body, nullptr, false) : json();
}

// Sends raw bytes on a fresh connection and closes it without reading the answer.
void send_and_hang_up(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::close(fd);
}

// Waits until no job is queued or running; the jobs by id.
std::map<std::string, json> drain(httplib::Client& c) {
  const auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
  std::map<std::string, json> jobs;
  while (std::chrono::steady_clock::now() < deadline) {
    jobs.clear();
    bool busy = false;
    for (std::string after;;) {
      const json page = body_of(c.Get(("/v1/videos?order=asc&limit=100" + after).c_str()));
      if (!page.is_object()) break;
      for (const json& v : page["data"]) {
        EXPECT_TRUE(jobs.emplace(v["id"], v).second) << "listed twice: " << v["id"];
        busy = busy || v["status"] == "queued" || v["status"] == "in_progress";
      }
      if (!page["has_more"].get<bool>()) break;
      after = "&after=" + page["last_id"].get<std::string>();
    }
    if (!busy) return jobs;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "jobs still running after 300 s";
  return jobs;
}

using ServerLoad = test::ServerTest;

TEST_F(ServerLoad, ABurstOf200IsEitherAcceptedAndCompletedOrRefusedWith429) {
  auto server = serve("burst", "--queue 8");
  ASSERT_TRUE(server);
  std::mutex mu;
  std::vector<std::string> accepted;
  int refused = 0, other = 0;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t)
    clients.emplace_back([&] {
      auto c = server->client();
      for (int i = 0; i < kBurst / kClients; ++i) {
        auto r = c.Post("/v1/videos", kSmall.dump(), "application/json");
        std::lock_guard<std::mutex> lock(mu);
        if (r && r->status == 200) {
          accepted.push_back(body_of(r)["id"]);
        } else if (r && r->status == 429 && !r->get_header_value("Retry-After").empty()) {
          ++refused;
        } else {
          ++other;
          ADD_FAILURE() << "neither accepted nor 429: "
                        << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
        }
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_EQ(static_cast<int>(accepted.size()) + refused, kBurst);
  EXPECT_GE(accepted.size(), 9u);  // the queue and the running job at least
  EXPECT_GT(refused, 0);
  const std::set<std::string> unique(accepted.begin(), accepted.end());
  EXPECT_EQ(unique.size(), accepted.size()) << "an id was given twice";

  auto c = server->client();
  const auto jobs = drain(c);
  EXPECT_EQ(jobs.size(), accepted.size());
  for (const std::string& id : accepted) {
    auto it = jobs.find(id);
    ASSERT_NE(it, jobs.end()) << "lost: " << id;
    EXPECT_EQ(it->second["status"], "completed") << it->second.dump();
  }
  EXPECT_EQ(server->stop(), 0) << server->log();
}

TEST_F(ServerLoad, BadClientsLeaveTheServerServing) {
  auto server = serve("faults", "--queue 8");
  ASSERT_TRUE(server);
  const int port = server->port();
  // Gone mid-headers, mid-body, right after a whole request, and from an open event stream.
  send_and_hang_up(port, "POST /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Le");
  send_and_hang_up(port,
                   "POST /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: 1000\r\n\r\n{\"prompt\": \"half");
  send_and_hang_up(port,
                   "POST /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: " +
                       std::to_string(kSmall.dump().size()) + "\r\n\r\n" + kSmall.dump());
  send_and_hang_up(port,
                   "POST /v1/videos/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: " +
                       std::to_string(kSmall.dump().size()) + "\r\n\r\n" + kSmall.dump());
  send_and_hang_up(port, std::string(64 << 10, 'G'));
  auto c = server->client();
  const json first = body_of(c.Post("/v1/videos", kSmall.dump(), "application/json"));
  ASSERT_TRUE(first.contains("id")) << first.dump();
  send_and_hang_up(
      port, "GET /v1/videos/" + first["id"].get<std::string>() + "/events HTTP/1.1\r\nHost: x\r\n\r\n");
  // Malformed, huge, endless and not UTF-8.
  EXPECT_EQ(c.Post("/v1/videos", "{\"prompt\": \"x\",,}", "application/json")->status, 400);
  EXPECT_EQ(c.Post("/v1/videos", std::string(10 << 20, '{'), "application/json")->status, 413);
  EXPECT_EQ(
      c.Post("/v1/videos", json{{"prompt", std::string(100000, 'x')}}.dump(), "application/json")->status,
      413);
  EXPECT_EQ(c.Post("/v1/videos", "{\"prompt\": \"\xc3\x28\"}", "application/json")->status, 400);
  EXPECT_EQ(c.Post("/v1/videos", "\xef\xbb\xbf\x00\x01", "application/json")->status, 400);
  // Still serving, and every accepted job (by the hung-up clients too) finishes.
  const auto jobs = drain(c);
  EXPECT_GE(jobs.size(), 1u);
  for (const auto& [id, v] : jobs) EXPECT_EQ(v["status"], "completed") << v.dump();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(server->stop(), 0) << server->log();
}

TEST_F(ServerLoad, AKillDuringAJobThenARestartKeepsTheStoreConsistent) {
  std::string done, running;
  {
    auto server = serve("kill");
    ASSERT_TRUE(server);
    auto c = server->client();
    done = body_of(c.Post("/v1/videos", kSmall.dump(), "application/json"))["id"];
    ASSERT_EQ(drain(c).at(done)["status"], "completed");
    running = body_of(c.Post("/v1/videos", kSlow.dump(), "application/json"))["id"];
    for (int i = 0; i < 3; ++i) c.Post("/v1/videos", kSlow.dump(), "application/json");  // queued behind it
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (body_of(c.Get(("/v1/videos/" + running).c_str()))["progress"] < 5 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    server->kill_hard();
  }
  auto server = serve("kill");
  ASSERT_TRUE(server);
  auto c = server->client();
  const auto jobs = drain(c);
  EXPECT_EQ(jobs.size(), 5u);
  EXPECT_EQ(jobs.at(done)["status"], "completed");
  for (const auto& [id, v] : jobs) {
    if (id == done) continue;
    EXPECT_EQ(v["error"]["code"], "server_restarted") << v.dump();
  }
  // The server takes new work.
  const std::string next = body_of(c.Post("/v1/videos", kSmall.dump(), "application/json"))["id"];
  EXPECT_EQ(drain(c).at(next)["status"], "completed");
  EXPECT_EQ(server->stop(), 0) << server->log();
}

// Two replicas (on the CPU both share its cores; on a GPU machine replica i runs on GPU i): two slow jobs run
// at once, /health counts them, deleting one cancels it alone, and the server then takes new work.
TEST_F(ServerLoad, TwoReplicasRunTwoJobsAtOnce) {
  auto server = serve("replicas", "--replicas 2");
  ASSERT_TRUE(server);
  auto c = server->client();
  EXPECT_EQ(body_of(c.Get("/health"))["replicas"], 2) << server->log();
  const std::string a = body_of(c.Post("/v1/videos", kSlow.dump(), "application/json"))["id"];
  const std::string b = body_of(c.Post("/v1/videos", kSlow.dump(), "application/json"))["id"];
  auto status = [&](const std::string& id) { return body_of(c.Get(("/v1/videos/" + id).c_str()))["status"]; };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool both = false;
  while (!both && std::chrono::steady_clock::now() < deadline) {
    both = status(a) == "in_progress" && status(b) == "in_progress";
    if (!both) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(both) << server->log();
  EXPECT_EQ(body_of(c.Get("/health"))["running"], 2);
  ASSERT_TRUE(c.Delete(("/v1/videos/" + a).c_str()));
  EXPECT_EQ(status(b), "in_progress");
  ASSERT_TRUE(c.Delete(("/v1/videos/" + b).c_str()));
  const std::string next = body_of(c.Post("/v1/videos", kSmall.dump(), "application/json"))["id"];
  EXPECT_EQ(drain(c).at(next)["status"], "completed");
  EXPECT_EQ(server->stop(), 0) << server->log();
}

TEST_F(ServerLoad, StoppingEndsOpenEventStreamsAndSyncRequests) {
  auto server = serve("stop");
  ASSERT_TRUE(server);
  auto c = server->client();
  const std::string id = body_of(c.Post("/v1/videos", kSlow.dump(), "application/json"))["id"];
  std::string stream;
  std::atomic<bool> streaming{false};
  std::thread events([&] {
    auto sc = server->client();
    sc.Get(("/v1/videos/" + id + "/events").c_str(), [&](const char* data, size_t n) {
      stream.append(data, n);
      streaming = true;
      return true;
    });
  });
  int sync_status = 0;
  std::thread waiting([&] {
    auto sc = server->client();
    auto r = sc.Post("/v1/videos/sync", kSlow.dump(), "application/json");
    sync_status = r ? r->status : -1;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (body_of(c.Get(("/v1/videos/" + id).c_str()))["status"] != "in_progress" &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // The stream is open and the sync request's job is queued behind the running one.
  while ((!streaming || body_of(c.Get("/v1/videos"))["data"].size() < 2) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server->stop(), 0) << server->log();
  events.join();
  waiting.join();
  EXPECT_NE(stream.find("in_progress"), std::string::npos) << stream;
  EXPECT_EQ(sync_status, 500);
  // The job that ran failed for the stop; the queued one for the restart.
  auto again = serve("stop");
  ASSERT_TRUE(again);
  auto c2 = again->client();
  const json v = body_of(c2.Get(("/v1/videos/" + id).c_str()));
  EXPECT_EQ(v["error"]["code"], "server_stopped") << v.dump();
}

}  // namespace
}  // namespace fastwan
