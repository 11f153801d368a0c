// The consumer math of SageAttention2's 8-bit operands (sage_attention_sm90.md §1.5, §7.1):
//   S = Q_i8 . K_i8 with the s8 wgmma (exact in int32), dequantized inside the exponent: with
//   c = softmax scale * log2(e) * q_scale[thread's rows] * k_scale[block, thread's key group],
//   P = 2^(S c - m) in (0, 448], m the running max minus 8.807; l sums the fp32 P;
//   P to e4m3 (round to nearest even, saturating), packed straight into the A fragment of the e4m3 wgmma: the
//   thread holding S columns {2t, 2t+1, 8+2t, 9+2t} of a 16-key group supplies A k-slots {4t..4t+3}, which is
//   why V^T's keys are stored permuted within groups of 16 (sage_quant.h);
//   O_tmp = P_e4m3 . V_e4m3 per 128-key block into a fresh accumulator (the FP8 wgmma keeps only ~22 bits),
//   then O = O * 2^(m_old - m_new) + O_tmp in fp32 on the CUDA cores: the two-level accumulation.
#pragma once

#include "ops/cuda/attention/epilogue.cuh"
#include "ops/cuda/attention/pipeline.cuh"
#include "ops/cuda/attention/sage8_fragment.cuh"

namespace fastwan::cuda::attention {

struct Sage8Mainloop {
  using Traits = Sage8Traits;
  using Storage = SharedStorage<Traits>;
  using Ring = RingSlot<Traits::kStages>;

  // S = Q_i8 . K_i8^T for this warpgroup's 64 rows: 4 k-steps of 32 bytes over one 128-byte part.
  static __device__ __forceinline__ void issue_qk(const Storage& s, int wg, int stage, int (&si)[64]) {
    using namespace hopper;
#pragma unroll
    for (int kk = 0; kk < kD / 32; ++kk) {
      const uint64_t da = smem_desc_k_major_sw128(s.q[0] + wg * 64 * 128 + kk * 32);
      const uint64_t db = smem_desc_k_major_sw128(s.k[stage][0] + kk * 32);
      wgmma_m64n128k32_s8_ss(si, da, db, kk > 0);
    }
  }

  // O_tmp = P . V (fresh accumulator): 4 k-steps of 32 keys.
  static __device__ __forceinline__ void issue_pv(const Storage& s, int stage, const uint32_t (&p)[16],
                                                  float (&ot)[64]) {
    using namespace hopper;
#pragma unroll
    for (int kk = 0; kk < kBlockN / 32; ++kk) {
      const uint32_t a[4] = {p[4 * kk], p[4 * kk + 1], p[4 * kk + 2], p[4 * kk + 3]};
      const uint64_t db = smem_desc_k_major_sw128(s.vt[stage][0] + kk * 32);
      if (kk == 0)
        wgmma_m64n128k32_e4m3_rs_fresh(ot, a, db);
      else
        wgmma_m64n128k32_e4m3_rs(ot, a, db, 1);
    }
  }

  // Software-pipelined as the bf16 mainloop: Q.K_j and P_{j-1}.V_{j-1} are issued together, and block j's
  // softmax runs while P_{j-1}.V_{j-1} is still on the tensor cores; its O_tmp is promoted after. Registers:
  // S_j 64 + O_tmp 64 (in flight) + O 64 + P_{j-1} 16, no second S buffer (Q.K_{j+1} under block j's
  // softmax needs one and spills at 240 registers).
  static __device__ __forceinline__ void run(Storage& s, const KernelArgs& args, const ConsumerThread& t,
                                             const SageScales& scales, int n_blocks, float (&o)[64],
                                             OnlineSoftmax<8807>& sm) {
    using namespace hopper;
    int si[64];
    float ot[64];
    uint32_t p[16];  // P of the block whose P.V product is issued next
    mbarrier_wait(&s.k_full[0], 0);
    wgmma_fence();
    issue_qk(s, t.wg, 0, si);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(si);
    if (t.lane == 0) mbarrier_arrive(&s.k_empty[0]);
    float sc[64];
    Correction corr = sage_softmax(sm, si, sc, scales.of_block(0), 0, args, t);
    pack_p_e4m3(sc, p);
    for (int j = 1; j < n_blocks; ++j) {
      const Ring cur(j), prev(j - 1);
      mbarrier_wait(&s.k_full[cur.stage], cur.parity);
      wgmma_fence();
      issue_qk(s, t.wg, cur.stage, si);
      wgmma_commit();
      mbarrier_wait(&s.v_full[prev.stage], prev.parity);
      wgmma_fence();  // (ptxas injects one here otherwise: O_tmp was read by the last promotion)
      issue_pv(s, prev.stage, p, ot);
      wgmma_commit();
      wgmma_wait<1>();  // S_j is done; P_{j-1}.V_{j-1} may still run
      fence_registers(si);
      if (t.lane == 0) mbarrier_arrive(&s.k_empty[cur.stage]);
      const Correction next = sage_softmax(sm, si, sc, scales.of_block(j), j, args, t);
      wgmma_wait<0>();
      fence_registers(ot);
      if (t.lane == 0) mbarrier_arrive(&s.v_empty[prev.stage]);
      promote(o, ot, corr);  // O (up to block j-2, at block j-1's max) + O_tmp of block j-1
      corr = next;
      pack_p_e4m3(sc, p);  // only now: P_{j-1} was an operand of the wgmma that just finished
    }
    const Ring last(n_blocks - 1);
    mbarrier_wait(&s.v_full[last.stage], last.parity);
    wgmma_fence();
    issue_pv(s, last.stage, p, ot);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(ot);
    promote(o, ot, corr);
  }

  static __device__ __forceinline__ void consume(Storage& s, const KernelArgs& args, const ConsumerThread& t,
                                                 int q_tile, int head) {
    const int n_blocks = (args.seq_kv + kBlockN - 1) / kBlockN;
    const SageScales scales(args, t, q_tile, head, n_blocks);
    float o[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.0f;
    OnlineSoftmax<8807> sm;
    hopper::mbarrier_wait(&s.q_full, 0);
    run(s, args, t, scales, n_blocks, o, sm);
    store_output<true>(args, t, q_tile, head, o, sm);
  }
};

}  // namespace fastwan::cuda::attention
