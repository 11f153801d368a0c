#include "sampler/cuda/sampler_cuda.h"

#include "cuda/device.h"
#include "ops/cuda/sampler.h"
#include "sampler/sampler_ops.h"

namespace fastwan::cuda {
namespace {

// The kernels go on the legacy default stream: the DiT's context stream is a blocking stream (context.h),
// so a step queued here waits for the forward that made its velocity, and the next forward waits for the
// step, with no host synchronization and no stream to pass through the sampler loop.
template <SamplerStepOp kOp>
Tensor run(const Tensor& a, float scalar, const Tensor& b) {
  Tensor out = Tensor::empty(a.shape(), DType::f32, Device::cuda);
  sampler_step(SamplerStepParams{kOp, a.data<float>(), b.data<float>(), scalar, out.data<float>(), a.numel()},
               nullptr);
  return out;
}

constexpr SamplerDeviceOps kOps{
    .dmd_data_prediction =
        [](const Tensor& x, float sigma, const Tensor& v) {
          return run<SamplerStepOp::dmd_data_prediction>(x, sigma, v);
        },
    .dmd_add_noise = [](const Tensor& x0, const Tensor& noise,
                        float sigma) { return run<SamplerStepOp::dmd_add_noise>(x0, sigma, noise); },
    .euler_step = [](const Tensor& x, float dt,
                     const Tensor& v) { return run<SamplerStepOp::euler_step>(x, dt, v); },
};

}  // namespace

void install_sampler_ops() {
  install_device_allocator();
  set_sampler_device_ops(&kOps);
}

}  // namespace fastwan::cuda
