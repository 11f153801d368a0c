// Plain flow Euler (FlowMatchEulerDiscreteScheduler.step): x_{i+1} = x_i + (sigma_{i+1} - sigma_i) v_i. Like
// dmd it runs where the initial noise lives (sampler_ops.h).
#include "sampler/sampler.h"
#include "sampler/sampler_ops.h"
#include "sampler/step_util.h"

namespace fastwan {

Expected<Tensor> sample_euler(const SamplerSchedule& schedule, const Tensor& noise,
                              const VelocityFn& velocity, const SamplerTrace& trace) {
  using namespace sampler_detail;
  FW_RETURN_IF_ERROR(check_schedule(schedule));
  FW_ASSIGN_OR_RETURN(Tensor x, working_copy(noise, "euler sampler initial noise", Residence::any));
  for (int i = 0; i < schedule.steps(); ++i) {
    const SamplerStep step = step_info(schedule, i);
    FW_ASSIGN_OR_RETURN(Tensor v, call_velocity(velocity, x, step));
    emit(trace, "model_out", i, v);
    if (trace)
      emit(trace, "x0", i, data_prediction(x.copy_to(Device::cpu), step.sigma, v.copy_to(Device::cpu)));
    FW_ASSIGN_OR_RETURN(x, euler_step(x, schedule.sigmas[i + 1] - step.sigma, v));
    emit(trace, "latents", i + 1, x);
  }
  return x;
}

}  // namespace fastwan
