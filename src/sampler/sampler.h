// Samplers: the loop around the denoiser, as pure tensor arithmetic (docs/samplers.md).
//
// A sampler starts from noise at the first sigma and calls a velocity function once per step (twice with
// classifier-free guidance, see guidance.h). The velocity function hides the model: the CPU DiT now, the GPU
// DiT later. Flow matching convention: x_sigma = (1 - sigma) * x0 + sigma * noise, velocity v = noise - x0,
// so the data prediction at a step is x0 = x - sigma * v.
//
//   dmd    FastWan's few-step DMD loop: x0 = x - sigma_i v; re-noise x0 with fresh noise to sigma_{i+1}.
//   unipc  Wan's flow UniPC multistep solver (order 2, bh2, data prediction, lower order at the end).
//   euler  plain flow Euler: x += (sigma_{i+1} - sigma_i) v.
//
// The loops work in float32 on contiguous tensors of any shape (the latents' layout is the caller's). dmd and
// euler run on the device the initial noise is on (host, or a GPU whose backend installed its elementwise
// steps, sampler_ops.h): the velocity function and the re-noising draws then answer on that device too. UniPC
// takes host tensors only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan {

enum class SamplerKind { dmd, unipc, euler };

// "dmd", "unipc" or "euler" (the CLI's --sampler values).
Expected<SamplerKind> parse_sampler_kind(std::string_view name);
std::string_view sampler_kind_name(SamplerKind kind);

struct SamplerConfig {
  SamplerKind kind = SamplerKind::unipc;
  int steps = 50;                      // unipc and euler; dmd takes its steps from dmd_timesteps
  double flow_shift = 3.0;             // unipc/euler: the schedule's shift; dmd: the sigma table's shift
  double cfg_scale = 1.0;              // 1 = guidance off (one velocity call per step)
  std::vector<int64_t> dmd_timesteps;  // dmd: the integer timesteps the DiT sees, e.g. 1000, 757, 522
  int num_train_timesteps = 1000;
  int unipc_order = 2;  // unipc solver order (2 = Wan's)
};

// Defaults per model family; the pipeline picks one and lets flags override fields.
SamplerConfig wan_t2v_sampler_defaults();  // Wan2.1-T2V base: UniPC, 50 steps, shift 3, guidance 5
SamplerConfig fastwan_sampler_defaults();  // FastWan(-QAD) students: DMD 1000/757/522, shift 8, no guidance

// What the sampler tells the velocity function about the current step.
struct SamplerStep {
  int index = 0;       // 0-based
  int count = 0;       // number of steps
  float timestep = 0;  // the value the DiT's timestep embedding receives (an integer for dmd and unipc)
  float sigma = 0;     // noise level of the sample passed in
};

// Returns the velocity prediction for sample x (same shape as x). Errors abort the loop.
using VelocityFn = std::function<Expected<Tensor>(const Tensor& x, const SamplerStep& step)>;
// Returns fresh standard normal noise of the given shape (dmd re-noising), continuing one stream.
using NoiseFn = std::function<Expected<Tensor>(const Shape& shape)>;
// Receives intermediates for checks against golden data: model_out_i (velocity at step i), x0_i (data
// prediction at step i), latents_i (the sample the model sees at step i, i >= 1; latents_N is the result).
using SamplerTrace = std::function<void(const std::string& name, const Tensor& value)>;

// The timesteps and sigmas a config runs: timesteps[i] and sigmas[i] for step i, plus sigmas[N] (0, the
// end of the trajectory).
struct SamplerSchedule {
  std::vector<float> timesteps;
  std::vector<float> sigmas;
  int steps() const { return static_cast<int>(timesteps.size()); }
};

// Checks the config (step counts, shift, guidance scale, timesteps) and returns its schedule.
Expected<SamplerSchedule> make_schedule(const SamplerConfig& config);

// Runs the sampler from `noise` (the initial latents: any float dtype on the host, f32 on a device) and
// returns the final latents (f32, on the same device).
// `renoise` is used by dmd only (steps - 1 calls); guidance is applied by the caller's VelocityFn.
Expected<Tensor> run_sampler(const SamplerConfig& config, const Tensor& noise, const VelocityFn& velocity,
                             const NoiseFn& renoise = nullptr, const SamplerTrace& trace = nullptr);

// The three loops, for callers that hold a schedule already.
Expected<Tensor> sample_dmd(const SamplerSchedule& schedule, const Tensor& noise, const VelocityFn& velocity,
                            const NoiseFn& renoise, const SamplerTrace& trace = nullptr);
Expected<Tensor> sample_unipc(const SamplerSchedule& schedule, int order, const Tensor& noise,
                              const VelocityFn& velocity, const SamplerTrace& trace = nullptr);
Expected<Tensor> sample_euler(const SamplerSchedule& schedule, const Tensor& noise,
                              const VelocityFn& velocity, const SamplerTrace& trace = nullptr);

}  // namespace fastwan
