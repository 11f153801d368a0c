#include "cuda/check.h"
#include "ops/cuda/sampler.h"

namespace fastwan::cuda {
namespace {

// One element per thread: the steps are bandwidth-bound (a few MB per operand), and a grid that covers n
// needs no loop.
template <SamplerStepOp kOp>
__global__ void sampler_step_kernel(SamplerStepParams p) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.n) return;
  const float a = p.a[i], b = p.b[i];
  if constexpr (kOp == SamplerStepOp::dmd_data_prediction) {
    // The host computes in double and rounds once; double(float) is exact, so only these two roundings and
    // the final one exist on both sides.
    const double d =
        __dsub_rn(static_cast<double>(a), __dmul_rn(static_cast<double>(p.scalar), static_cast<double>(b)));
    p.out[i] = __double2float_rn(d);
  } else if constexpr (kOp == SamplerStepOp::dmd_add_noise) {
    const float keep = __fsub_rn(1.0f, p.scalar);  // the host's 1.0f - sigma
    p.out[i] = __fadd_rn(__fmul_rn(keep, a), __fmul_rn(p.scalar, b));
  } else {
    p.out[i] = __fadd_rn(a, __fmul_rn(p.scalar, b));
  }
}

}  // namespace

void sampler_step(const SamplerStepParams& p, cudaStream_t stream) {
  if (p.n <= 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = (p.n + kThreads - 1) / kThreads;
  FW_CHECK(blocks <= 0x7fffffff, "sampler step: too many elements");
  const dim3 grid(static_cast<unsigned>(blocks));
  switch (p.op) {
    case SamplerStepOp::dmd_data_prediction:
      sampler_step_kernel<SamplerStepOp::dmd_data_prediction><<<grid, kThreads, 0, stream>>>(p);
      break;
    case SamplerStepOp::dmd_add_noise:
      sampler_step_kernel<SamplerStepOp::dmd_add_noise><<<grid, kThreads, 0, stream>>>(p);
      break;
    case SamplerStepOp::euler_step:
      sampler_step_kernel<SamplerStepOp::euler_step><<<grid, kThreads, 0, stream>>>(p);
      break;
  }
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
