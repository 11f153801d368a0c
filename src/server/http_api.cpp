#include "server/http_api.h"

#include <httplib.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>

#include "server/web_page.h"

namespace fastwan::server {
namespace {

using nlohmann::json;

// How long a waiting reader sleeps between looks at its job (the event stream, sync).
constexpr auto kWaitSlice = std::chrono::milliseconds(500);
// An event-stream comment this often, so that a client gone away is noticed.
constexpr int kKeepAliveSlices = 20;
constexpr size_t kDefaultListLimit = 20, kMaxListLimit = 100;
constexpr size_t kHttpThreads = 64;

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.status == 429) res.set_header("Retry-After", "1");
  send_json(res, e.body(), e.status);
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::string error_message_for(int status) {
  switch (status) {
    case 404:
      return "no such route";
    case 413:
      return "body: larger than this server accepts";
    default:
      return "request failed (HTTP " + std::to_string(status) + ")";
  }
}

}  // namespace

struct HttpApi::Impl {
  JobManager& jobs;
  HttpOptions options;
  httplib::Server server;
  int port = 0;

  int listen_fd = -1;

  Impl(JobManager& j, HttpOptions o) : jobs(j), options(std::move(o)) {}

  // httplib 0.11 listens with a backlog of 5: a burst of clients overflows it and some of them are dropped
  // unanswered. The socket is taken here (it is created before bind) so bind() can listen again with the
  // system's maximum. SO_REUSEADDR as httplib sets it; not SO_REUSEPORT, so a second server on the port
  // fails.
  void keep_listen_socket() {
    server.set_socket_options([this](int fd) {
      const int on = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
      listen_fd = fd;
    });
  }

  json object(const Job& job) const { return to_json(job, jobs.ttl_seconds()); }

  // The job of the route's id: a 404 unless the id is one this server made and knows.
  std::optional<Job> find(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    std::optional<Job> job = is_job_id(id) ? jobs.get(id) : std::nullopt;
    if (!job) send_error(res, {404, "video '" + id + "' not found"});
    return job;
  }

  bool authorized(const httplib::Request& req) const {
    if (options.api_key.empty()) return true;
    if (req.get_header_value("Authorization") == "Bearer " + options.api_key) return true;
    return req.has_param("api_key") && req.get_param_value("api_key") == options.api_key;
  }

  // The body as JSON, from a JSON body or a multipart form.
  static std::variant<json, ApiError> body_json(const httplib::Request& req) {
    if (!req.is_multipart_form_data()) return parse_json_body(req.body);
    std::vector<std::pair<std::string, std::string>> fields;
    std::vector<std::string> files;
    for (const auto& [name, part] : req.files) {
      if (part.filename.empty())
        fields.emplace_back(name, part.content);
      else
        files.push_back(name);
    }
    return form_to_json(fields, files);
  }

  std::optional<Job> submit(const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req);
    if (auto* e = std::get_if<ApiError>(&body)) {
      send_error(res, *e);
      return std::nullopt;
    }
    auto parsed = parse_video_request(std::get<json>(body), jobs.options().max_prompt_chars);
    if (auto* e = std::get_if<ApiError>(&parsed)) {
      send_error(res, *e);
      return std::nullopt;
    }
    auto submitted = jobs.submit(std::get<ParsedRequest>(parsed));
    if (auto* e = std::get_if<ApiError>(&submitted)) {
      send_error(res, *e);
      return std::nullopt;
    }
    return std::get<Job>(submitted);
  }

  void create(const httplib::Request& req, httplib::Response& res) {
    if (auto job = submit(req, res)) send_json(res, object(*job));
  }

  // Answers the MP4 itself once the job is done.
  void create_sync(const httplib::Request& req, httplib::Response& res) {
    auto job = submit(req, res);
    if (!job) return;
    const std::string id = job->id;
    uint64_t seen = 0;
    while (job && !job->finished() && !jobs.stopping()) job = jobs.wait_for_change(id, seen, kWaitSlice);
    if (!job) return send_error(res, {404, "video '" + id + "' was deleted before it finished"});
    if (job->status != JobStatus::completed)
      return send_error(res,
                        {500, "video '" + id + "' failed: " +
                                  (job->error_message.empty() ? "server stopping" : job->error_message)});
    send_file(res, jobs.video_path(id), "video/mp4", id);
  }

  void send_file(httplib::Response& res, const std::string& path, const char* type, const std::string& id) {
    std::string bytes;
    if (!read_file(path, bytes)) return send_error(res, {404, "video '" + id + "': its file is gone"});
    res.set_header("X-Video-Id", id);
    res.set_content(std::move(bytes), type);
  }

  void content(const httplib::Request& req, httplib::Response& res) {
    auto job = find(req, res);
    if (!job) return;
    const std::string variant = req.has_param("variant") ? req.get_param_value("variant") : "video";
    if (variant != "video" && variant != "thumbnail")
      return send_error(res, {400, "variant '" + variant + "': expected video or thumbnail"});
    if (job->status != JobStatus::completed)
      return send_error(
          res, {404, "video '" + job->id + "' has no content: it is " + job_status_name(job->status)});
    if (variant == "thumbnail") return send_file(res, jobs.thumbnail_path(job->id), "image/png", job->id);
    send_file(res, jobs.video_path(job->id), "video/mp4", job->id);
  }

  void list(const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> after;
    if (req.has_param("after")) {
      after = req.get_param_value("after");
      if (!is_job_id(*after)) return send_error(res, {400, "after '" + *after + "': expected a video id"});
    }
    size_t limit = kDefaultListLimit;
    if (req.has_param("limit")) {
      const std::string text = req.get_param_value("limit");
      char* end = nullptr;
      const long v = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end || v < 1 || v > static_cast<long>(kMaxListLimit))
        return send_error(res, {400, "limit '" + text + "': expected 1 to " + std::to_string(kMaxListLimit)});
      limit = static_cast<size_t>(v);
    }
    const std::string order = req.has_param("order") ? req.get_param_value("order") : "desc";
    if (order != "asc" && order != "desc")
      return send_error(res, {400, "order '" + order + "': expected asc or desc"});
    std::vector<Job> page = jobs.list(after, limit + 1, order == "asc");
    const bool more = page.size() > limit;
    if (more) page.pop_back();
    json data = json::array();
    for (const Job& job : page) data.push_back(object(job));
    send_json(res, {{"object", "list"},
                    {"data", data},
                    {"first_id", page.empty() ? json(nullptr) : json(page.front().id)},
                    {"last_id", page.empty() ? json(nullptr) : json(page.back().id)},
                    {"has_more", more}});
  }

  // Server-sent events: the video object at once and at each change, until it is finished or deleted.
  void events(const httplib::Request& req, httplib::Response& res) {
    auto job = find(req, res);
    if (!job) return;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [this, id = job->id, seen = uint64_t{0}, sent = std::string(), idle = 0](
                                 size_t, httplib::DataSink& sink) mutable {
          auto now = sent.empty() ? jobs.get(id) : jobs.wait_for_change(id, seen, kWaitSlice);
          std::string chunk;
          if (!now) {
            chunk = "event: deleted\ndata: {\"id\":\"" + id + "\"}\n\n";
          } else if (const std::string data = object(*now).dump(); data != sent) {
            chunk = "data: " + data + "\n\n";
            sent = data;
            idle = 0;
          } else if (++idle % kKeepAliveSlices == 0) {
            chunk = ": keep-alive\n\n";
          }
          if (!chunk.empty() && !sink.write(chunk.data(), chunk.size())) return false;
          if (!now || now->finished() || jobs.stopping()) sink.done();
          return true;
        });
  }

  void remove(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (!is_job_id(id) || !jobs.remove(id)) return send_error(res, {404, "video '" + id + "' not found"});
    send_json(res, {{"id", id}, {"object", "video.deleted"}, {"deleted", true}});
  }

  void health(httplib::Response& res) {
    switch (jobs.state()) {
      case JobManager::State::ready:
        return send_json(res, {{"status", "ok"},
                               {"model", jobs.model_name()},
                               {"replicas", jobs.replicas()},
                               {"running", jobs.running()}});
      case JobManager::State::loading:
        return send_json(res, {{"status", "loading"}, {"model", jobs.model_name()}}, 503);
      case JobManager::State::failed:
        return send_json(res, {{"status", "failed"}, {"error", jobs.load_error()}}, 503);
    }
  }

  void routes() {
    keep_listen_socket();
    server.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
    server.set_payload_max_length(options.max_body_bytes);
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!req.path.starts_with("/v1/") || authorized(req))
        return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, {401, "missing or wrong API key (send Authorization: Bearer KEY)"});
      return httplib::Server::HandlerResponse::Handled;
    });
    // httplib's own answers (no route, body too large) in the same envelope.
    server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) send_error(res, {res.status, error_message_for(res.status)});
    });
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, {500, what});
    });
    using Req = const httplib::Request&;
    using Res = httplib::Response&;
    server.Get("/",
               [](Req, Res res) { res.set_content(std::string(web_page()), "text/html; charset=utf-8"); });
    server.Get("/health", [this](Req, Res res) { health(res); });
    server.Get("/v1/models", [this](Req, Res res) {
      send_json(res, {{"object", "list"},
                      {"data", {{{"id", jobs.model_name()}, {"object", "model"}, {"owned_by", "fastwan"}}}}});
    });
    server.Post("/v1/videos", [this](Req req, Res res) { create(req, res); });
    server.Post("/v1/videos/sync", [this](Req req, Res res) { create_sync(req, res); });
    server.Get("/v1/videos", [this](Req req, Res res) { list(req, res); });
    server.Get("/v1/videos/([^/]+)", [this](Req req, Res res) {
      if (auto job = find(req, res)) {
        if (!job->finished()) res.set_header("openai-poll-after-ms", "500");
        send_json(res, object(*job));
      }
    });
    server.Get("/v1/videos/([^/]+)/content", [this](Req req, Res res) { content(req, res); });
    server.Get("/v1/videos/([^/]+)/events", [this](Req req, Res res) { events(req, res); });
    server.Delete("/v1/videos/([^/]+)", [this](Req req, Res res) { remove(req, res); });
  }
};

HttpApi::HttpApi(JobManager& jobs, HttpOptions options)
    : impl_(std::make_unique<Impl>(jobs, std::move(options))) {
  impl_->routes();
}

HttpApi::~HttpApi() = default;

Status HttpApi::bind() {
  const std::string where = impl_->options.host + ":" + std::to_string(impl_->options.port);
  if (impl_->options.port == 0) {
    impl_->port = impl_->server.bind_to_any_port(impl_->options.host);
    if (impl_->port <= 0) return Error("--host " + where + ": cannot bind a port");
  } else {
    if (!impl_->server.bind_to_port(impl_->options.host, impl_->options.port))
      return Error("--host/--port " + where + ": cannot bind (in use, or not an address of this machine)");
    impl_->port = impl_->options.port;
  }
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  return Status::Ok();
}

int HttpApi::port() const {
  return impl_->port;
}

void HttpApi::listen() {
  impl_->server.listen_after_bind();
}

void HttpApi::stop() {
  impl_->server.stop();
}

}  // namespace fastwan::server
