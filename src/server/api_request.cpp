#include "server/api_request.h"

#include <cmath>
#include <limits>

#include "text/utf8.h"

namespace fastwan::server {
namespace {

using nlohmann::json;

constexpr int kMaxSteps = 1000;

Expected<std::string> text_field(const json& j, const char* name) {
  if (!j.is_string()) return Error(std::string(name) + ": expected a string, got " + j.type_name());
  return j.get<std::string>();
}

template <typename T>
Expected<T> integer_field(const json& j, const char* name) {
  const std::string range =
      std::to_string(std::numeric_limits<T>::min()) + " to " + std::to_string(std::numeric_limits<T>::max());
  if (j.is_number_unsigned()) {
    const auto v = j.get<uint64_t>();
    if (v <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(v);
  } else if (j.is_number_integer()) {
    const auto v = j.get<int64_t>();
    if (v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
        (v < 0 || static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max())))
      return static_cast<T>(v);
  } else {
    return Error(std::string(name) + ": expected an integer, got " + j.type_name());
  }
  return Error(std::string(name) + " " + j.dump() + ": expected an integer from " + range);
}

Expected<double> number_field(const json& j, const char* name) {
  if (!j.is_number()) return Error(std::string(name) + ": expected a number, got " + j.type_name());
  return j.get<double>();
}

// OpenAI sends seconds as a string ("4"); numbers are accepted too.
Expected<double> seconds_field(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (!j.is_string())
    return Error(std::string("seconds: expected a string or a number, got ") + j.type_name());
  const std::string s = j.get<std::string>();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
    return Error("seconds '" + s + "': expected a number of seconds such as \"5\"");
  return v;
}

Status read_field(const std::string& key, const json& v, ParsedRequest& out) {
  GenerateRequest& r = out.request;
  if (key == "prompt") {
    FW_ASSIGN_OR_RETURN(r.prompt, text_field(v, "prompt"));
  } else if (key == "negative_prompt") {
    FW_ASSIGN_OR_RETURN(r.negative_prompt, text_field(v, "negative_prompt"));
  } else if (key == "model") {
    FW_ASSIGN_OR_RETURN(out.model, text_field(v, "model"));
  } else if (key == "size") {
    FW_ASSIGN_OR_RETURN(r.size, text_field(v, "size"));
  } else if (key == "seconds") {
    FW_ASSIGN_OR_RETURN(r.seconds, seconds_field(v));
  } else if (key == "num_frames") {
    FW_ASSIGN_OR_RETURN(r.num_frames, integer_field<int>(v, "num_frames"));
  } else if (key == "fps") {
    FW_ASSIGN_OR_RETURN(r.fps, integer_field<int>(v, "fps"));
  } else if (key == "num_inference_steps") {
    FW_ASSIGN_OR_RETURN(r.num_inference_steps, integer_field<int>(v, "num_inference_steps"));
    // The sampler's schedule is allocated per step: a bound keeps a hostile request from exhausting memory.
    if (*r.num_inference_steps > kMaxSteps)
      return Error("num_inference_steps " + std::to_string(*r.num_inference_steps) + ": expected at most " +
                   std::to_string(kMaxSteps));
  } else if (key == "seed") {
    FW_ASSIGN_OR_RETURN(r.seed, integer_field<uint64_t>(v, "seed"));
  } else if (key == "guidance_scale") {
    FW_ASSIGN_OR_RETURN(r.guidance_scale, number_field(v, "guidance_scale"));
  } else if (key == "flow_shift") {
    FW_ASSIGN_OR_RETURN(r.flow_shift, number_field(v, "flow_shift"));
  } else if (key == "sampler") {
    FW_ASSIGN_OR_RETURN(r.sampler, text_field(v, "sampler"));
  } else if (key == "decoder") {
    FW_ASSIGN_OR_RETURN(r.decoder, text_field(v, "decoder"));
  } else {
    // A field that would be ignored silently is refused: the caller asked for something not done.
    return Error("unknown field '" + key +
                 "' (expected prompt, model, seconds, size, negative_prompt, seed, num_frames, fps, "
                 "num_inference_steps, guidance_scale, flow_shift, sampler, decoder)");
  }
  return Status::Ok();
}

}  // namespace

std::string ApiError::type() const {
  switch (status) {
    case 401:
      return "authentication_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

json ApiError::body() const {
  return {{"error", {{"type", type()}, {"message", message}, {"code", status}}}};
}

std::variant<json, ApiError> parse_json_body(const std::string& body) {
  // nlohmann rejects invalid UTF-8 in strings while parsing.
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return ApiError{400, "body: expected a JSON object (invalid JSON or UTF-8)"};
  return j;
}

std::variant<json, ApiError> form_to_json(const std::vector<std::pair<std::string, std::string>>& fields,
                                          const std::vector<std::string>& files) {
  if (!files.empty())
    return ApiError{400, files.front() + ": files are not accepted (text to video only; no input_reference)"};
  json j = json::object();
  for (const auto& [name, value] : fields) {
    // The parts must be UTF-8, as a JSON body must.
    if (auto decoded = text::utf8_decode(value); !decoded)
      return ApiError{400, name + ": " + decoded.error().message()};
    j[name] = value;
    if (name == "prompt" || name == "negative_prompt" || name == "seconds") continue;
    const json number = json::parse(value, nullptr, false);
    if (!number.is_discarded() && number.is_number()) j[name] = number;
  }
  return j;
}

std::variant<ParsedRequest, ApiError> parse_video_request(const json& j, size_t max_prompt_chars) {
  if (!j.is_object()) return ApiError{400, std::string("body: expected a JSON object, got ") + j.type_name()};
  ParsedRequest out;
  out.given = j;
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;  // null = unset, as OpenAI's clients send omitted fields
    auto status = read_field(key, value, out);
    if (!status) return ApiError{400, status.error().message()};
  }
  if (!j.contains("prompt") || out.request.prompt.find_first_not_of(" \t\r\n") == std::string::npos)
    return ApiError{400, "prompt: required (a non-empty string)"};
  if (out.request.prompt.size() > max_prompt_chars || out.request.negative_prompt.size() > max_prompt_chars)
    return ApiError{413, "prompt: longer than " + std::to_string(max_prompt_chars) +
                             " bytes (the text encoder reads 512 tokens)"};
  return out;
}

}  // namespace fastwan::server
