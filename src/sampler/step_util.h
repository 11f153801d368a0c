// Helpers shared by the sampler loops (not part of the sampler API).
#pragma once

#include <string>

#include "sampler/sampler.h"

namespace fastwan::sampler_detail {

// Where a loop's latents may live: unipc's arithmetic is host code; dmd and euler run on the tensors'
// device (sampler_ops.h).
enum class Residence { host, any };

// The initial latents as a fresh f32 contiguous host tensor; errors name `what`. With Residence::any a
// device tensor is taken as it is (f32 and contiguous, or an error): the loops never write into their
// operands, so it needs no copy.
Expected<Tensor> working_copy(const Tensor& t, const std::string& what, Residence where = Residence::host);

// Checks that a schedule is well formed for a loop: steps >= 1 and one more sigma than timesteps.
Status check_schedule(const SamplerSchedule& schedule);

SamplerStep step_info(const SamplerSchedule& schedule, int i);

// Calls the velocity function for step i and checks that it returned a tensor shaped like x on x's device
// (as f32; a device velocity must be f32 and contiguous, and is used as it is).
Expected<Tensor> call_velocity(const VelocityFn& velocity, const Tensor& x, const SamplerStep& step);

// x0 = x - sigma * v (float32 products and differences, as torch does with a 0-dim float32 sigma).
Tensor data_prediction(const Tensor& x, float sigma, const Tensor& v);

// Hands `value` to the trace (a device value as a host copy, for the checks that compare on the host).
void emit(const SamplerTrace& trace, const std::string& name, int index, const Tensor& value);

}  // namespace fastwan::sampler_detail
