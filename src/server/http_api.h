// The HTTP side of `fastwan serve` (cpp-httplib): OpenAI's Videos routes and the extensions in
// docs/server.md, the web page at /, the API key, and the error envelope. The jobs themselves live in the
// JobManager.
#pragma once

#include <memory>
#include <string>

#include "server/job_manager.h"

namespace fastwan::server {

struct HttpOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8080;                 // 0: any free port
  std::string api_key;             // when set, /v1/* needs "Authorization: Bearer KEY" (or ?api_key=KEY)
  size_t max_body_bytes = 1 << 20;
};

class HttpApi {
 public:
  HttpApi(JobManager& jobs, HttpOptions options);
  ~HttpApi();
  // Binds the port (the error names host:port); port() is the one bound.
  Status bind();
  int port() const;
  // Serves until stop() (from another thread).
  void listen();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fastwan::server
