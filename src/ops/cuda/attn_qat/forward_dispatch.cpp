// attn_qat::forward and attn_qat::backward: the wgmma kernel where the device runs sm_90a code and the shape
// is one it takes, else the mma.sync kernel; ForwardParams::kernel or FASTWAN_ATTN_QAT_FORWARD (and
// BackwardParams::kernel or FASTWAN_ATTN_QAT_BACKWARD) pick one explicitly. The Hopper
// objects are built into every CUDA build (sm_90a code only), so both entries always link; what must not
// happen is launching it on another architecture, which has no image for it.
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cuda/check.h"
#include "ops/cuda/attn_qat/backward_launch.h"
#include "ops/cuda/attn_qat/forward_launch.h"

namespace fastwan::cuda::attn_qat {
namespace {

// sm_90 (H100, H200, GH200: the only compute capability 9.x parts) per device ordinal, asked once.
bool device_is_sm90() {
  int device = 0;
  FW_CUDA_CHECK(cudaGetDevice(&device));
  static std::array<std::atomic<int>, 64> cache{};  // 0: not asked yet, 1: sm_90, 2: not
  if (device >= 0 && device < static_cast<int>(cache.size())) {
    const int known = cache[device].load(std::memory_order_relaxed);
    if (known) return known == 1;
  }
  int major = 0, minor = 0;
  FW_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  FW_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  const bool sm90 = major == 9 && minor == 0;
  if (device >= 0 && device < static_cast<int>(cache.size()))
    cache[device].store(sm90 ? 1 : 2, std::memory_order_relaxed);
  return sm90;
}

bool aligned(const void* ptr) {
  return reinterpret_cast<uintptr_t>(ptr) % 16 == 0;
}

// What the TMA tensor maps need: 16-byte aligned bases (the row strides, D * 2 bytes, always are).
bool hopper_takes(const ForwardParams& p) {
  const int d = p.problem.head_dim;
  return (d == 64 || d == 128) && aligned(p.q) && aligned(p.k) && aligned(p.v);
}

// The same for the backward's tensor maps, and its bulk reductions into the dQ accumulator (16-byte aligned
// rows: the workspace's base, D * 4 bytes a row).
bool hopper_takes(const BackwardParams& p) {
  const int d = p.problem.head_dim;
  return (d == 64 || d == 128) && aligned(p.q) && aligned(p.k) && aligned(p.v) && aligned(p.d_o) &&
         aligned(p.workspace);
}

// FASTWAN_ATTN_QAT_FORWARD or _BACKWARD, read at every call (tests switch them between calls).
template <class Kernel>
Kernel environment_choice(const char* variable) {
  const char* text = std::getenv(variable);
  const std::string_view v = text ? text : "";
  if (v.empty() || v == "auto") return Kernel::automatic;
  if (v == "hopper" || v == "wgmma") return Kernel::hopper;
  if (v == "portable" || v == "mma.sync") return Kernel::portable;
  FW_CHECK(false, std::string(variable) + " must be auto, hopper or portable (got '" + std::string(v) + "')");
  return Kernel::automatic;
}

}  // namespace

void forward(const ForwardParams& p, cudaStream_t stream) {
  ForwardKernel kernel = p.kernel == ForwardKernel::automatic
                             ? environment_choice<ForwardKernel>("FASTWAN_ATTN_QAT_FORWARD")
                             : p.kernel;
  if (kernel == ForwardKernel::automatic)
    kernel = hopper_takes(p) && device_is_sm90() ? ForwardKernel::hopper : ForwardKernel::portable;
  if (kernel == ForwardKernel::hopper) {
    FW_CHECK(device_is_sm90(), "attn_qat forward: the hopper kernel needs an sm_90 GPU (H100, H200)");
    FW_CHECK(hopper_takes(p),
             "attn_qat forward: the hopper kernel needs head_dim 64 or 128 and 16-byte "
             "aligned q, k, v");
    forward_hopper(p, stream);
  } else {
    forward_portable(p, stream);
  }
}

void backward(const BackwardParams& p, cudaStream_t stream) {
  BackwardKernel kernel = p.kernel == BackwardKernel::automatic
                              ? environment_choice<BackwardKernel>("FASTWAN_ATTN_QAT_BACKWARD")
                              : p.kernel;
  // Automatic stays the mma.sync kernel until the wgmma one has passed its GPU tests (written without a GPU
  // on 2026-12-08; no device was lent after it): a kernel not checked against the reference is not the
  // default. FASTWAN_ATTN_QAT_BACKWARD=hopper (or BackwardParams::kernel) runs it.
  if (kernel == BackwardKernel::automatic) kernel = BackwardKernel::portable;
  if (kernel == BackwardKernel::hopper) {
    FW_CHECK(device_is_sm90(), "attn_qat backward: the hopper kernel needs an sm_90 GPU (H100, H200)");
    FW_CHECK(hopper_takes(p),
             "attn_qat backward: the hopper kernel needs head_dim 64 or 128 and 16-byte aligned q, k, v, "
             "d_o and workspace");
    backward_hopper(p, stream);
  } else {
    backward_portable(p, stream);
  }
}

}  // namespace fastwan::cuda::attn_qat
