// One video as an API asks for it (`POST /v1/videos`): plain data with the field names of OpenAI's Videos API
// and the extensions video servers share (docs/server.md). Unset fields take the model's defaults.
//
// A request becomes a GeneratePlan through the same GenerateFlags and plan_generation() as `fastwan
// generate`, so every check is written once; its errors then name the request's field instead of the flag.
#pragma once

#include <optional>
#include <string>

#include "pipeline/generate_plan.h"

namespace fastwan {

struct GenerateRequest {
  std::string prompt;
  std::string negative_prompt;
  std::optional<std::string> size;  // "WxH", e.g. "832x480"
  std::optional<double> seconds;    // at `fps`, snapped to 4n+1 frames (5 s at 16 fps -> 81)
  std::optional<int> num_frames;    // 4n+1; wins over seconds
  std::optional<int> fps;           // of the file (default 16, the model's)
  std::optional<int> num_inference_steps;
  std::optional<double> guidance_scale;  // 1 = off
  std::optional<double> flow_shift;
  std::optional<std::string> sampler, decoder;
  std::optional<uint64_t> seed;
};

// The frames of `seconds` at `fps`, snapped to the nearest 4n+1 (at least 1).
Expected<int> frames_for_seconds(double seconds, int fps);

// `server` holds what the caller fixes (model, device, precision modes, the output file); the request's
// fields go on top, then plan_generation() checks everything. An error names the field, not the flag.
Expected<GeneratePlan> plan_request(const GenerateRequest& request, GenerateFlags server);

}  // namespace fastwan
