// wan_dit golden case: one WanTransformer3DModel forward, every stored intermediate compared.
#include <map>
#include <set>

#include "models/wan_dit/transformer.h"
#include "verify/verifiers.h"

namespace fastwan {

Expected<VerifyReport> verify_wan_dit(const GoldenCase& c, const VerifyOptions&) {
  FW_ASSIGN_OR_RETURN(WanTransformer3DModel model, WanTransformer3DModel::load(c.dir, c.modes));
  FW_ASSIGN_OR_RETURN(Tensor latents, c.tensor("hidden_states"));
  FW_ASSIGN_OR_RETURN(Tensor timestep, c.tensor("timestep"));
  FW_ASSIGN_OR_RETURN(Tensor context, c.tensor("encoder_hidden_states"));

  std::map<std::string, Tensor> seen;
  FW_ASSIGN_OR_RETURN(Tensor sample,
                      model.forward(latents, timestep.item_f32(0), context,
                                    [&](const std::string& name, const Tensor& t) { seen[name] = t; }));
  seen["sample"] = sample;

  // Every stored tensor that is not an input is an expected output or intermediate.
  // Exact cases: max-relative 1e-4; cases in a mode: their own relative-L2 bound.
  const double tolerance = c.tolerance ? c.tolerance->max : 1e-4;
  const Metric metric = c.tolerance ? Metric::rel_l2 : Metric::max_rel;
  const std::set<std::string> inputs = {"hidden_states", "timestep", "encoder_hidden_states"};
  VerifyReport report;
  for (const auto& name : c.io->names()) {
    if (inputs.count(name)) continue;
    FW_ASSIGN_OR_RETURN(Tensor expected, c.tensor(name));
    auto it = seen.find(name);
    if (it == seen.end())
      report.expect(name, false, "the model does not produce this intermediate");
    else
      report.compare(name, it->second, expected, tolerance, metric);
  }
  return report;
}

}  // namespace fastwan
