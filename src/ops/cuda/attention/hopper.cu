// The Hopper kernels of the attention family (sm_90a): one kernel template (roles, barriers, register split)
// instantiated per operand type with its mainloop, and the host launch (tensor maps, shared memory).
#include <cuda_bf16.h>

#include "cuda/check.h"
#include "cuda/tensor_map.h"
#include "ops/cuda/attention/launch.h"
#include "ops/cuda/attention/mainloop_bf16.cuh"
#include "ops/cuda/attention/mainloop_sage8.cuh"

namespace fastwan::cuda {
namespace attention {
namespace {

// One CTA computes a 128-row query tile of one head: warpgroup 0 produces (TMA), warpgroups 1 and 2 consume
// 64 rows each.
template <class Mainloop>
__global__ void __launch_bounds__(kThreads, 1)
    attention_kernel(const __grid_constant__ CUtensorMap tm_q, const __grid_constant__ CUtensorMap tm_k,
                     const __grid_constant__ CUtensorMap tm_vt, const KernelArgs args) {
  using Storage = typename Mainloop::Storage;
  extern __shared__ char smem_raw[];
  Storage& s = *reinterpret_cast<Storage*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t{1023});
  const int q_tile = blockIdx.x, head = blockIdx.y;
  const int warpgroup = threadIdx.x / 128;
  if (threadIdx.x == 0) s.init_barriers();
  __syncthreads();
  if (warpgroup == 0) {
    hopper::setmaxnreg_dec<24>();
    if (threadIdx.x == 0)
      produce(s, &tm_q, &tm_k, &tm_vt, q_tile, head, (args.seq_kv + kBlockN - 1) / kBlockN);
    return;
  }
  hopper::setmaxnreg_inc<240>();
  Mainloop::consume(s, args, ConsumerThread(warpgroup - 1, threadIdx.x % 128), q_tile, head);
}

template <class Mainloop>
void launch(DeviceContext& ctx, const AttentionParams& p) {
  using Traits = typename Mainloop::Traits;
  using Shape = TileShape<Traits>;
  constexpr uint64_t kBytes = Traits::kElementBytes;
  const TmaElement element = kBytes == 2 ? TmaElement::bf16 : TmaElement::byte;
  const uint64_t h = static_cast<uint64_t>(p.heads);
  const std::array<uint32_t, 2> box{Shape::kPartElements, 128};
  const CUtensorMap tm_q = make_tensor_map_3d_sw128(p.q, element, {kD, static_cast<uint64_t>(p.seq_q), h},
                                                    {kD * kBytes, uint64_t(p.seq_q) * kD * kBytes}, box);
  const CUtensorMap tm_k = make_tensor_map_3d_sw128(p.k, element, {kD, static_cast<uint64_t>(p.seq_kv), h},
                                                    {kD * kBytes, uint64_t(p.seq_kv) * kD * kBytes}, box);
  // 8-bit V^T: the keys of the last group of 16 are permuted, so the map covers whole groups.
  const uint64_t vt_keys = kBytes == 1 ? (uint64_t(p.seq_kv) + 15) / 16 * 16 : uint64_t(p.seq_kv);
  const CUtensorMap tm_vt =
      make_tensor_map_3d_sw128(p.vt, element, {vt_keys, kD, h},
                               {uint64_t(p.vt_stride) * kBytes, uint64_t(p.vt_stride) * kD * kBytes}, box);
  const KernelArgs args = kernel_args(p);
  const int smem = sizeof(typename Mainloop::Storage) + 1024;
  const dim3 grid((p.seq_q + kBlockM - 1) / kBlockM, p.heads);
  auto* kernel = &attention_kernel<Mainloop>;
  if (ctx.first_use(reinterpret_cast<const void*>(kernel)))  // per device, before capture
    FW_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  kernel<<<grid, kThreads, smem, ctx.stream()>>>(tm_q, tm_k, tm_vt, args);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_hopper(DeviceContext& ctx, const AttentionParams& p) {
  switch (p.operands) {
    case AttentionOperands::bf16:
      return launch<Bf16Mainloop<Bf16Traits>>(ctx, p);
    case AttentionOperands::fp4:
      return launch<Bf16Mainloop<Fp4Traits>>(ctx, p);
    case AttentionOperands::sage8:
      return launch<Sage8Mainloop>(ctx, p);
  }
}

}  // namespace attention
}  // namespace fastwan::cuda
