// The stages of text_to_video as interfaces, one implementation set per device. The CPU set is built in;
// the CUDA backend registers its own at start-up (register_backend(Device::cuda, ...)), and may reuse CPU
// stages it does not replace (start from cpu_backend() and swap fields).
//
// Stages are loaded in turn and released when done (text encoder, then DiT, then decoder), so only one large
// model is resident at once; where the backend allows it the decoder (small) loads beside the DiT's loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "models/common/video_decoder.h"
#include "models/umt5/wan_text_encoder.h"
#include "pipeline/model_folder.h"
#include "quant/modes.h"
#include "sampler/sampler.h"
#include "video/decode_latents.h"

namespace fastwan {

// Prompt -> the DiT's context ([1, 512, text_dim] real rows then zeros, f32 on the host).
class TextEncoderStage {
 public:
  virtual ~TextEncoderStage() = default;
  virtual Expected<PromptEmbedding> encode(std::string_view prompt) = 0;
};

struct DenoiseRequest {
  const PromptEmbedding* positive = nullptr;
  const PromptEmbedding* negative = nullptr;  // set exactly when cfg_scale != 1
  double cfg_scale = 1.0;
  Shape latent_shape;  // [1, C, T, H, W]: every x the sampler passes in has this shape (f32)
};

// The DiT, loaded. velocity() binds it to the prompts: the returned function gives v for (x, step), with
// classifier-free guidance applied when the request asks for it (v_neg + s (v_pos - v_neg)). The function
// refers to this Denoiser and to the request's embeddings, which must outlive it.
//
// x is a host tensor, or without guidance also one on latent_device(): then v is returned on that device
// and stays valid until the function's next call (the sampler loop keeps the latents there, sampler_ops.h).
class Denoiser {
 public:
  virtual ~Denoiser() = default;
  virtual Expected<VelocityFn> velocity(const DenoiseRequest& request) = 0;
  // Where the latents may live besides the host (Device::cpu: only there).
  virtual Device latent_device() const { return Device::cpu; }
};

struct Backend {
  std::string name;  // "cpu", "cuda"
  // The device in words ("NVIDIA H100 80GB HBM3"), or why this backend cannot run on this machine.
  std::function<Expected<std::string>()> probe;
  std::function<Expected<std::unique_ptr<TextEncoderStage>>(const ModelFolder&)> load_text_encoder;
  // Whether the device runs the DiT in these precision modes: a checkpoint's default modes are the ones it
  // was trained with that the device runs (default_model_options).
  std::function<bool(const quant::ModelOptions&)> runs;
  // The DiT in the precision modes asked for (a mode the device cannot run is an error naming both).
  std::function<Expected<std::unique_ptr<Denoiser>>(const ModelFolder&, const quant::ModelOptions&)>
      load_denoiser;
  // The decoders take latents on the host, or on the device where this backend's denoiser keeps them
  // (Denoiser::latent_device): a loop that ran there hands its result over without a copy.
  std::function<Expected<std::unique_ptr<VideoDecoder>>(const ModelFolder&, DecoderKind)> load_decoder;
  // Binds the calling thread to device `index` of this backend (a server replica per GPU): the stages it
  // loads after this live there. The CPU's replicas share its cores and accept any index. Every backend sets
  // it.
  std::function<Status(int index)> use_device;
  // The calling thread's device index (use_device's), so that work handed to another thread runs there too.
  std::function<int()> current_device;
  // Whether a stage may load on a thread of its own while the DiT's loop runs, at no cost to the loop: on the
  // GPU the host only waits for each step, so the decoder's reading, conversion and uploads come free; on the
  // CPU the loop needs every core.
  bool loads_beside_denoise = false;
  // The most device memory the stages held at once so far, in bytes; unset for the CPU (see the host's peak).
  std::function<int64_t()> peak_device_bytes;
};

// The float32 CPU reference stages.
Backend cpu_backend();

// Adds or replaces the backend of a device (the CUDA backend calls this at start-up).
void register_backend(Device device, Backend backend);

Expected<Device> parse_device(const std::string& name);  // "cpu", "cuda" (--device)

struct DeviceChoice {
  Device device = Device::cpu;
  Backend backend;
  std::string note;  // which device and why, e.g. "cpu (no CUDA backend in this build)"
};
// The requested device, checked; without a request: cuda when a CUDA backend is registered and finds a GPU,
// else cpu.
Expected<DeviceChoice> choose_device(std::optional<Device> requested);

}  // namespace fastwan
