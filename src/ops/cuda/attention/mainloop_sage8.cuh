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
      if (kk == 0)
        wgmma_m64n128k32_e4m3_rs_fresh(ot, a, db);
      else
        wgmma_m64n128k32_e4m3_rs(ot, a, db, 1);
    }
  }

  // The dequantization factor of the S fragment: c = softmax scale * log2(e) * this thread's Q group scale,
  // times its K group's scale per block. A Q group wholly past seq_q was never written: scale 1 (its rows are
  // not stored; a 0 would make the masked keys' -inf * 0 a NaN in them).
  struct Scales {
    float c_row;
    const float* k_scale;
    __device__ Scales(const KernelArgs& args, const ConsumerThread& t, int q_tile, int head, int n_blocks) {
      const int first_row = q_tile * kBlockM + t.wg * 64 + t.row_in_wg;
      const int q64_blocks = (args.seq_q + 63) / 64;
      const size_t q_group =
          (static_cast<size_t>(head) * q64_blocks + q_tile * 2 + t.wg) * 32 + t.warp * 8 + t.lane / 4;
      c_row = args.scale_log2 * (first_row < args.seq_q ? args.q_scale[q_group] : 1.0f);
      k_scale = args.k_scale + static_cast<size_t>(head) * n_blocks * 4 + t.lane % 4;
    }
    __device__ float of_block(int j) const { return c_row * k_scale[4 * j]; }
  };

  static __device__ __forceinline__ Correction softmax(OnlineSoftmax<8807>& sm, float (&sc)[64], float c,
                                                       int j, const KernelArgs& args,
                                                       const ConsumerThread& t) {
    const int valid = args.seq_kv - j * kBlockN;
    return valid >= kBlockN ? sm.update<false>(sc, c, valid, t.col_in_chunk)
                            : sm.update<true>(sc, c, valid, t.col_in_chunk);
  }

  static __device__ __forceinline__ void to_float(const int (&si)[64], float (&sc)[64]) {
#pragma unroll
    for (int i = 0; i < 64; ++i) sc[i] = static_cast<float>(si[i]);  // exact: |S| < 2^22
  }

  // O = O * 2^(m_old - m_new) + O_tmp: the rescale and the promotion in one FMA per element.
  static __device__ __forceinline__ void promote(float (&o)[64], const float (&ot)[64],
                                                 const Correction& corr) {
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = fmaf(o[i], corr.row[(i % 4) / 2], ot[i]);
  }

  // Per block: Q.K^T, wait, softmax, P.V, wait, promote. The two consumer warpgroups overlap each other's
  // softmax with their wgmmas. (FA3's intra-warpgroup overlap, Q.K_{j+1} under block j's softmax, needs
  // S_{j+1}, S_j and O live at once, 192 registers: ptxas compiles the consumers within the 168 that 384
  // threads leave, so it spilled 612 bytes and was dropped.)
  static __device__ __forceinline__ void run(Storage& s, const KernelArgs& args, const ConsumerThread& t,
                                             const Scales& scales, int n_blocks, float (&o)[64],
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
      to_float(si, sc);
      const Correction corr = softmax(sm, sc, c, j, args, t);
      uint32_t p[16];
      pack_p(sc, p);
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
    const Scales scales(args, t, q_tile, head, n_blocks);
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
