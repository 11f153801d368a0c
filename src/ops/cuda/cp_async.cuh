// Asynchronous global-to-shared copies (cp.async, sm_80 and later) in 16-byte vectors, with zero fill: the
// bytes past `src_bytes` are written as zeros, so tiles past the end of a matrix need no second path.
#pragma once

#include <cstdint>

namespace fastwan::cuda {

// src must be a valid address even when src_bytes is 0 (nothing is read then).
__device__ __forceinline__ void cp_async_16(void* smem, const void* src, int src_bytes) {
  const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}

// Waits until at most `kPending` of the committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

}  // namespace fastwan::cuda
