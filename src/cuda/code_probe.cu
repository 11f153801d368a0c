// Whether this binary carries code for a GPU. The CUDA runtime loads a kernel's SASS for the device's
// architecture, or JIT-compiles its PTX for a newer one; with neither every launch fails ("no kernel image"),
// so the CUDA backend asks once, up front, with an empty kernel compiled like every portable one.
#include "cuda/device.h"

namespace fastwan::cuda {
namespace {

__global__ void code_probe_kernel() {}

}  // namespace

Status check_device_code(const DeviceInfo& info, int ordinal) {
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) previous = 0;
  cudaSetDevice(ordinal == kCurrentDevice ? previous : ordinal);
  cudaFuncAttributes attributes{};
  const cudaError_t e = cudaFuncGetAttributes(&attributes, code_probe_kernel);
  cudaSetDevice(previous);
  if (e == cudaSuccess) return Status::Ok();
  cudaGetLastError();  // not sticky, but leave no error behind
  return Error(info.name + " (compute capability " + std::to_string(info.major) + "." +
               std::to_string(info.minor) + "): this fastwan has no GPU code for it (built for " +
               FASTWAN_CUDA_ARCHS "): " + cudaGetErrorString(e));
}

}  // namespace fastwan::cuda
