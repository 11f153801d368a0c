#include "sampler/sampler.h"

#include <cmath>

#include "sampler/schedule.h"
#include "sampler/step_util.h"

namespace fastwan {

Expected<SamplerKind> parse_sampler_kind(std::string_view name) {
  if (name == "dmd") return SamplerKind::dmd;
  if (name == "unipc") return SamplerKind::unipc;
  if (name == "euler") return SamplerKind::euler;
  return Error("sampler '" + std::string(name) + "' is not known (expected dmd, unipc or euler)");
}

std::string_view sampler_kind_name(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::dmd:
      return "dmd";
    case SamplerKind::unipc:
      return "unipc";
    case SamplerKind::euler:
      return "euler";
  }
  return "?";
}

SamplerConfig wan_t2v_sampler_defaults() {
  SamplerConfig c;
  c.kind = SamplerKind::unipc;
  c.steps = 50;
  c.flow_shift = 3.0;
  c.cfg_scale = 5.0;
  return c;
}

SamplerConfig fastwan_sampler_defaults() {
  SamplerConfig c;
  c.kind = SamplerKind::dmd;
  c.dmd_timesteps = {1000, 757, 522};
  c.steps = static_cast<int>(c.dmd_timesteps.size());
  c.flow_shift = 8.0;
  c.cfg_scale = 1.0;
  return c;
}

Expected<SamplerSchedule> make_schedule(const SamplerConfig& config) {
  if (!std::isfinite(config.cfg_scale))
    return Error("cfg scale " + std::to_string(config.cfg_scale) + " is not a finite number");
  switch (config.kind) {
    case SamplerKind::dmd:
      return dmd_schedule(config.dmd_timesteps, config.flow_shift, config.num_train_timesteps);
    case SamplerKind::unipc:
      if (config.unipc_order < 1 || config.unipc_order > 4)
        return Error("unipc order " + std::to_string(config.unipc_order) +
                     " is out of range (expected 1..4)");
      return flow_unipc_schedule(config.steps, config.flow_shift, config.num_train_timesteps);
    case SamplerKind::euler:
      return flow_unipc_schedule(config.steps, config.flow_shift, config.num_train_timesteps);
  }
  return Error("unknown sampler kind");
}

Expected<Tensor> run_sampler(const SamplerConfig& config, const Tensor& noise, const VelocityFn& velocity,
                             const NoiseFn& renoise, const SamplerTrace& trace) {
  FW_ASSIGN_OR_RETURN(SamplerSchedule schedule, make_schedule(config));
  switch (config.kind) {
    case SamplerKind::dmd:
      return sample_dmd(schedule, noise, velocity, renoise, trace);
    case SamplerKind::unipc:
      return sample_unipc(schedule, config.unipc_order, noise, velocity, trace);
    case SamplerKind::euler:
      return sample_euler(schedule, noise, velocity, trace);
  }
  return Error("unknown sampler kind");
}

namespace sampler_detail {

Expected<Tensor> working_copy(const Tensor& t, const std::string& what, Residence where) {
  if (!t.defined() || t.numel() == 0) return Error(what + ": expected a non-empty tensor");
  if (t.device() != Device::cpu) {
    if (where == Residence::host)
      return Error(what + ": expected a host tensor (this sampler runs on the host)");
    if (t.dtype() != DType::f32 || !t.is_contiguous())
      return Error(what + ": a device tensor must be contiguous f32, got " + t.describe());
    return t;
  }
  if (!dtype_is_float(t.dtype()))
    return Error(what + ": dtype " + std::string(dtype_name(t.dtype())) + " is not a float type");
  return t.to_f32();  // always a fresh contiguous copy
}

Status check_schedule(const SamplerSchedule& schedule) {
  if (schedule.timesteps.empty() || schedule.sigmas.size() != schedule.timesteps.size() + 1)
    return Error("sampler schedule: expected N >= 1 timesteps and N + 1 sigmas, got " +
                 std::to_string(schedule.timesteps.size()) + " and " +
                 std::to_string(schedule.sigmas.size()));
  return Status::Ok();
}

SamplerStep step_info(const SamplerSchedule& schedule, int i) {
  return SamplerStep{i, schedule.steps(), schedule.timesteps[i], schedule.sigmas[i]};
}

Expected<Tensor> call_velocity(const VelocityFn& velocity, const Tensor& x, const SamplerStep& step) {
  const std::string where = "sampler step " + std::to_string(step.index + 1) + "/" +
                            std::to_string(step.count) + " (timestep " +
                            std::to_string(static_cast<double>(step.timestep)) + ")";
  if (!velocity) return Error(where + ": no velocity function");
  Expected<Tensor> v = velocity(x, step);
  if (!v.ok()) return v.error().with_context(where);
  if (!v->defined() || v->shape() != x.shape())
    return Error(where + ": velocity has shape " + (v->defined() ? shape_string(v->shape()) : "(none)") +
                 ", expected " + shape_string(x.shape()));
  if (x.device() != Device::cpu) {
    if (v->device() != x.device() || v->dtype() != DType::f32 || !v->is_contiguous())
      return Error(where + ": velocity " + v->describe() + " must be contiguous f32 on the latents' device");
    return *v;
  }
  if (!dtype_is_float(v->dtype()) || v->device() != Device::cpu)
    return Error(where + ": velocity must be a float host tensor");
  return v->dtype() == DType::f32 ? v->contiguous() : v->to_f32();
}

Tensor data_prediction(const Tensor& x, float sigma, const Tensor& v) {
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  const float* px = x.f32();
  const float* pv = v.f32();
  float* po = out.f32();
  for (int64_t i = 0; i < x.numel(); ++i) po[i] = px[i] - sigma * pv[i];
  return out;
}

void emit(const SamplerTrace& trace, const std::string& name, int index, const Tensor& value) {
  if (!trace) return;
  trace(name + "_" + std::to_string(index),
        value.device() == Device::cpu ? value : value.copy_to(Device::cpu));
}

}  // namespace sampler_detail
}  // namespace fastwan
