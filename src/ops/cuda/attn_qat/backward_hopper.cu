// Attn-QAT's backward on Hopper (sm_90a: wgmma, TMA, setmaxnreg) with the numerics of backward.cu (the
// mma.sync kernel every other GPU runs; its header explains the recomputation and the dQ split by K's mean),
// key-parallel as FlashAttention-3's backward. backward_hopper.cuh has the storage, the producer and the PTX.
//
// Per query tile of 64 rows, consumer warpgroup w (keys 64 w .. 64 w + 63 of the CTA's 128):
//   S^T, dP^T       wgmma, then P^T = 2^(S^T c - LSE) (masked: 0), P~ (φ per 16 keys of a query: one warp's
//                   16 rows), dS^T = P^T (dP^T - D), each query's sum of dS over the warp's keys
//   dV += P~^T dO   issued as soon as P~ is packed, running under the dS arithmetic
//   dK += dS^T Q^   bf16(dS^T) also goes to shared memory for dQ
//   dQ = bf16(dS) (K^ - k) + rowsum(dS) k    a 64 x 64 piece per warpgroup (DqSplit), staged in shared
//                   memory as fp32 and added to the workspace by bulk reductions (cp.reduce.async.bulk),
//                   one 256- or 128-byte row each: no per-element atomics
// Registers at D = 128: dK and dV 64 + 64, S^T and dP^T 32 + 32 (dead once P~ and dS are packed, 16 + 16),
// dQ 32. Accumulator layout (fragment.cuh's): thread (warp w, lane 4 g + t) holds rows 16 w + g and + 8,
// columns 8 c + 2 t + {0, 1} of chunk c, as x[4 c + {0, 1}] and x[4 c + {2, 3}].
#include <cuda_bf16.h>

#include "cuda/check.h"
#include "cuda/tensor_map.h"
#include "ops/cuda/attn_qat/backward_hopper.cuh"
#include "ops/cuda/attn_qat/backward_launch.h"
#include "ops/cuda/exp2.cuh"
#include "ops/cuda/fp4_attention.cuh"
#include "ops/cuda/mma.cuh"

namespace fastwan::cuda::attn_qat {
namespace hopper_backward {
namespace {

// Chunk c (8 queries) of a 64-query accumulator into the A fragment of the k-step over queries 16 (c / 2)..:
// c_to_a's order, two registers per chunk.
__device__ __forceinline__ void pack_chunk(uint32_t (&a)[16], int c, float x0, float x1, float x2, float x3) {
  a[4 * (c / 2) + 2 * (c % 2)] = pack_bf16x2(x0, x1);
  a[4 * (c / 2) + 2 * (c % 2) + 1] = pack_bf16x2(x2, x3);
}

template <int D>
struct Consumer {
  using Smem = Storage<D>;
  using Split = DqSplit<D>;
  static constexpr int kParts = Smem::kParts;

  // K^'s mean per channel over the CTA's valid keys (summed in key order, as backward.cu), and K^ minus it
  // (padding keys 0) in k_centered with K^'s swizzle. All 256 consumer threads.
  static __device__ void center_k(Smem& s, int ctid, int valid_k) {
    if (ctid < D) {
      const int part = ctid / 64, chunk = (ctid % 64) / 8, elem = ctid % 8;
      float sum = 0.0f;
      for (int r = 0; r < valid_k; ++r) {
        const auto* row = reinterpret_cast<const __nv_bfloat16*>(s.k[part] + r * 128);
        sum += __bfloat162float(row[(chunk ^ (r % 8)) * 8 + elem]);
      }
      s.k_mean[ctid] = sum / static_cast<float>(valid_k);
    }
    named_barrier_sync(1, 256);
    for (int i = ctid; i < kKeys * D / 8; i += 256) {  // 16-byte vectors, by physical position
      const int r = i / (D / 8), part = (i % (D / 8)) / 8, phys = i % 8;
      const int ch0 = part * 64 + (phys ^ (r % 8)) * 8;
      const int offset = r * 128 + phys * 16;
      const uint4 in = *reinterpret_cast<const uint4*>(s.k[part] + offset);
      const auto* x = reinterpret_cast<const __nv_bfloat16*>(&in);
      uint4 out;
      auto* y = reinterpret_cast<__nv_bfloat16*>(&out);
#pragma unroll
      for (int e = 0; e < 8; ++e)
        y[e] = r < valid_k ? __float2bfloat16_rn(__bfloat162float(x[e]) - s.k_mean[ch0 + e])
                           : __float2bfloat16_rn(0.0f);
      *reinterpret_cast<uint4*>(s.k_centered[part] + offset) = out;
    }
    fence_proxy_async_shared();  // k_centered is a wgmma operand
    named_barrier_sync(1, 256);
  }

  // X^T = A_wg . B^T for this warpgroup's 64 keys: A = K^ or V^ rows, B = the stage's Q^ or dO (K-major).
  static __device__ __forceinline__ void issue_transposed_scores(const char (&a)[kParts][kKvPartBytes],
                                                                 const char (&b)[kParts][kQPartBytes], int wg,
                                                                 float (&x)[32]) {
    using namespace hopper;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const uint64_t da = smem_desc_k_major_sw128(a[kk / 4] + wg * 64 * 128 + (kk % 4) * 32);
      const uint64_t db = smem_desc_k_major_sw128(b[kk / 4] + (kk % 4) * 32);
      if (kk == 0)
        wgmma::m64n64k16_ss_fresh(x, da, db);
      else
        wgmma::m64n64k16_ss(x, da, db);
    }
  }

  // acc += A . B with A (keys x queries) from registers and B = the stage's Q^ or dO, N-major: k-step kk
  // covers queries [16 kk, 16 kk + 16), 16 rows of 128 bytes (two swizzle atoms).
  static __device__ __forceinline__ void issue_key_gradient(const char (&b)[kParts][kQPartBytes],
                                                            const uint32_t (&a)[16], float (&acc)[D / 2]) {
#pragma unroll
    for (int kk = 0; kk < kQueries / 16; ++kk) {
      const uint32_t ak[4] = {a[4 * kk], a[4 * kk + 1], a[4 * kk + 2], a[4 * kk + 3]};
      wgmma::pv_rs<D>(acc, ak, wgmma::smem_desc_n_major_sw128(b[0] + kk * 16 * 128, kQPartBytes));
    }
  }

  // dq = dS . (K^ - k) over this warpgroup's DqSplit keys and channels: A = dS^T in shared memory (M-major:
  // one query row of 128 bytes per key), B = k_centered (N-major, one 64-channel part).
  static __device__ __forceinline__ void issue_dq(const Smem& s, int wg, float (&dq)[32]) {
    const int key0 = Split::first_key(wg), part = Split::first_channel(wg) / 64;
#pragma unroll
    for (int kk = 0; kk < Split::kKeysPerProduct / 16; ++kk) {
      const int row = key0 + kk * 16;
      const uint64_t da = wgmma::smem_desc_n_major_sw128(s.ds + row * 128, 0);
      const uint64_t db = wgmma::smem_desc_n_major_sw128(s.k_centered[part] + row * 128, 0);
      if (kk == 0)
        m64n64k16_ss_tt_fresh(dq, da, db);
      else
        m64n64k16_ss_tt(dq, da, db);
    }
  }

  static __device__ void run(Smem& s, const Args& a, int wg, int tid, int n0, size_t bh, int m_begin,
                             int n_steps) {
    using namespace hopper;
    const int warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
    const int gwarp = 4 * wg + warp;                                // consumer warp 0..7: keys 16 gwarp..
    const int key_local[2] = {16 * gwarp + g, 16 * gwarp + g + 8};  // rows of S^T within the CTA
    const int key[2] = {n0 + key_local[0], n0 + key_local[1]};
    const bool issuer = tid < kQueries;  // issues the bulk reduction of dQ row `tid`
    const int ch0 = Split::first_channel(wg);
    float(&dq_tile)[kQueries][Smem::kDqLd] = s.dq[Split::buffer(wg)];

    mbarrier_wait(&s.kv_full, 0);
    center_k(s, 128 * wg + tid, min(kKeys, a.seq_k - n0));

    float dk[D / 2], dv[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) dk[i] = dv[i] = 0.0f;

    for (int j = 0; j < n_steps; ++j) {
      const Slot slot(j);
      const int stage = slot.stage, m0 = m_begin + j * kQueries;
      mbarrier_wait(&s.q_full[stage], slot.parity);
      float st[32], dpt[32];
      wgmma_fence();
      issue_transposed_scores(s.k, s.q[stage], wg, st);
      issue_transposed_scores(s.v, s.d_o[stage], wg, dpt);
      wgmma_commit();
      wgmma_wait<0>();
      fence_registers(st);
      fence_registers(dpt);

      // P^T in st, and P~ (the P of dV) packed as dV's A operand.
      const float* lse = s.lse[stage];
      const float* row_max = s.row_max[stage];
      uint32_t pa[16];
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        float pv[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int col = 8 * c + 2 * t + (e & 1), query = m0 + col, kr = key[e / 2];
          const bool visible = kr < a.seq_k && query < a.seq_q && (!a.causal || kr <= query);
          const float score = st[4 * c + e];
          st[4 * c + e] = visible ? fast_exp2(fmaf(score, a.c, -lse[col])) : 0.0f;
          pv[e] = st[4 * c + e];
          if (a.dv_p == DvP::fq_row_max) pv[e] = visible ? fast_exp2(fmaf(score, a.c, -row_max[col])) : 0.0f;
        }
        if (a.dv_p != DvP::exact) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {  // φ over a query's 16 keys: rows g and g + 8 of the 8 lanes with t
            float amax = fmaxf(pv[e], pv[e + 2]);  // P >= 0
            amax = fmaxf(amax, __shfl_xor_sync(0xffffffff, amax, 4));
            amax = fmaxf(amax, __shfl_xor_sync(0xffffffff, amax, 8));
            amax = fmaxf(amax, __shfl_xor_sync(0xffffffff, amax, 16));
            const Fp4Block block(amax);
            pv[e] = block.rounded_nonnegative(pv[e]);
            pv[e + 2] = block.rounded_nonnegative(pv[e + 2]);
          }
        }
        if (a.dv_p == DvP::fq_row_max) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {  // / l, with l = 2^(lse - m)
            const int col = 8 * c + 2 * t + (e & 1);
            pv[e] *= fast_exp2(row_max[col] - lse[col]);
          }
        }
        pack_chunk(pa, c, pv[0], pv[1], pv[2], pv[3]);
      }
      wgmma_fence();
      issue_key_gradient(s.d_o[stage], pa, dv);
      wgmma_commit();

      // dS^T (fp32 in dpt, packed as dK's A operand) and each query's sum of dS over this warp's 16 keys.
      const float* delta = s.delta[stage];
      uint32_t dsa[16];
      float ds_sum[8][2];
#pragma unroll
      for (int c = 0; c < 8; ++c) {
#pragma unroll
        for (int e = 0; e < 4; ++e)
          dpt[4 * c + e] = st[4 * c + e] * (dpt[4 * c + e] - delta[8 * c + 2 * t + (e & 1)]);
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float sum = dpt[4 * c + e] + dpt[4 * c + e + 2];
          sum += __shfl_xor_sync(0xffffffff, sum, 4);
          sum += __shfl_xor_sync(0xffffffff, sum, 8);
          sum += __shfl_xor_sync(0xffffffff, sum, 16);
          ds_sum[c][e] = sum;
        }
        pack_chunk(dsa, c, dpt[4 * c], dpt[4 * c + 1], dpt[4 * c + 2], dpt[4 * c + 3]);
      }

      // The previous tile's dQ product and epilogue are done with ds, ds_sum and (after the issuers' wait)
      // the dQ staging tile in every warpgroup that shares them.
      if (issuer) bulk_wait_read();
      named_barrier_sync(Split::barrier(wg), Split::kBarrierThreads);
      if (g == 0) {
#pragma unroll
        for (int c = 0; c < 8; ++c)
#pragma unroll
          for (int e = 0; e < 2; ++e) s.ds_sum[gwarp][8 * c + 2 * t + e] = ds_sum[c][e];
      }
#pragma unroll
      for (int c = 0; c < 8; ++c)
#pragma unroll
        for (int h = 0; h < 2; ++h) {  // row key_local[h], queries 8 c + 2 t, + 1: 16-byte chunk c, swizzled
          const int r = key_local[h];
          *reinterpret_cast<uint32_t*>(s.ds + r * 128 + ((c ^ (r % 8)) * 16) + 4 * t) =
              dsa[4 * (c / 2) + 2 * (c % 2) + h];
        }
      wgmma_fence();
      issue_key_gradient(s.q[stage], dsa, dk);
      wgmma_commit();
      fence_proxy_async_shared();  // ds is dQ's A operand
      named_barrier_sync(Split::barrier(wg), Split::kBarrierThreads);

      float dq[32];
      wgmma_fence();
      issue_dq(s, wg, dq);
      wgmma_commit();
      wgmma_wait<0>();
      fence_registers(dv);
      fence_registers(dk);
      fence_registers(dq);
      if (lane == 0) mbarrier_arrive(&s.q_empty[stage]);  // Q^, dO, LSE, D of this stage are read
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        // + rowsum(dS) k over the product's keys, to the staging tile, then one bulk reduction per query row.
        const int row = 16 * warp + g + 8 * h;
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < Split::kKeysPerProduct / 16; ++w)
          sum += s.ds_sum[Split::first_key(wg) / 16 + w][row];
#pragma unroll
        for (int c = 0; c < 8; ++c) {
          const int ch = ch0 + 8 * c + 2 * t;
          float2 out;
          out.x = fmaf(sum, s.k_mean[ch], dq[4 * c + 2 * h]);
          out.y = fmaf(sum, s.k_mean[ch + 1], dq[4 * c + 2 * h + 1]);
          *reinterpret_cast<float2*>(&dq_tile[row][ch]) = out;
        }
      }
      fence_proxy_async_shared();  // the staging tile is the bulk reduction's source
      named_barrier_sync(2 + wg, 128);
      if (issuer && m0 + tid < a.seq_q) {
        bulk_reduce_add_f32(a.dq_accum + (bh * a.seq_q + m0 + tid) * D + ch0, &dq_tile[tid][ch0], 64 * 4);
        bulk_commit();
      }
    }

#pragma unroll
    for (int h = 0; h < 2; ++h) {
      if (key[h] >= a.seq_k) continue;
      const size_t base = (bh * a.seq_k + key[h]) * D + 2 * t;
#pragma unroll
      for (int c = 0; c < D / 8; ++c) {
        *reinterpret_cast<uint32_t*>(a.dk + base + 8 * c) =
            pack_bf16x2(dk[4 * c + 2 * h] * a.sm_scale, dk[4 * c + 2 * h + 1] * a.sm_scale);
        *reinterpret_cast<uint32_t*>(a.dv + base + 8 * c) =
            pack_bf16x2(dv[4 * c + 2 * h], dv[4 * c + 2 * h + 1]);
      }
    }
    if (issuer) bulk_wait();  // the staging tile stays valid until every reduction has read it
  }
};

// One CTA per 128 keys of one (batch, head): warpgroup 0 produces (thread 0 TMA, warps 1-3 the per-query
// rows), warpgroups 1 and 2 consume 64 keys each. With the causal mask, query tiles before the CTA's first
// key are skipped; the first CTAs (the most query tiles) start first.
template <int D>
__global__ void __launch_bounds__(kThreads, 1)
    backward_kernel(const __grid_constant__ CUtensorMap tm_q, const __grid_constant__ CUtensorMap tm_k,
                    const __grid_constant__ CUtensorMap tm_v, const __grid_constant__ CUtensorMap tm_do,
                    const Args args) {
  extern __shared__ char smem_raw[];
  Storage<D>& s =
      *reinterpret_cast<Storage<D>*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t{1023});
  const int n0 = blockIdx.x * kKeys, bh = blockIdx.y;
  const int m_begin = args.causal ? n0 / kQueries * kQueries : 0;
  const int n_steps = args.seq_q > m_begin ? (args.seq_q - m_begin + kQueries - 1) / kQueries : 0;
  const int warpgroup = threadIdx.x / 128;
  if (threadIdx.x == 0) s.init_barriers();
  __syncthreads();
  if (warpgroup == 0) {
    hopper::setmaxnreg_dec<24>();  // 24 x 128 + 240 x 256 = 168 x 384, the registers the launch gave
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (threadIdx.x == 0) produce_tiles(s, &tm_q, &tm_k, &tm_v, &tm_do, n0, bh, m_begin, n_steps);
    if (warp == 1) produce_rows(s.q_full, s.q_empty, s.lse, args.lse, args.seq_q, bh, m_begin, n_steps, lane);
    if (warp == 2)
      produce_rows(s.q_full, s.q_empty, s.delta, args.delta, args.seq_q, bh, m_begin, n_steps, lane);
    if (warp == 3)
      produce_rows(s.q_full, s.q_empty, s.row_max, args.dv_p == DvP::fq_row_max ? args.row_max : nullptr,
                   args.seq_q, bh, m_begin, n_steps, lane);
    return;
  }
  hopper::setmaxnreg_inc<240>();
  Consumer<D>::run(s, args, warpgroup - 1, threadIdx.x % 128, n0, bh, m_begin, n_steps);
}

template <int D>
void launch(const BackwardParams& p, cudaStream_t stream) {
  const Problem& pb = p.problem;
  const uint64_t bh = static_cast<uint64_t>(pb.batch_heads), row_bytes = D * 2;
  // Q^ and dO in [64 rows][64 channels] boxes, K^ and V^ in [128 keys][64 channels]; rows past a head's
  // tokens read as zero (the 3rd dimension keeps heads apart).
  const std::array<uint64_t, 3> q_dims{D, uint64_t(pb.seq_q), bh}, kv_dims{D, uint64_t(pb.seq_k), bh};
  const std::array<uint64_t, 2> q_strides{row_bytes, uint64_t(pb.seq_q) * row_bytes},
      kv_strides{row_bytes, uint64_t(pb.seq_k) * row_bytes};
  const CUtensorMap tm_q = make_tensor_map_3d_sw128(p.q, TmaElement::bf16, q_dims, q_strides, {64, kQueries});
  const CUtensorMap tm_do =
      make_tensor_map_3d_sw128(p.d_o, TmaElement::bf16, q_dims, q_strides, {64, kQueries});
  const CUtensorMap tm_k = make_tensor_map_3d_sw128(p.k, TmaElement::bf16, kv_dims, kv_strides, {64, kKeys});
  const CUtensorMap tm_v = make_tensor_map_3d_sw128(p.v, TmaElement::bf16, kv_dims, kv_strides, {64, kKeys});
  const int64_t rows = static_cast<int64_t>(pb.batch_heads) * pb.seq_q;
  const Args args{p.workspace, p.workspace + rows * D, p.lse,       p.row_max, p.dk,  p.dv, pb.seq_q,
                  pb.seq_k,    pb.sm_scale * kLog2e,   pb.sm_scale, pb.causal, p.dv_p};
  backward_preprocess(p, stream);
  constexpr int kSmem = sizeof(Storage<D>) + 1024;  // + the 1024-byte alignment of the swizzled tiles
  static_assert(kSmem <= 227 * 1024, "one CTA per SM");
  FW_CUDA_CHECK(cudaFuncSetAttribute(backward_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
  const dim3 grid((pb.seq_k + kKeys - 1) / kKeys, pb.batch_heads);
  backward_kernel<D><<<grid, kThreads, kSmem, stream>>>(tm_q, tm_k, tm_v, tm_do, args);
  FW_CUDA_CHECK_LAUNCH();
  backward_convert_dq(p, stream);
}

}  // namespace
}  // namespace hopper_backward

void backward_hopper(const BackwardParams& p, cudaStream_t stream) {
  if (p.problem.head_dim == 64)
    hopper_backward::launch<64>(p, stream);
  else
    hopper_backward::launch<128>(p, stream);
}

}  // namespace fastwan::cuda::attn_qat
