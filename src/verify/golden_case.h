// Golden cases (tests/data/golden/README.md): one folder with case.json, config.json, weights and
// io.safetensors. A verifier runs one component on the case's inputs and compares every stored output.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/weight_store.h"
#include "ops/ops.h"
#include "quant/modes.h"

namespace fastwan {

// A case computed in a precision mode states its own bound: case.json "tolerance": {"metric": "rel_l2",
// "max": 0.002}, applied to every stored output.
struct CaseTolerance {
  double max = 0.0;
};

struct GoldenCase {
  std::string dir;
  std::string name;               // folder name, e.g. "wan_dit_tiny"
  std::string component;          // case.json "component"
  nlohmann::json meta;            // case.json
  std::optional<WeightStore> io;  // io.safetensors when the case has one
  // case.json "modes" ({"linear": "fp8"}, ...): the modes the reference ran in; a mode this build does not
  // know fails the load, naming it. Unnamed modes are the exact (bf16 / fp32) defaults.
  quant::ModelOptions modes;
  bool has_modes = false;
  std::optional<CaseTolerance> tolerance;  // case.json "tolerance" (rel_l2), for mode cases

  static Expected<GoldenCase> load(const std::string& dir);
  // An io tensor as f32; error names the case and the tensor.
  Expected<Tensor> tensor(const std::string& name) const;
  std::string path(const std::string& file) const;
};

// A field of the JSON object `j` (case.json, or an object inside it that `where` names, e.g.
// "attn_qat_small/case.json cases.a"); the error names `where` and the field, missing or of the wrong type.
Expected<double> number_field(const nlohmann::json& j, const std::string& key, const std::string& where);
Expected<int> int_field(const nlohmann::json& j, const std::string& key, const std::string& where);
Expected<bool> bool_field(const nlohmann::json& j, const std::string& key, const std::string& where);
Expected<std::string> string_field(const nlohmann::json& j, const std::string& key, const std::string& where);
// The same for a field at the top of case.json; the error names "<case>/case.json".
Expected<double> number_field(const GoldenCase& c, const std::string& key);
Expected<int> int_field(const GoldenCase& c, const std::string& key);

// How a check measures error: max|a-b| / max|b| (the README's rule), max|a-b|, or ||a-b|| / ||b|| (used for
// decoded video from bf16 GPU decoders, where one pixel's rounding should not decide).
enum class Metric { max_rel, max_abs, rel_l2, exact };

struct Check {
  std::string name;
  Metric metric;
  double value;
  double tolerance;
  bool pass;
};

class VerifyReport {
 public:
  // Compares `actual` with `expected`; shape mismatches and NaNs fail.
  void compare(const std::string& name, const Tensor& actual, const Tensor& expected, double tolerance,
               Metric metric = Metric::max_rel);
  // A boolean check with a reason (for ids, counts and the like).
  void expect(const std::string& name, bool ok, const std::string& detail = "");
  bool passed() const;
  const std::vector<Check>& checks() const { return checks_; }
  std::string first_failure() const;
  std::string table() const;  // one line per check

 private:
  std::vector<Check> checks_;
  std::vector<std::string> details_;
};

enum class VerifyDevice { cpu, cuda };

struct VerifyOptions {
  VerifyDevice device = VerifyDevice::cpu;
  quant::KernelChoice kernels = quant::KernelChoice::automatic;  // cuda: the DiT's kernel set
};

using Verifier = std::function<Expected<VerifyReport>(const GoldenCase&, const VerifyOptions&)>;

// The verifier for a case.json "component" on a device, or an error listing what is known.
Expected<Verifier> find_verifier(const std::string& component, VerifyDevice device = VerifyDevice::cpu);
// Adds a verifier; the CUDA backend registers its GPU verifiers at start-up (register_cuda_verifiers()).
void register_verifier(const std::string& component, VerifyDevice device, Verifier verifier);

}  // namespace fastwan
