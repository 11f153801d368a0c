// dmd_sampler and unipc_sampler golden cases: the sampler loop around the CPU DiT of the case named in
// "dit_case" (a sibling folder), float32 throughout. Every stored tensor that is not an input is compared:
// the schedule (sigma_i / sigmas, timesteps), model_out_i, x0_i, latents_i and final_latents.
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "models/wan_dit/transformer.h"
#include "sampler/sampler.h"
#include "verify/verifiers.h"

namespace fastwan {
namespace {

Expected<std::string> dit_dir(const GoldenCase& c) {
  if (!c.meta.contains("dit_case") || !c.meta["dit_case"].is_string())
    return Error(c.name +
                 "/case.json: missing string field \"dit_case\" (the DiT case folder next to this one)");
  return (std::filesystem::path(c.dir).lexically_normal().parent_path() /
          c.meta["dit_case"].get<std::string>())
      .string();
}

Tensor floats(const std::vector<float>& v) {
  return Tensor::from_floats({static_cast<int64_t>(v.size())}, v);
}

// Runs the loop, then compares every stored tensor except `inputs` with what the run produced.
Expected<VerifyReport> run_and_compare(const GoldenCase& c, const DitBackend& dit,
                                       const SamplerConfig& config, const std::string& noise_name,
                                       const NoiseFn& renoise, std::map<std::string, Tensor> produced,
                                       const std::set<std::string>& inputs) {
  FW_ASSIGN_OR_RETURN(std::string dir, dit_dir(c));
  FW_ASSIGN_OR_RETURN(Tensor context, c.tensor("encoder_hidden_states"));
  FW_ASSIGN_OR_RETURN(Tensor noise, c.tensor(noise_name));
  Expected<VelocityFn> made = dit.make(dir, context, noise.shape());
  if (!made.ok()) return made.error().with_context(c.name + ": loading dit_case");
  const VelocityFn velocity = std::move(made).value();
  auto trace = [&](const std::string& name, const Tensor& t) { produced[name] = t; };
  FW_ASSIGN_OR_RETURN(produced["final_latents"], run_sampler(config, noise, velocity, renoise, trace));
  VerifyReport report;
  for (const auto& name : c.io->names()) {
    if (inputs.count(name)) continue;
    FW_ASSIGN_OR_RETURN(Tensor expected, c.tensor(name));
    auto it = produced.find(name);
    if (it == produced.end())
      report.expect(name, false, "the sampler does not produce this tensor");
    else
      report.compare(name, it->second, expected, dit.tolerance);
  }
  return report;
}

}  // namespace

DitBackend cpu_dit_backend() {
  DitBackend b;
  b.make = [](const std::string& dir, const Tensor& context, const Shape&) -> Expected<VelocityFn> {
    FW_ASSIGN_OR_RETURN(WanTransformer3DModel model, WanTransformer3DModel::load(dir));
    auto shared = std::make_shared<WanTransformer3DModel>(std::move(model));
    return VelocityFn([shared, context](const Tensor& x, const SamplerStep& step) {
      return shared->forward(x, step.timestep, context);
    });
  };
  return b;
}

Expected<VerifyReport> verify_dmd_sampler(const GoldenCase& c, const VerifyOptions&) {
  return verify_dmd_sampler_on(c, cpu_dit_backend());
}

Expected<VerifyReport> verify_unipc_sampler(const GoldenCase& c, const VerifyOptions&) {
  return verify_unipc_sampler_on(c, cpu_dit_backend());
}

Expected<VerifyReport> verify_dmd_sampler_on(const GoldenCase& c, const DitBackend& dit) {
  SamplerConfig config;
  config.kind = SamplerKind::dmd;
  if (!c.meta.contains("steps") || !c.meta["steps"].is_array())
    return Error(c.name + "/case.json: missing array field \"steps\" (the DMD timesteps)");
  for (const auto& t : c.meta["steps"]) {
    if (!t.is_number_integer()) return Error(c.name + "/case.json: \"steps\" holds a non-integer timestep");
    config.dmd_timesteps.push_back(t.get<int64_t>());
  }
  FW_ASSIGN_OR_RETURN(config.flow_shift, number_field(c, "flow_shift"));
  FW_ASSIGN_OR_RETURN(config.num_train_timesteps, int_field(c, "num_train_timesteps"));
  FW_ASSIGN_OR_RETURN(SamplerSchedule schedule, make_schedule(config));

  // The stored noises: noise_0 starts the loop, noise_i re-noises x0 before step i.
  int next_noise = 1;
  NoiseFn renoise = [&](const Shape&) { return c.tensor("noise_" + std::to_string(next_noise++)); };
  std::map<std::string, Tensor> produced;
  std::set<std::string> inputs = {"encoder_hidden_states"};
  for (int i = 0; i < schedule.steps(); ++i) {
    produced["sigma_" + std::to_string(i)] = floats({schedule.sigmas[i]});
    inputs.insert("noise_" + std::to_string(i));
  }
  return run_and_compare(c, dit, config, "noise_0", renoise, std::move(produced), inputs);
}

Expected<VerifyReport> verify_unipc_sampler_on(const GoldenCase& c, const DitBackend& dit) {
  SamplerConfig config;
  config.kind = SamplerKind::unipc;
  FW_ASSIGN_OR_RETURN(config.steps, int_field(c, "num_inference_steps"));
  FW_ASSIGN_OR_RETURN(config.flow_shift, number_field(c, "flow_shift"));
  FW_ASSIGN_OR_RETURN(config.num_train_timesteps, int_field(c, "num_train_timesteps"));
  FW_ASSIGN_OR_RETURN(SamplerSchedule schedule, make_schedule(config));
  std::map<std::string, Tensor> produced = {{"sigmas", floats(schedule.sigmas)},
                                            {"timesteps", floats(schedule.timesteps)}};
  return run_and_compare(c, dit, config, "noise", nullptr, std::move(produced),
                         {"encoder_hidden_states", "noise"});
}

}  // namespace fastwan
