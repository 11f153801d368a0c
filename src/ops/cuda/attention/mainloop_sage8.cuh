// The consumer math of SageAttention2's 8-bit operands (sage_attention_sm90.md §1.5, §7.1):
//   S = Q_i8 . K_i8 with the s8 wgmma (exact in int32), dequantized inside the exponent: with
//   c = softmax scale * log2(e) * q_scale[thread's rows] * k_scale[block, thread's key group],
//   P = 2^(S c - m) in (0, 448], m the running max minus 8.807; l sums the fp32 P;
//   P to e4m3 (round to nearest even, saturating), packed straight into the A fragment of the e4m3 wgmma: the
//   thread holding S columns {2t, 2t+1, 8+2t, 9+2t} of a 16-key group supplies A k-slots {4t..4t+3}, which is
//   why V^T's keys are stored permuted within groups of 16 (sage_quant.h);
//   O_tmp = P_e4m3 . V_e4m3 per 128-key block into a fresh accumulator (the FP8 wgmma keeps only ~22 bits),
//   then O = O * 2^(m_old - m_new) + O_tmp in fp32 on the CUDA cores: the two-level accumulation.
// Registers per consumer thread: S 64 + O 64 + O_tmp 64 + P 16, so no second S buffer for FA3's
// intra-warpgroup overlap; the two consumer warpgroups overlap each other's softmax with their wgmmas
// instead.
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

  // Per block: Q.K^T, wait, softmax, P.V, wait, promote. The two consumer warpgroups overlap each other's
  // softmax with their wgmmas. (FA3's intra-warpgroup overlap, Q.K_{j+1} under block j's softmax, needs
  // S_{j+1}, S_j and O live at once, 192 registers: ptxas compiles the consumers within the 168 that 384
  // threads leave, so it spilled 612 bytes and was dropped.)
  static __device__ __forceinline__ void run(Storage& s, const KernelArgs& args, const ConsumerThread& t,
                                             const SageScales& scales, int n_blocks, float (&o)[64],
                                             OnlineSoftmax<8807>& sm) {
    using namespace hopper;
    for (int j = 0; j < n_blocks; ++j) {
      const Ring slot(j);
      const float c = scales.of_block(j);
      int si[64];
      mbarrier_wait(&s.k_full[slot.stage], slot.parity);
      wgmma_fence();
      issue_qk(s, t.wg, slot.stage, si);
      wgmma_commit();
      wgmma_wait<0>();
      fence_registers(si);
      if (t.lane == 0) mbarrier_arrive(&s.k_empty[slot.stage]);
      float sc[64];
      const Correction corr = sage_softmax(sm, si, sc, c, j, args, t);
      uint32_t p[16];
      pack_p_e4m3(sc, p);
      float ot[64];
      mbarrier_wait(&s.v_full[slot.stage], slot.parity);
      wgmma_fence();
      issue_pv(s, slot.stage, p, ot);
      wgmma_commit();
      wgmma_wait<0>();
      fence_registers(ot);
      if (t.lane == 0) mbarrier_arrive(&s.v_empty[slot.stage]);
      promote(o, ot, corr);
    }
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
