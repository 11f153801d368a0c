// The per-tensor |x| maximum that FP8 quantization needs, accumulated by the kernels that produce a tensor
// (norms, attention epilogues, fp8_amax): each warp reduces its values, then one lane folds them into the
// device float with an integer atomicMax (non-negative floats order like their bit patterns). The relaxed
// read first skips the atomic once the running maximum is larger, which is most of the time.
#pragma once

namespace fastwan::cuda {

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o));
  return v;
}

// Every lane of a full warp calls this with its own maximum of |x|.
__device__ __forceinline__ void warp_fold_amax(float* amax, float v) {
  v = warp_max(v);
  if ((threadIdx.x % 32) == 0 && v > *reinterpret_cast<volatile float*>(amax))
    atomicMax(reinterpret_cast<int*>(amax), __float_as_int(v));
}

}  // namespace fastwan::cuda
