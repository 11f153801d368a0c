// The golden components `fastwan verify` knows, per device. CPU verifiers are built in; the CUDA backend
// adds its own at start-up (src/verify/cuda/).
#include <map>
#include <mutex>

#include "verify/golden_case.h"
#include "verify/verifiers.h"

namespace fastwan {
namespace {

using Key = std::pair<std::string, VerifyDevice>;

std::map<Key, Verifier>& registry() {
  static std::map<Key, Verifier> r = {
      {{"wan_dit", VerifyDevice::cpu}, verify_wan_dit},
      {{"dmd_sampler", VerifyDevice::cpu}, verify_dmd_sampler},
      {{"unipc_sampler", VerifyDevice::cpu}, verify_unipc_sampler},
      {{"torch_cpu_rng", VerifyDevice::cpu}, verify_torch_cpu_rng},
      {{"umt5_encoder", VerifyDevice::cpu}, verify_umt5_encoder},
      {{"umt5_tokenizer", VerifyDevice::cpu}, verify_umt5_tokenizer},
      {{"taehv_decoder", VerifyDevice::cpu}, verify_taehv},
      {{"wan_vae_decoder", VerifyDevice::cpu}, verify_wan_vae},
      {{"attn_qat", VerifyDevice::cpu}, verify_attn_qat},
  };
  return r;
}

// Components with a CPU verifier whose GPU code is not an inference stage, and where their kernels are
// checked.
const std::map<std::string, std::string>& no_cuda_verifier() {
  static const std::map<std::string, std::string> why = {
      {"attn_qat",
       "Attn-QAT's GPU kernels are training kernels, checked against the same reference by gpu_tests "
       "(AttnQatGpu) and python/tests"},
  };
  return why;
}

std::mutex g_mu;

}  // namespace

void register_verifier(const std::string& component, VerifyDevice device, Verifier verifier) {
  std::lock_guard<std::mutex> lock(g_mu);
  registry()[{component, device}] = std::move(verifier);
}

Expected<Verifier> find_verifier(const std::string& component, VerifyDevice device) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = registry().find({component, device});
  if (it != registry().end()) return it->second;
  std::string known;
  bool on_cpu = false;
  for (const auto& [key, v] : registry()) {
    if (key.second != device) {
      on_cpu |= key.first == component;
      continue;
    }
    known += (known.empty() ? "" : ", ") + key.first;
  }
  const char* dev = device == VerifyDevice::cpu ? "cpu" : "cuda";
  if (device == VerifyDevice::cuda) {
    if (auto why = no_cuda_verifier().find(component); why != no_cuda_verifier().end())
      return Error("golden component '" + component + "' has no cuda path: " + why->second);
  }
  if (on_cpu)
    return Error("golden component '" + component + "' has no " + dev + " path in this build" +
                 (device == VerifyDevice::cuda ? " (built without CUDA, or no GPU stage yet)" : ""));
  return Error("unknown golden component '" + component + "' (known on " + dev + ": " +
               (known.empty() ? std::string("none") : known) + ")");
}

}  // namespace fastwan
