// FastVideo's DMD loop (DmdDenoisingStage): per step x0 = x - sigma_i v, computed in float64 and rounded once
// (pred_noise_to_pred_video); before every step but the first, x = (1 - sigma) x0 + sigma noise with fresh
// noise (add_noise, float32). The result is the last x0.
//
// The loop runs where the initial noise lives (sampler_ops.h): host noise keeps every tensor on the host;
// device noise, device re-noising draws and a velocity function that answers on the device keep the
// latents on the GPU for the whole loop, with the host's bits.
#include <string>

#include "sampler/sampler.h"
#include "sampler/sampler_ops.h"
#include "sampler/step_util.h"

namespace fastwan {

Expected<Tensor> sample_dmd(const SamplerSchedule& schedule, const Tensor& noise, const VelocityFn& velocity,
                            const NoiseFn& renoise, const SamplerTrace& trace) {
  using namespace sampler_detail;
  FW_RETURN_IF_ERROR(check_schedule(schedule));
  const int n = schedule.steps();
  if (n > 1 && !renoise)
    return Error("dmd sampler: " + std::to_string(n) + " steps need a noise source for re-noising");
  FW_ASSIGN_OR_RETURN(Tensor x, working_copy(noise, "dmd sampler initial noise", Residence::any));
  Tensor x0;
  for (int i = 0; i < n; ++i) {
    const SamplerStep step = step_info(schedule, i);
    FW_ASSIGN_OR_RETURN(Tensor v, call_velocity(velocity, x, step));
    FW_ASSIGN_OR_RETURN(x0, dmd_data_prediction(x, step.sigma, v));
    emit(trace, "model_out", i, v);
    emit(trace, "x0", i, x0);
    if (i + 1 == n) break;
    Expected<Tensor> fresh = renoise(x.shape());
    if (!fresh.ok())
      return fresh.error().with_context("dmd sampler re-noising before step " + std::to_string(i + 2));
    FW_ASSIGN_OR_RETURN(Tensor eps, working_copy(*fresh, "dmd sampler re-noising noise", Residence::any));
    if (eps.shape() != x.shape())
      return Error("dmd sampler re-noising noise has shape " + shape_string(eps.shape()) + ", expected " +
                   shape_string(x.shape()));
    FW_ASSIGN_OR_RETURN(x, dmd_add_noise(x0, eps, schedule.sigmas[i + 1]));
    emit(trace, "latents", i + 1, x);
  }
  emit(trace, "latents", n, x0);
  return x0;
}

}  // namespace fastwan
