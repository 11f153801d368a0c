#include "cuda/context.h"

#include "cuda/check.h"
#include "cuda/device.h"
#include "ops/cuda/conv.h"
#include "ops/cuda/gemm.h"

namespace fastwan::cuda {

std::shared_ptr<DeviceContext> DeviceContext::create(int ordinal) {
  auto ctx = std::shared_ptr<DeviceContext>(new DeviceContext());
  ctx->ordinal_ = ordinal;
  ctx->make_current();
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

bool DeviceContext::first_use(const void* key) {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.insert(key).second;
}

}  // namespace fastwan::cuda
