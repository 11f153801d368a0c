// Helpers for the GPU tests: skip without a device, upload/download, NaN-poisoned outputs, error metrics.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

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

// The kernel set the GPU tests run where there is a choice: FASTWAN_TEST_KERNELS=hopper or portable (how
// scripts/gpu-check.sh runs every test on the portable set), else auto (the device's own).
inline quant::KernelChoice test_kernels() {
  const char* text = std::getenv("FASTWAN_TEST_KERNELS");
  if (!text || !*text) return quant::KernelChoice::automatic;
  auto choice = quant::parse_kernel_choice(text);
  if (!choice) {
    std::fprintf(stderr, "FASTWAN_TEST_KERNELS: %s\n", choice.error().message().c_str());
    std::exit(2);
  }
  return *choice;
}

// A new context on device 0 running the test kernel set (the model tests: one per model).
inline std::shared_ptr<cuda::DeviceContext> new_context() {
  auto ctx = cuda::context_for(quant::ModelOptions{.kernels = test_kernels()});
  if (!ctx) {
    std::fprintf(stderr, "%s\n", ctx.error().message().c_str());
    std::exit(2);
  }
  return *ctx;
}

// The device context the kernel tests run their ops on (one per test program, device 0).
inline cuda::DeviceContext& context() {
  static std::shared_ptr<cuda::DeviceContext> ctx = new_context();
  return *ctx;
}

// A context running `set` (the attention tests cover both sets in every run), or null where this GPU
// cannot run it (the Hopper set off sm_90).
inline cuda::DeviceContext* context(quant::KernelSet set) {
  static std::shared_ptr<cuda::DeviceContext> contexts[2];
  auto& slot = contexts[static_cast<int>(set)];
  if (!slot) {
    const auto choice =
        set == quant::KernelSet::hopper ? quant::KernelChoice::hopper : quant::KernelChoice::portable;
    auto ctx = cuda::context_for(quant::ModelOptions{.kernels = choice});
    if (!ctx) return nullptr;
    slot = *ctx;
  }
  return slot.get();
}

// The context of `set` in a test body, or skip the test where this GPU has no such kernels.
#define FW_CONTEXT_OR_SKIP(var, set)                                   \
  ::fastwan::cuda::DeviceContext* var = ::fastwan::test::context(set); \
  if (!var)                                                            \
  GTEST_SKIP() << "this GPU does not run the " << ::fastwan::quant::kernel_set_name(set) << " kernels"

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
