// Attn-QAT's forward on Hopper (sm_90a: wgmma, TMA, setmaxnreg), with the numerics of forward.cu (the
// mma.sync kernel every other GPU runs): the attention family's kernel shape (ops/cuda/attention/hopper.cu)
// with 64-key tiles and two accumulators. forward_hopper.cuh has the pipeline and the consumer math.
#include <cuda_bf16.h>

#include "cuda/check.h"
#include "cuda/tensor_map.h"
#include "ops/cuda/attn_qat/forward_hopper.cuh"
#include "ops/cuda/attn_qat/forward_launch.h"

namespace fastwan::cuda::attn_qat {
namespace hopper_forward {
namespace {

// One CTA computes a 128-row query tile of one (batch, head): warpgroup 0 produces (TMA), warpgroups 1 and
// 2 consume 64 rows each. Query tiles run last to first, so that with the causal mask the longest ones
// start first.
template <int D>
__global__ void __launch_bounds__(kThreads, 1)
    forward_kernel(const __grid_constant__ CUtensorMap tm_q, const __grid_constant__ CUtensorMap tm_k,
                   const __grid_constant__ CUtensorMap tm_v, const Args args) {
  extern __shared__ char smem_raw[];
  Storage<D>& s =
      *reinterpret_cast<Storage<D>*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t{1023});
  const int q_tile = gridDim.x - 1 - blockIdx.x, bh = blockIdx.y;
  const int warpgroup = threadIdx.x / 128;
  if (threadIdx.x == 0) s.init_barriers();
  __syncthreads();
  if (warpgroup == 0) {
    hopper::setmaxnreg_dec<24>();
    if (threadIdx.x == 0) produce(s, &tm_q, &tm_k, &tm_v, q_tile, bh, tiles_for(args, q_tile * kBlockM + 64));
    return;
  }
  hopper::setmaxnreg_inc<240>();
  Mainloop<D>::consume(s, args, Thread(warpgroup - 1, threadIdx.x % 128), q_tile, bh);
}

template <int D>
void launch(const ForwardParams& p, cudaStream_t stream) {
  const Problem& pb = p.problem;
  const uint64_t bh = static_cast<uint64_t>(pb.batch_heads), row_bytes = D * 2;
  // Q in [128 rows][64 channels] boxes, K and V in [64 keys][64 channels]; rows past a head's tokens read
  // as zero (the 3rd dimension keeps heads apart).
  const CUtensorMap tm_q =
      make_tensor_map_3d_sw128(p.q, TmaElement::bf16, {D, uint64_t(pb.seq_q), bh},
                               {row_bytes, uint64_t(pb.seq_q) * row_bytes}, {64, kBlockM});
  const std::array<uint64_t, 3> kv_dims{D, uint64_t(pb.seq_k), bh};
  const std::array<uint64_t, 2> kv_strides{row_bytes, uint64_t(pb.seq_k) * row_bytes};
  const CUtensorMap tm_k =
      make_tensor_map_3d_sw128(p.k, TmaElement::bf16, kv_dims, kv_strides, {64, kBlockN});
  const CUtensorMap tm_v =
      make_tensor_map_3d_sw128(p.v, TmaElement::bf16, kv_dims, kv_strides, {64, kBlockN});
  const Args args{p.o,       p.o_prime,    p.lse, p.row_max, pb.seq_q, pb.seq_k, pb.sm_scale * kLog2e,
                  pb.causal, pb.quantize_p};
  constexpr int kSmem = sizeof(Storage<D>) + 1024;  // + the 1024-byte alignment of the swizzled tiles
  FW_CUDA_CHECK(cudaFuncSetAttribute(forward_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
  const dim3 grid((pb.seq_q + kBlockM - 1) / kBlockM, pb.batch_heads);
  forward_kernel<D><<<grid, kThreads, kSmem, stream>>>(tm_q, tm_k, tm_v, args);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace
}  // namespace hopper_forward

void forward_hopper(const ForwardParams& p, cudaStream_t stream) {
  if (p.problem.head_dim == 64)
    hopper_forward::launch<64>(p, stream);
  else
    hopper_forward::launch<128>(p, stream);
}

}  // namespace fastwan::cuda::attn_qat
