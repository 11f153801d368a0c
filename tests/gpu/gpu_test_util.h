// Helpers for the GPU tests: skip without a device, upload/download, NaN-poisoned outputs, error metrics.
#pragma once

#include <gtest/gtest.h>

#include "common/test_util.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "models/common/video_decoder.h"
#include "ops/ops.h"

namespace fastwan::test {

#define FW_REQUIRE_GPU()                                                        \
  do {                                                                          \
    if (!::fastwan::cuda::device_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

// The device context the kernel tests run their ops on (one per test program, device 0).
inline cuda::DeviceContext& context() {
  static std::shared_ptr<cuda::DeviceContext> ctx = cuda::DeviceContext::create();
  return *ctx;
}

// A device tensor of `shape` in `dtype`, filled with 0xFF bytes (NaN) so unwritten elements show up.
inline Tensor poisoned(const Shape& shape, DType dtype) {
  cuda::install_device_allocator();
  Tensor t = Tensor::empty(shape, dtype, Device::cuda);
  cuda::poison(t);
  return t;
}

// Relative L2 error of a device result against a host f32 reference; fails on any NaN.
inline double rel_l2(const Tensor& device_result, const Tensor& reference) {
  FW_CUDA_CHECK(cudaDeviceSynchronize());
  const auto d = ops::compare(cuda::to_host(device_result).to_f32(), reference);
  EXPECT_FALSE(d.has_nan) << "NaN (unwritten or overflowed) elements in the GPU result";
  return d.has_nan ? 1e30 : d.rel_l2;
}

// Host tensor rounded to bf16 and back: the values a bf16 kernel actually sees.
inline Tensor bf16_round(const Tensor& t) {
  return t.to(DType::bf16).to_f32();
}

// Every frame a decoder emits, stacked: [frames, 3, H, W].
inline Tensor decode_all(const VideoDecoder& d, const Tensor& latents) {
  std::vector<Tensor> frames;
  const Status s = d.decode(latents, [&](const Tensor& f) {
    frames.push_back(f.reshape({1, f.dim(0), f.dim(1), f.dim(2)}));
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.error().message();
  return frames.empty() ? Tensor() : ops::concat(frames, 0);
}

}  // namespace fastwan::test
