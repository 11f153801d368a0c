#include "cuda/context.h"

#include "cuda/check.h"
#include "cuda/device.h"
#include "ops/cuda/conv.h"
#include "ops/cuda/gemm.h"

namespace fastwan::cuda {

std::shared_ptr<DeviceContext> DeviceContext::create(int ordinal, std::optional<quant::KernelSet> kernels) {
  auto ctx = std::shared_ptr<DeviceContext>(new DeviceContext());
  ctx->ordinal_ = resolve_device(ordinal);
  ctx->make_current();
  FW_CUDA_CHECK(
      cudaDeviceGetAttribute(&ctx->capability_.major, cudaDevAttrComputeCapabilityMajor, ctx->ordinal_));
  FW_CUDA_CHECK(
      cudaDeviceGetAttribute(&ctx->capability_.minor, cudaDevAttrComputeCapabilityMinor, ctx->ordinal_));
  ctx->kernels_ = kernels.value_or(quant::default_kernel_set(ctx->capability_));
  install_device_allocator();
  FW_CUDA_CHECK(cudaStreamCreate(&ctx->stream_));
  return ctx;
}

DeviceContext::~DeviceContext() {
  if (stream_) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

void DeviceContext::make_current() const {
  FW_CUDA_CHECK(cudaSetDevice(ordinal_));
}

GemmEngine& DeviceContext::gemms() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!gemms_) gemms_ = {new_gemm_engine(), delete_gemm_engine};
  return *gemms_;
}

ConvEngine& DeviceContext::convs() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!convs_) convs_ = {new_conv_engine(), delete_conv_engine};
  return *convs_;
}

Expected<quant::KernelSet> kernel_set_for(const quant::ModelOptions& options, int ordinal) {
  FW_ASSIGN_OR_RETURN(DeviceInfo info, device_info(ordinal));
  const quant::ComputeCapability cc{info.major, info.minor};
  FW_ASSIGN_OR_RETURN(quant::KernelSet set, quant::resolve_kernel_set(options.kernels, cc, info.name));
  if (Status s = quant::kernel_set_supports(set, cc, options); !s.ok())
    return Error(s.error().message() + " (" + info.name + ", --kernels " +
                 std::string(quant::kernel_set_name(set)) + ")");
  return set;
}

Expected<std::shared_ptr<DeviceContext>> context_for(const quant::ModelOptions& options, int ordinal) {
  FW_ASSIGN_OR_RETURN(quant::KernelSet set, kernel_set_for(options, ordinal));
  return DeviceContext::create(ordinal, set);
}

bool DeviceContext::first_use(const void* key) {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.insert(key).second;
}

}  // namespace fastwan::cuda
