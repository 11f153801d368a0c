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
#include "ops/cuda/fp4_attention.cuh"

namespace fastwan::cuda::attention {

template <class TraitsT>
struct Bf16Mainloop {
  using Traits = TraitsT;
  static constexpr bool kFp4 = Traits::kReverse;
  using Storage = SharedStorage<Traits>;
  using Ring = RingSlot<Traits::kStages>;

  // P as bf16 pairs in the A-fragment order of the P.V wgmma.
  static __device__ __forceinline__ void pack_p(const float (&sc)[64], uint32_t (&p)[32]) {
#pragma unroll
    for (int c = 0; c < 16; ++c) {
      p[2 * c] = pack_bf16(sc[4 * c], sc[4 * c + 1]);
      p[2 * c + 1] = pack_bf16(sc[4 * c + 2], sc[4 * c + 3]);
    }
  }

  // φ (unrounded scale) on every 16 keys of each row: a row's 16 keys of a group sit in the four threads of a
  // quad (chunks 2g and 2g + 1, two columns each), so the block amax is a quad reduction.
  static __device__ __forceinline__ void quantize_p(float (&sc)[64]) {
#pragma unroll
    for (int g = 0; g < 8; ++g)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float* x[4] = {&sc[8 * g + 2 * r], &sc[8 * g + 2 * r + 1], &sc[8 * g + 4 + 2 * r],
                       &sc[8 * g + 5 + 2 * r]};
        float a = fmaxf(fmaxf(*x[0], *x[1]), fmaxf(*x[2], *x[3]));  // P >= 0
        a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 1));
        a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 2));
        const Fp4Block block(a);
#pragma unroll
        for (int i = 0; i < 4; ++i) *x[i] = block.unrounded(*x[i]);
      }
  }

  static __device__ __forceinline__ void rescale(float (&o)[64], const Correction& corr) {
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] *= corr.row[(i % 4) / 2];
  }

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
