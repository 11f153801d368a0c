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

#include <cuda_fp8.h>

#include "ops/cuda/attention/epilogue.cuh"

namespace fastwan::cuda::attention {

struct Sage8Mainloop {
  using Traits = Sage8Traits;
  using Storage = SharedStorage<Traits>;
  using Ring = RingSlot<Traits::kStages>;

  static __device__ __forceinline__ uint32_t e4m3x4(float a, float b, float c, float d) {
    const uint32_t lo = __nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3);
    const uint32_t hi = __nv_cvt_float2_to_fp8x2(make_float2(c, d), __NV_SATFINITE, __NV_E4M3);
    return (lo & 0xFFFF) | (hi << 16);
  }

  // P (the S fragment after the softmax) as e4m3 A fragments of the 4 k-steps of 32 keys: k-step kk holds the
  // accumulator chunks 4 kk .. 4 kk + 3.
  static __device__ __forceinline__ void pack_p(const float (&sc)[64], uint32_t (&p)[16]) {
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const float* x = sc + 16 * kk;
      p[4 * kk + 0] = e4m3x4(x[0], x[1], x[4], x[5]);      // row r, chunks 4kk and 4kk+1
      p[4 * kk + 1] = e4m3x4(x[2], x[3], x[6], x[7]);      // row r + 8
      p[4 * kk + 2] = e4m3x4(x[8], x[9], x[12], x[13]);    // row r, chunks 4kk+2 and 4kk+3
      p[4 * kk + 3] = e4m3x4(x[10], x[11], x[14], x[15]);  // row r + 8
    }
  }

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
      wgmma_m64n128k32_e4m3_rs(ot, a, db, kk > 0);
    }
  }

  static __device__ __forceinline__ void consume(Storage& s, const KernelArgs& args, const ConsumerThread& t,
                                                 int q_tile, int head) {
    using namespace hopper;
    const int n_blocks = (args.seq_kv + kBlockN - 1) / kBlockN;
    // This thread's Q group (rows row_in_wg and row_in_wg + 8 of its 64-row block) and K groups (keys with
    // (n % 8) / 2 == lane % 4 in every block). A group wholly past seq_q was never written: scale 0 (its rows
    // are not stored).
    const int first_row = q_tile * kBlockM + t.wg * 64 + t.row_in_wg;
    const int q64_blocks = (args.seq_q + 63) / 64;
    const float q_scale =
        first_row < args.seq_q
            ? args.q_scale[(static_cast<size_t>(head) * q64_blocks + q_tile * 2 + t.wg) * 32 + t.warp * 8 +
                           t.lane / 4]
            : 0.0f;
    const float c_row = args.scale_log2 * q_scale;
    const float* k_scale = args.k_scale + static_cast<size_t>(head) * n_blocks * 4 + t.lane % 4;

    float o[64], ot[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = ot[i] = 0.0f;
    OnlineSoftmax<8807> sm;
    mbarrier_wait(&s.q_full, 0);
    float c_next = c_row * k_scale[0];
    for (int j = 0; j < n_blocks; ++j) {
      const Ring slot(j);
      const float c = c_next;
      if (j + 1 < n_blocks) c_next = c_row * k_scale[4 * (j + 1)];  // its latency hides behind this block
      int si[64];
      mbarrier_wait(&s.k_full[slot.stage], slot.parity);
      wgmma_fence();
      issue_qk(s, t.wg, slot.stage, si);
      wgmma_commit();
      wgmma_wait<0>();
      fence_registers(si);
      if (t.lane == 0) mbarrier_arrive(&s.k_empty[slot.stage]);
      float sc[64];
#pragma unroll
      for (int i = 0; i < 64; ++i) sc[i] = static_cast<float>(si[i]);  // exact: |S| < 2^22
      const int valid = args.seq_kv - j * kBlockN;
      const Correction corr = valid >= kBlockN ? sm.update<false>(sc, c, valid, t.col_in_chunk)
                                               : sm.update<true>(sc, c, valid, t.col_in_chunk);
      uint32_t p[16];
      pack_p(sc, p);
      mbarrier_wait(&s.v_full[slot.stage], slot.parity);
      wgmma_fence();
      issue_pv(s, slot.stage, p, ot);
      wgmma_commit();
      wgmma_wait<0>();
      fence_registers(ot);
      if (t.lane == 0) mbarrier_arrive(&s.v_empty[slot.stage]);
#pragma unroll
      for (int i = 0; i < 64; ++i) o[i] = fmaf(o[i], corr.row[(i % 4) / 2], ot[i]);
    }
    store_output<true>(args, t, q_tile, head, o, sm);
  }
};

}  // namespace fastwan::cuda::attention
