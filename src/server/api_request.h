// The body of POST /v1/videos (JSON) read into a GenerateRequest, and the OpenAI error envelope. Every
// field is checked for its type here; its value is checked by plan_request() with the model at hand.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "fastwan/status.h"
#include "pipeline/generate_request.h"

namespace fastwan::server {

// An API error: the HTTP status and the OpenAI envelope {"error": {"type", "message", "code"}}.
struct ApiError {
  int status = 400;
  std::string message;

  std::string type() const;  // "invalid_request_error", "authentication_error", ...
  nlohmann::json body() const;
};

struct ParsedRequest {
  GenerateRequest request;
  std::string model;     // "model" as given ("" when absent)
  nlohmann::json given;  // the fields as given, for the video object
};

// `body`: a JSON object. A wrong type or an unknown field is an error naming it; a prompt longer than
// `max_prompt_chars` is a 413.
std::variant<ParsedRequest, ApiError> parse_video_request(const nlohmann::json& body,
                                                          size_t max_prompt_chars);

// The body as JSON: invalid JSON or UTF-8 is a 400.
std::variant<nlohmann::json, ApiError> parse_json_body(const std::string& body);

// OpenAI's clients send the form as multipart/form-data: each part a field whose value is text. Numbers are
// read as JSON numbers so that the form and the JSON body mean the same; a file part is refused.
std::variant<nlohmann::json, ApiError> form_to_json(
    const std::vector<std::pair<std::string, std::string>>& fields, const std::vector<std::string>& files);

}  // namespace fastwan::server
