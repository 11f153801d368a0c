// The pieces of Attn-QAT's Hopper backward (backward_hopper.cu has the kernel, its consumer loop and the
// launch): shared memory, the producer warpgroup (TMA for the tiles, plain loads for the per-query rows),
// and the PTX this kernel needs beyond ops/cuda/hopper.cuh (named barriers, the bulk fp32 reduction into
// global memory, the transposed-A wgmma of dQ).
//
// A CTA owns 128 keys (consumer warpgroup w the 64 keys 64 w.., as the rows of S^T) and walks the query
// tiles of 64 rows: K^ and V^ arrive once, Q^ and dO tiles (and their LSE, D, row max) through a 2-stage
// ring, each as TMA writes [rows][64 channels] boxes with the 128-byte swizzle. Every operand is read as it
// lies in memory:
//   S^T = K^ Q^T, dP^T = V^ dO^T   both K-major (the forward's S = Q K^T with the roles swapped)
//   dV += P~^T dO, dK += dS^T Q^   P~^T, dS^T from registers, dO and Q^ N-major (the forward's P.V)
//   dQ = dS (K^ - k)               dS^T from shared memory as an M-major A, K^ - k N-major
// so no transposed copy of anything is made.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "ops/cuda/attention/pipeline.cuh"
#include "ops/cuda/attn_qat/attn_qat.h"
#include "ops/cuda/attn_qat/wgmma_n64.cuh"

namespace fastwan::cuda::attn_qat::hopper_backward {

constexpr int kKeys = 128;                   // per CTA, 64 per consumer warpgroup
constexpr int kQueries = 64;                 // per step
constexpr int kThreads = 3 * 128;            // producer warpgroup + 2 consumer warpgroups
constexpr int kStages = 2;                   // Q^/dO ring depth (shared memory is full at D = 128)
constexpr int kKvPartBytes = kKeys * 128;    // [128 keys][64 channels] bf16, one TMA box
constexpr int kQPartBytes = kQueries * 128;  // [64 queries][64 channels]
constexpr int kConsumerWarps = 8;
constexpr float kLog2e = 1.4426950408889634f;

struct Args {
  float* dq_accum;  // the workspace's fp32 dQ accumulator [batch * heads][seq_q][D], zeroed
  const float *delta, *lse, *row_max;
  __nv_bfloat16 *dk, *dv;
  int seq_q, seq_k;
  float c, sm_scale;  // c = sm_scale * log2(e)
  bool causal;
  DvP dv_p;
};

// dQ = dS K^ of a query tile is 64 x D: each consumer warpgroup takes a 64 x 64 piece (32 accumulator
// registers). At D = 128 by channels (over all 128 keys: both warpgroups' dS^T are read, so they meet at a
// barrier), at D = 64 by keys (each over its own 64, the two partial sums meet in the global accumulator).
template <int D>
struct DqSplit {
  static constexpr bool kByChannel = D == 128;
  static constexpr int kKeysPerProduct = kByChannel ? kKeys : kKeys / 2;
  static constexpr int kBarrierThreads = kByChannel ? 256 : 128;  // who shares dS^T and its row sums
  static constexpr int kBuffers = kByChannel ? 1 : 2;             // fp32 staging tiles of dQ
  static __device__ __forceinline__ int barrier(int wg) { return kByChannel ? 1 : 2 + wg; }
  static __device__ __forceinline__ int first_key(int wg) { return kByChannel ? 0 : 64 * wg; }
  static __device__ __forceinline__ int first_channel(int wg) { return kByChannel ? 64 * wg : 0; }
  static __device__ __forceinline__ int buffer(int wg) { return kByChannel ? 0 : wg; }
};

template <int D>
struct Storage {
  static constexpr int kParts = D / 64;  // 128-byte-wide column slices (TMA boxes) of a row
  static constexpr int kDqLd = D + 8;    // floats; the padding keeps the fragment stores conflict-free
  alignas(1024) char k[kParts][kKvPartBytes];
  alignas(1024) char v[kParts][kKvPartBytes];
  alignas(1024) char k_centered[kParts][kKvPartBytes];  // K^ minus k (its mean over the valid keys)
  alignas(1024) char q[kStages][kParts][kQPartBytes];
  alignas(1024) char d_o[kStages][kParts][kQPartBytes];
  alignas(1024) char ds[kKeys * 128];  // bf16(dS^T) [128 keys][64 queries], swizzled as TMA would
  alignas(16) float dq[DqSplit<D>::kBuffers][kQueries][kDqLd];
  float lse[kStages][kQueries], delta[kStages][kQueries], row_max[kStages][kQueries];
  float ds_sum[kConsumerWarps][kQueries];  // per warp: each query's sum of dS over the warp's 16 keys
  float k_mean[D];
  uint64_t kv_full, q_full[kStages], q_empty[kStages];

  __device__ void init_barriers() {
    using namespace hopper;
    mbarrier_init(&kv_full, 1);
    for (int i = 0; i < kStages; ++i) {
      mbarrier_init(&q_full[i], 1 + 3 * 32);  // the TMA thread's expect_tx, the row warps' lanes
      mbarrier_init(&q_empty[i], kConsumerWarps);
    }
    fence_barrier_init();
  }
};

using Slot = attention::RingSlot<kStages>;  // query tile j's stage and phase parity

// Thread 0 of the producer warpgroup: K^ and V^ once, then Q^ and dO of every query tile into the ring.
// Rows past a head's tokens are zero-filled by TMA; the transaction count is the whole box regardless.
template <int D>
__device__ __forceinline__ void produce_tiles(Storage<D>& s, const CUtensorMap* tm_q, const CUtensorMap* tm_k,
                                              const CUtensorMap* tm_v, const CUtensorMap* tm_do, int n0,
                                              int bh, int m_begin, int n_steps) {
  using namespace hopper;
  constexpr int kParts = Storage<D>::kParts;
  prefetch_tensor_map(tm_q);
  prefetch_tensor_map(tm_k);
  prefetch_tensor_map(tm_v);
  prefetch_tensor_map(tm_do);
  mbarrier_arrive_expect_tx(&s.kv_full, 2 * kParts * kKvPartBytes);
#pragma unroll
  for (int p = 0; p < kParts; ++p) {
    tma_load_3d(s.k[p], tm_k, &s.kv_full, p * 64, n0, bh);
    tma_load_3d(s.v[p], tm_v, &s.kv_full, p * 64, n0, bh);
  }
  for (int j = 0; j < n_steps; ++j) {
    const Slot slot(j);
    const int m0 = m_begin + j * kQueries;
    if (j >= kStages) mbarrier_wait(&s.q_empty[slot.stage], slot.parity ^ 1);
    mbarrier_arrive_expect_tx(&s.q_full[slot.stage], 2 * kParts * kQPartBytes);
#pragma unroll
    for (int p = 0; p < kParts; ++p) {
      tma_load_3d(s.q[slot.stage][p], tm_q, &s.q_full[slot.stage], p * 64, m0, bh);
      tma_load_3d(s.d_o[slot.stage][p], tm_do, &s.q_full[slot.stage], p * 64, m0, bh);
    }
  }
}

// Warps 1, 2 and 3 of the producer warpgroup: each query tile's LSE, D or row max (src; null: zeros) into
// the same stage (plain loads: a TMA box of one float row would need seq_q % 4 == 0). Queries past seq_q
// get 0 (they are masked). One array per warp: the producer warpgroup runs on 24 registers.
__device__ __forceinline__ void produce_rows(uint64_t (&q_full)[kStages], uint64_t (&q_empty)[kStages],
                                             float (&dst)[kStages][kQueries], const float* src, int seq_q,
                                             int bh, int m_begin, int n_steps, int lane) {
  using namespace hopper;
  if (src) src += static_cast<size_t>(bh) * seq_q;
  for (int j = 0; j < n_steps; ++j) {
    const Slot slot(j);
    const int m0 = m_begin + j * kQueries;
    if (j >= kStages) mbarrier_wait(&q_empty[slot.stage], slot.parity ^ 1);
#pragma unroll
    for (int i = lane; i < kQueries; i += 32) dst[slot.stage][i] = src && m0 + i < seq_q ? src[m0 + i] : 0.0f;
    mbarrier_arrive(&q_full[slot.stage]);  // release: the stores above are seen by the waiting consumers
  }
}

// ---- PTX beyond ops/cuda/hopper.cuh ----------------------------------------------------------------------

// bar.sync on a named barrier among `threads` threads (a multiple of 32; id 0 is __syncthreads').
__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// Orders this thread's generic-proxy shared-memory stores before later async-proxy reads (wgmma operands,
// bulk copies) of the same bytes, once a barrier has passed.
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// global[0 .. bytes) += shared[0 .. bytes) (fp32, element-wise atomic), both 16-byte aligned; completes in
// this thread's bulk group.
__device__ __forceinline__ void bulk_reduce_add_f32(float* global, const float* shared, uint32_t bytes) {
  asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(global),
               "r"(hopper::smem_addr(shared)), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void bulk_commit() {
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
}
// The shared source of this thread's bulk groups may be overwritten.
__device__ __forceinline__ void bulk_wait_read() {
  asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
}
// This thread's bulk groups are complete (the writes to global memory included).
__device__ __forceinline__ void bulk_wait() {
  asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
}

#define FW_QATB_ACC32(c, d)                                                                               \
  c(d[0]), c(d[1]), c(d[2]), c(d[3]), c(d[4]), c(d[5]), c(d[6]), c(d[7]), c(d[8]), c(d[9]), c(d[10]),     \
      c(d[11]), c(d[12]), c(d[13]), c(d[14]), c(d[15]), c(d[16]), c(d[17]), c(d[18]), c(d[19]), c(d[20]), \
      c(d[21]), c(d[22]), c(d[23]), c(d[24]), c(d[25]), c(d[26]), c(d[27]), c(d[28]), c(d[29]), c(d[30]), \
      c(d[31])
#define FW_QATB_INOUT(x) "+f"(x)
#define FW_QATB_OUT(x) "=f"(x)
#define FW_QATB_D32                                                                                       \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, " \
  "%22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"

// D (64x64 fp32) (+)= A . B with both operands MN-major in shared memory (imm-trans-a = imm-trans-b = 1):
// dQ's product, A = dS read from dS^T [keys][queries], B = K^ - k as it lies, [keys][channels]. The first
// k-step writes D without reading it (no false liveness of the accumulator before it).
__device__ __forceinline__ void m64n64k16_ss_tt_fresh(float (&d)[32], uint64_t desc_a, uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 0, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " FW_QATB_D32 ", %32, %33, p, 1, 1, 1, 1;\n}\n"
      : FW_QATB_ACC32(FW_QATB_OUT, d)
      : "l"(desc_a), "l"(desc_b));
}
__device__ __forceinline__ void m64n64k16_ss_tt(float (&d)[32], uint64_t desc_a, uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " FW_QATB_D32 ", %32, %33, p, 1, 1, 1, 1;\n}\n"
      : FW_QATB_ACC32(FW_QATB_INOUT, d)
      : "l"(desc_a), "l"(desc_b));
}

#undef FW_QATB_ACC32
#undef FW_QATB_INOUT
#undef FW_QATB_OUT
#undef FW_QATB_D32

}  // namespace fastwan::cuda::attn_qat::hopper_backward
