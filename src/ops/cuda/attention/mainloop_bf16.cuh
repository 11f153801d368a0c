// The consumer math of bf16 operands: S = Q.K^T and O += P.V with bf16 wgmma, P straight from registers
// (the S accumulator layout is the A-fragment layout of the next wgmma). Instantiated twice: plain bf16, and
// Attn-QAT's FP4 attention emulated (Fp4Traits: Q, K, V arrive as φ-quantized bf16 values, the key blocks are
// visited last to first, and P is quantized per 16 keys with φ relative to the running max before the P.V
// product; the row sums stay those of the unquantized P). Software-pipelined as FA3's
// intra-warpgroup overlap: S_j = Q.K_j and O += P_{j-1}.V_{j-1} are issued together, and the softmax of
// block j runs while P_{j-1}.V_{j-1} is still on the tensor cores. The two consumer warpgroups otherwise
// interleave on their own (explicit ping-pong measured slower: docs/performance.md).
#pragma once

#include "ops/cuda/attention/epilogue.cuh"
#include "ops/cuda/attention/pipeline.cuh"

namespace fastwan::cuda::attention {

template <class TraitsT>
struct Bf16Mainloop {
  using Traits = TraitsT;
  static constexpr bool kFp4 = Traits::kReverse;
  using Storage = SharedStorage<Traits>;
  using Ring = RingSlot<Traits::kStages>;

  // S = Q . K^T for this warpgroup's 64 rows (8 k-steps of 16 over head_dim, 4 per 64-column part).
  static __device__ __forceinline__ void issue_qk(const Storage& s, int wg, int stage, float (&sc)[64]) {
    using namespace hopper;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      const uint64_t da = smem_desc_k_major_sw128(s.q[kk / 4] + wg * 64 * 128 + (kk % 4) * 32);
      const uint64_t db = smem_desc_k_major_sw128(s.k[stage][kk / 4] + (kk % 4) * 32);
      wgmma_m64n128k16_ss(sc, da, db, kk > 0);
    }
  }

  // O += P . V: k-step kk covers keys [16 kk, 16 kk + 16) = accumulator chunks 2 kk and 2 kk + 1 of S.
  static __device__ __forceinline__ void issue_pv(const Storage& s, int stage, const uint32_t (&p)[32],
                                                  float (&o)[64]) {
    using namespace hopper;
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      const uint32_t a[4] = {p[4 * kk], p[4 * kk + 1], p[4 * kk + 2], p[4 * kk + 3]};
      const uint64_t db = smem_desc_k_major_sw128(s.vt[stage][kk / 4] + (kk % 4) * 32);
      wgmma_m64n128k16_rs(o, a, db, 1);
    }
  }

  static __device__ __forceinline__ void consume(Storage& s, const KernelArgs& args, const ConsumerThread& t,
                                                 int q_tile, int head) {
    using namespace hopper;
    const int n_blocks = (args.seq_kv + kBlockN - 1) / kBlockN;
    float o[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.0f;
    OnlineSoftmax<0> sm;
    uint32_t p[32];  // P of the block whose P.V product is issued next
    float sc[64];
    auto softmax = [&](int j) {
      const int valid = args.seq_kv - key_block<Traits>(j, n_blocks) * kBlockN;
      const Correction corr = valid >= kBlockN ? sm.update<false>(sc, args.scale_log2, valid, t.col_in_chunk)
                                               : sm.update<true>(sc, args.scale_log2, valid, t.col_in_chunk);
      if constexpr (kFp4) quantize_p(sc);
      return corr;
    };
    mbarrier_wait(&s.q_full, 0);

    // Block 0: S_0 and its softmax (O is zero: no P.V yet).
    mbarrier_wait(&s.k_full[0], 0);
    wgmma_fence();
    issue_qk(s, t.wg, 0, sc);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(sc);
    if (t.lane == 0) mbarrier_arrive(&s.k_empty[0]);
    Correction corr = softmax(0);
    pack_p(sc, p);

    for (int j = 1; j < n_blocks; ++j) {
      const Ring cur(j), prev(j - 1);
      mbarrier_wait(&s.k_full[cur.stage], cur.parity);
      wgmma_fence();
      issue_qk(s, t.wg, cur.stage, sc);
      wgmma_commit();
      rescale(o, corr);  // O (not in flight) to block j-1's running max
      mbarrier_wait(&s.v_full[prev.stage], prev.parity);
      issue_pv(s, prev.stage, p, o);
      wgmma_commit();
      wgmma_wait<1>();  // S_j is done; P_{j-1}.V_{j-1} may still run
      fence_registers(sc);
      if (t.lane == 0) mbarrier_arrive(&s.k_empty[cur.stage]);
      corr = softmax(j);
      wgmma_wait<0>();
      fence_registers(o);
      if (t.lane == 0) mbarrier_arrive(&s.v_empty[prev.stage]);
      pack_p(sc, p);  // only now: P_{j-1} was an operand of the wgmma that just finished
    }
    const Ring last(n_blocks - 1);
    rescale(o, corr);
    mbarrier_wait(&s.v_full[last.stage], last.parity);
    issue_pv(s, last.stage, p, o);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(o);
    store_output<false>(args, t, q_tile, head, o, sm);
  }
};

}  // namespace fastwan::cuda::attention
