// Activations shared by the fused kernels: one definition, so every kernel rounds the same way.
#pragma once

namespace fastwan::cuda {

// GELU with the tanh approximation (PyTorch's approximate="tanh"), in fp32.
__device__ __forceinline__ float gelu_tanh(float v) {
  return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

}  // namespace fastwan::cuda
