// `fastwan serve` against a real server on a loopback port with a synthesized tiny model: every route, every
// error code and its envelope, cancel, a restart with jobs on disk, the MP4 read back with ffprobe.
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/test_util.h"
#include "server/server_process.h"
#include "video/media_probe.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// 64x48, 9 frames: a job takes about a second on the CPU.
const json kSmall = {{"prompt", "a curious raccoon"},
                     {"size", "64x48"},
                     {"num_frames", 9},
                     {"seed", 7},
                     {"num_inference_steps", 4}};
// Many short steps: seconds of work, cancelled within a step.
const json kSlow = {{"prompt", "x"}, {"size", "64x48"}, {"num_frames", 9}, {"num_inference_steps", 900}};
constexpr auto kJobTimeout = std::chrono::seconds(120);

json body_of(const httplib::Result& r) {
  if (!r) return json();
  return json::parse(r->body, nullptr, false);
}

// The error envelope with `status`, and its message containing `expected`.
void expect_error(const httplib::Result& r, int status, const std::string& expected) {
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, status) << r->body;
  const json b = body_of(r);
  ASSERT_TRUE(b.is_object() && b.contains("error")) << r->body;
  EXPECT_TRUE(b["error"]["type"].is_string()) << r->body;
  const std::string message = b["error"].value("message", "");
  EXPECT_NE(message.find(expected), std::string::npos) << "expected '" << expected << "' in " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line expected: " << message;
}

httplib::Result post(httplib::Client& c, const std::string& path, const json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

// Polls the job until it is finished (bounded).
json wait_finished(httplib::Client& c, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + kJobTimeout;
  json v;
  while (std::chrono::steady_clock::now() < deadline) {
    v = body_of(c.Get(("/v1/videos/" + id).c_str()));
    if (v.is_object() && (v["status"] == "completed" || v["status"] == "failed")) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "job " << id << " did not finish: " << v.dump();
  return v;
}

// Waits until the job runs (bounded).
void wait_running(httplib::Client& c, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + kJobTimeout;
  while (body_of(c.Get(("/v1/videos/" + id).c_str()))["status"] != "in_progress") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << id << " never ran";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string submit(httplib::Client& c, const json& body = kSmall) {
  auto r = post(c, "/v1/videos", body);
  EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  return body_of(r).value("id", "");
}

using ServerApi = test::ServerTest;

TEST_F(ServerApi, AVideoFromRequestToMp4WithEveryRoute) {
  if (!FASTWAN_TEST_MP4) GTEST_SKIP() << "built without libav: no MP4 module";
  auto server = serve("routes");
  ASSERT_TRUE(server);
  auto c = server->client();

  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(body_of(health)["status"], "ok");
  const json models = body_of(c.Get("/v1/models"));
  ASSERT_EQ(models["data"].size(), 1u) << models.dump();
  EXPECT_EQ(models["data"][0]["id"], "m");
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("<video"), std::string::npos);

  // The video object at once, with the effective settings; seconds at 16 fps snap to 4n+1 frames.
  auto created =
      post(c, "/v1/videos",
           {{"prompt", "a red panda"}, {"size", "64x48"}, {"seconds", "0.5"}, {"model", "m"}, {"seed", 3}});
  ASSERT_TRUE(created && created->status == 200) << (created ? created->body : "");
  const json v = body_of(created);
  EXPECT_EQ(v["object"], "video");
  EXPECT_TRUE(v["status"] == "queued" || v["status"] == "in_progress") << v.dump();
  EXPECT_TRUE(v["id"].get<std::string>().starts_with("video_"));
  EXPECT_EQ(v["settings"]["num_frames"], 9);
  EXPECT_EQ(v["settings"]["size"], "64x48");
  EXPECT_EQ(v["settings"]["seed"], 3);
  EXPECT_EQ(v["settings"]["sampler"], "unipc");  // the tiny model is a Wan2.1 base model
  EXPECT_EQ(v["request"]["seconds"], "0.5");
  EXPECT_TRUE(v["completed_at"].is_null());
  const std::string id = v["id"];

  // The event stream: every change until the job is done, progress never going back.
  std::vector<json> events;
  std::string buffer;
  auto stream = c.Get(("/v1/videos/" + id + "/events").c_str(), [&](const char* data, size_t n) {
    buffer.append(data, n);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2))
      if (buffer.starts_with("data: ")) events.push_back(json::parse(buffer.substr(6, end - 6)));
    return true;
  });
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->get_header_value("Content-Type"), "text/event-stream");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["status"], "completed");
  for (size_t i = 1; i < events.size(); ++i) EXPECT_GE(events[i]["progress"], events[i - 1]["progress"]);

  const json done = wait_finished(c, id);
  EXPECT_EQ(done["status"], "completed") << done.dump();
  EXPECT_EQ(done["progress"], 100);
  EXPECT_TRUE(done["completed_at"].is_number());
  EXPECT_TRUE(done["expires_at"].is_number());
  EXPECT_TRUE(done["timings"].contains("denoise")) << done.dump();

  auto mp4 = c.Get(("/v1/videos/" + id + "/content").c_str());
  ASSERT_TRUE(mp4 && mp4->status == 200);
  EXPECT_EQ(mp4->get_header_value("Content-Type"), "video/mp4");
  test::TempDir out;
  test::write_file(out.file("v.mp4"), mp4->body);
  ASSERT_OK_AND_ASSIGN(auto probe, test::probe_video(out.file("v.mp4")));
  EXPECT_EQ(probe.codec, "h264");
  EXPECT_EQ(probe.frames, 9);
  EXPECT_EQ(probe.width, 64);
  EXPECT_EQ(probe.height, 48);
  EXPECT_EQ(probe.r_frame_rate, "16/1");

  auto png = c.Get(("/v1/videos/" + id + "/content?variant=thumbnail").c_str());
  ASSERT_TRUE(png && png->status == 200);
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  ASSERT_GT(png->body.size(), 24u);
  EXPECT_EQ(png->body.substr(1, 3), "PNG");
  EXPECT_EQ(static_cast<uint8_t>(png->body[19]), 64);  // IHDR width, big-endian
  EXPECT_EQ(static_cast<uint8_t>(png->body[23]), 48);  // IHDR height

  // The list: newest first by default, a cursor page with after/limit/order.
  const std::string second = submit(c);
  wait_finished(c, second);
  const json page1 = body_of(c.Get("/v1/videos?limit=1"));
  EXPECT_EQ(page1["object"], "list");
  ASSERT_EQ(page1["data"].size(), 1u);
  EXPECT_EQ(page1["data"][0]["id"], second);
  EXPECT_EQ(page1["has_more"], true);
  const json page2 = body_of(c.Get(("/v1/videos?limit=1&after=" + second).c_str()));
  ASSERT_EQ(page2["data"].size(), 1u);
  EXPECT_EQ(page2["data"][0]["id"], id);
  EXPECT_EQ(page2["has_more"], false);
  const json ascending = body_of(c.Get("/v1/videos?order=asc"));
  ASSERT_EQ(ascending["data"].size(), 2u);
  EXPECT_EQ(ascending["first_id"], id);
  EXPECT_EQ(ascending["last_id"], second);

  // Sync: the MP4 itself.
  auto sync = post(c, "/v1/videos/sync", kSmall);
  ASSERT_TRUE(sync && sync->status == 200) << (sync ? sync->body : "");
  EXPECT_EQ(sync->get_header_value("Content-Type"), "video/mp4");
  EXPECT_TRUE(sync->get_header_value("X-Video-Id").starts_with("video_"));
  test::write_file(out.file("sync.mp4"), sync->body);
  ASSERT_OK_AND_ASSIGN(auto sync_probe, test::probe_video(out.file("sync.mp4")));
  EXPECT_EQ(sync_probe.frames, 9);

  // OpenAI's clients send a multipart form: the same fields, numbers as text.
  const httplib::MultipartFormDataItems form = {{"prompt", "a cat", "", ""},
                                                {"size", "64x48", "", ""},
                                                {"num_frames", "9", "", ""},
                                                {"seed", "11", "", ""}};
  const json from_form = body_of(c.Post("/v1/videos", form));
  EXPECT_EQ(from_form["settings"]["num_frames"], 9) << from_form.dump();
  EXPECT_EQ(from_form["settings"]["seed"], 11) << from_form.dump();
  EXPECT_EQ(wait_finished(c, from_form["id"])["status"], "completed");

  // Delete: the record and the files go.
  auto deleted = c.Delete(("/v1/videos/" + id).c_str());
  ASSERT_TRUE(deleted && deleted->status == 200);
  EXPECT_EQ(body_of(deleted), json({{"id", id}, {"object", "video.deleted"}, {"deleted", true}}));
  expect_error(c.Get(("/v1/videos/" + id).c_str()), 404, id);
  expect_error(c.Get(("/v1/videos/" + id + "/content").c_str()), 404, id);
  EXPECT_FALSE(fs::exists(folder("routes") + ("/" + id + ".mp4")));
  EXPECT_FALSE(fs::exists(folder("routes") + ("/" + id + ".png")));
  EXPECT_TRUE(fs::exists(folder("routes") + ("/" + second + ".mp4")));
  EXPECT_EQ(server->stop(), 0) << server->log();
}

TEST_F(ServerApi, EveryErrorIsAnEnvelopeWithItsCode) {
  auto server = serve("errors", "--queue 1");
  ASSERT_TRUE(server);
  auto c = server->client();
  // 400: the field is named.
  auto raw = [&](const std::string& body) { return c.Post("/v1/videos", body, "application/json"); };
  expect_error(raw("{\"prompt\": "), 400, "invalid JSON");
  expect_error(raw("[1, 2]"), 400, "expected a JSON object");
  expect_error(raw("{\"prompt\": \"a \xff\xfe cat\"}"), 400, "UTF-8");
  expect_error(raw("{}"), 400, "prompt: required");
  expect_error(post(c, "/v1/videos", {{"prompt", "  "}}), 400, "prompt: required");
  expect_error(post(c, "/v1/videos", {{"prompt", 5}}), 400, "prompt: expected a string");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"width", 64}}), 400, "unknown field 'width'");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"size", "big"}}), 400, "size 'big'");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"size", "50x48"}}), 400, "size (width) 50");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"num_frames", 10}}), 400, "num_frames 10");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"num_frames", 9.5}}), 400, "num_frames");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"seconds", "soon"}}), 400, "seconds 'soon'");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"seconds", -1}}), 400, "seconds");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"seed", -1}}), 400, "seed");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"sampler", "magic"}}), 400, "sampler");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"decoder", "magic"}}), 400, "decoder");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"num_inference_steps", 0}}), 400,
               "num_inference_steps 0");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"guidance_scale", -2}}), 400, "guidance_scale");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"num_inference_steps", 2000000000}}), 400,
               "num_inference_steps 2000000000: expected at most 1000");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"seconds", 3000}, {"fps", 240}}), 400,
               "more than 100001 frames");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"fps", 0}}), 400, "fps");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"model", "sora-2"}}), 400, "model 'sora-2'");
  const httplib::MultipartFormDataItems with_file = {{"prompt", "x", "", ""},
                                                     {"input_reference", "\x89PNG", "ref.png", "image/png"}};
  expect_error(c.Post("/v1/videos", with_file), 400, "input_reference: files are not accepted");
  const httplib::MultipartFormDataItems bad_number = {{"prompt", "x", "", ""},
                                                      {"num_frames", "nine", "", ""}};
  expect_error(c.Post("/v1/videos", bad_number), 400, "num_frames: expected an integer");
  expect_error(c.Get("/v1/videos?limit=0"), 400, "limit '0'");
  expect_error(c.Get("/v1/videos?order=up"), 400, "order 'up'");
  expect_error(c.Get("/v1/videos?after=../../etc"), 400, "after");
  // 404: unknown ids, ids that are not ids, unknown routes.
  const std::string unknown = "video_0123456789abcdef0123456789abcdef";
  expect_error(c.Get(("/v1/videos/" + unknown).c_str()), 404, unknown);
  expect_error(c.Get("/v1/videos/..%2F..%2Fjobs.sqlite3/content"), 404, "");  // no route, no file
  expect_error(c.Delete(("/v1/videos/" + unknown).c_str()), 404, unknown);
  expect_error(c.Get(("/v1/videos/" + unknown + "/events").c_str()), 404, unknown);
  expect_error(c.Get("/v2/nothing"), 404, "no such route");
  // 413: the body and the prompt have limits.
  expect_error(raw(std::string(10 << 20, ' ')), 413, "body");
  expect_error(post(c, "/v1/videos", {{"prompt", std::string(100000, 'a')}}), 413, "prompt");
  expect_error(post(c, "/v1/videos", {{"prompt", "x"}, {"size", "1024x1024"}, {"num_frames", 401}}), 413,
               "over this server's limit");
  // 400 for a variant, once a job exists; 429 once the queue (1) is full behind a running job.
  const std::string running = submit(c, kSlow);
  wait_running(c, running);
  expect_error(c.Get(("/v1/videos/" + running + "/content?variant=spritesheet").c_str()), 400,
               "variant 'spritesheet'");
  // One waits in the queue; the next is refused.
  std::vector<std::string> queued;
  for (int i = 0; i < 4; ++i) {
    auto r = post(c, "/v1/videos", kSlow);
    if (!r || r->status != 200) {
      expect_error(r, 429, "queue is full");
      EXPECT_FALSE(r->get_header_value("Retry-After").empty());
      break;
    }
    queued.push_back(body_of(r)["id"]);
  }
  ASSERT_GE(queued.size(), 1u);
  ASSERT_LE(queued.size(), 2u);
  // A job not yet done has no content.
  expect_error(c.Get(("/v1/videos/" + queued.back() + "/content").c_str()), 404, "has no content");
  // Cancel: queued and running jobs go at once.
  for (const std::string& id : queued) EXPECT_EQ(c.Delete(("/v1/videos/" + id).c_str())->status, 200);
  EXPECT_EQ(c.Delete(("/v1/videos/" + running).c_str())->status, 200);
  expect_error(c.Get(("/v1/videos/" + running).c_str()), 404, running);
  // The worker is free again.
  const std::string after = submit(c);
  EXPECT_EQ(wait_finished(c, after)["status"], "completed");
  EXPECT_EQ(body_of(c.Get("/v1/videos"))["data"].size(), 1u);
  EXPECT_EQ(server->stop(), 0) << server->log();
}

TEST_F(ServerApi, TheApiKeyGuardsTheApiButNotThePage) {
  auto server = serve("key", "--api-key s3cret");
  ASSERT_TRUE(server);
  auto c = server->client();
  expect_error(c.Get("/v1/models"), 401, "API key");
  expect_error(post(c, "/v1/videos", kSmall), 401, "API key");
  httplib::Headers wrong = {{"Authorization", "Bearer nope"}};
  expect_error(c.Get("/v1/videos", wrong), 401, "API key");
  httplib::Headers right = {{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(c.Get("/v1/videos", right)->status, 200);
  EXPECT_EQ(c.Get("/v1/videos?api_key=s3cret")->status, 200);  // for <video src> and EventSource
  EXPECT_EQ(c.Get("/")->status, 200);
  EXPECT_EQ(c.Get("/health")->status, 200);
}

TEST_F(ServerApi, FinishedJobsSurviveARestartAndUnfinishedOnesFail) {
  if (!FASTWAN_TEST_MP4) GTEST_SKIP() << "built without libav: no MP4 module";
  std::string kept, killed;
  {
    auto server = serve("restart");
    ASSERT_TRUE(server);
    auto c = server->client();
    kept = submit(c);
    EXPECT_EQ(wait_finished(c, kept)["status"], "completed");
    killed = submit(c, kSlow);
    wait_running(c, killed);
    server->kill_hard();  // mid-job, as a crash or a power cut would
  }
  auto server = serve("restart");
  ASSERT_TRUE(server);
  auto c = server->client();
  const json k = body_of(c.Get(("/v1/videos/" + kept).c_str()));
  EXPECT_EQ(k["status"], "completed") << k.dump();
  auto mp4 = c.Get(("/v1/videos/" + kept + "/content").c_str());
  ASSERT_TRUE(mp4 && mp4->status == 200);
  test::TempDir out;
  test::write_file(out.file("kept.mp4"), mp4->body);
  ASSERT_OK_AND_ASSIGN(auto probe, test::probe_video(out.file("kept.mp4")));
  EXPECT_EQ(probe.frames, 9);
  const json f = body_of(c.Get(("/v1/videos/" + killed).c_str()));
  EXPECT_EQ(f["status"], "failed") << f.dump();
  EXPECT_EQ(f["error"]["code"], "server_restarted") << f.dump();
  // Nothing half-written is left: the store and the kept job's two files.
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(folder("restart")))
    if (!e.path().filename().string().starts_with("jobs.sqlite3")) files.insert(e.path().filename().string());
  EXPECT_EQ(files, std::set<std::string>({kept + ".mp4", kept + ".png"}));
  // Expiry by age: at the next start with a TTL the video has outlived.
  EXPECT_EQ(server->stop(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto expiring = serve("restart", "--expire-after 1");
  ASSERT_TRUE(expiring);
  auto c2 = expiring->client();
  expect_error(c2.Get(("/v1/videos/" + kept).c_str()), 404, kept);
  EXPECT_FALSE(fs::exists(folder("restart") + ("/" + kept + ".mp4")));
}

TEST_F(ServerApi, TheDiskCapRemovesTheOldestVideos) {
  std::string first;
  int64_t bytes = 0;
  {
    auto server = serve("cap");
    ASSERT_TRUE(server);
    auto c = server->client();
    first = submit(c);
    bytes = wait_finished(c, first)["bytes"];
    EXPECT_GT(bytes, 0);
  }
  // Room for one and a half videos: the older goes when the newer is done.
  const double cap_mb = 1.5 * static_cast<double>(bytes) / (1 << 20);
  auto server = serve("cap", "--max-disk-mb " + std::to_string(cap_mb));
  ASSERT_TRUE(server);
  auto c = server->client();
  EXPECT_EQ(body_of(c.Get(("/v1/videos/" + first).c_str()))["status"], "completed");
  const std::string second = submit(c);
  EXPECT_EQ(wait_finished(c, second)["status"], "completed");
  const json list = body_of(c.Get("/v1/videos"));
  ASSERT_EQ(list["data"].size(), 1u) << list.dump();
  EXPECT_EQ(list["data"][0]["id"], second);
  EXPECT_FALSE(fs::exists(folder("cap") + ("/" + first + ".mp4")));
}

}  // namespace
}  // namespace fastwan
