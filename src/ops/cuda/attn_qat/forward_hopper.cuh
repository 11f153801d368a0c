// The consumer side of Attn-QAT's Hopper forward (forward_hopper.cu has the kernel and its launch): shared
// memory, the producer's TMA ring, the online softmax with forward.cu's exact semantics, and the mainloop
// of one consumer warpgroup (64 query rows).
//
// Per 64-key tile j, visited in ascending order: S_j = Q.K_j^T (wgmma m64n64k16), the mask (keys past
// seq_k, causal), m = max(m, rowmax(S_j) c), p = 2^(s c - m), l = a l + sum(p) (p unquantized, fp32); then
// P = bf16(p) and P^ = φ(p) per 16 keys (relative to that running max: the tile width is part of the
// numerics, attn_qat::kBlockN) and O' = a O' + P.V, O = a O + P^.V, both with P in registers (RS wgmma).
// Software-pipelined as the attention family's mainloop_bf16.cuh: S_{j+1} is issued with P_j.V_j, and
// tile j+1's softmax and φ run while the two P.V products of tile j are on the tensor cores. Registers at
// D = 128: O and O' 64 + 64, S 32, the in-flight P and P^ 16 + 16 and the next ones 16 + 16 (S is dead once
// they are packed, since its first k-step is a fresh wgmma).
//
// V is read as it lies in memory, [keys][D] row-major, through an N-major B descriptor (TMA box [64 keys][64
// channels]): no transposed copy of V (which would cost a pass over V and a scratch tensor per call, and the
// forward has no workspace), and K and V share one box shape and one ring.
#pragma once

#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "ops/cuda/attention/pipeline.cuh"
#include "ops/cuda/attn_qat/attn_qat.h"
#include "ops/cuda/attn_qat/wgmma_n64.cuh"
#include "ops/cuda/exp2.cuh"
#include "ops/cuda/fp4_attention.cuh"
#include "ops/cuda/mma.cuh"

namespace fastwan::cuda::attn_qat::hopper_forward {

constexpr int kBlockM = 128;                 // query rows per CTA, 64 per consumer warpgroup
constexpr int kThreads = 3 * 128;            // producer warpgroup + 2 consumer warpgroups
constexpr int kStages = 4;                   // K/V ring depth: 4 x 32 KB + 32 KB Q at D = 128
constexpr int kKvPartBytes = kBlockN * 128;  // [64 keys][64 channels] bf16, one TMA box
constexpr int kQPartBytes = kBlockM * 128;   // [128 rows][64 channels]
constexpr float kLog2e = 1.4426950408889634f;

struct Args {
  __nv_bfloat16 *o, *o_prime;
  float *lse, *row_max;
  int seq_q, seq_k;
  float c;  // sm_scale * log2(e)
  bool causal, quantize_p;
};

// The key tiles a run of 64 query rows starting at first_row visits: all of them, or with the causal mask
// those up to the diagonal (forward.cu's loop bound for its 64-row tiles, so the running maxima agree).
__device__ __forceinline__ int tiles_for(const Args& a, int first_row) {
  const int end = a.causal ? min(a.seq_k, first_row + 64) : a.seq_k;
  return (end + kBlockN - 1) / kBlockN;
}

template <int D>
struct Storage {
  static constexpr int kParts = D / 64;  // 128-byte-wide column slices (TMA boxes) of a row
  alignas(1024) char q[kParts][kQPartBytes];
  alignas(1024) char k[kStages][kParts][kKvPartBytes];
  alignas(1024) char v[kStages][kParts][kKvPartBytes];
  uint64_t q_full, k_full[kStages], v_full[kStages], k_empty[kStages], v_empty[kStages];

  __device__ void init_barriers() {
    using namespace hopper;
    mbarrier_init(&q_full, 1);
    for (int i = 0; i < kStages; ++i) {
      mbarrier_init(&k_full[i], 1);
      mbarrier_init(&v_full[i], 1);
      mbarrier_init(&k_empty[i], 2 * 4);  // every consumer warp releases the stage
      mbarrier_init(&v_empty[i], 2 * 4);
    }
    fence_barrier_init();
  }
};

using Slot = attention::RingSlot<kStages>;  // key tile j's stage and phase parity

// Thread 0 of the producer warpgroup: Q once, then K_j and V_j of every tile into the ring. Boxes out of a
// head's rows (ragged tails) are zero-filled by TMA; the transaction count is the whole box regardless.
template <int D>
__device__ __forceinline__ void produce(Storage<D>& s, const CUtensorMap* tm_q, const CUtensorMap* tm_k,
                                        const CUtensorMap* tm_v, int q_tile, int bh, int n_tiles) {
  using namespace hopper;
  constexpr int kParts = Storage<D>::kParts;
  prefetch_tensor_map(tm_q);
  prefetch_tensor_map(tm_k);
  prefetch_tensor_map(tm_v);
  mbarrier_arrive_expect_tx(&s.q_full, kParts * kQPartBytes);
#pragma unroll
  for (int p = 0; p < kParts; ++p) tma_load_3d(s.q[p], tm_q, &s.q_full, p * 64, q_tile * kBlockM, bh);
  for (int j = 0; j < n_tiles; ++j) {
    const Slot slot(j);
    if (j >= kStages) mbarrier_wait(&s.k_empty[slot.stage], slot.parity ^ 1);
    mbarrier_arrive_expect_tx(&s.k_full[slot.stage], kParts * kKvPartBytes);
#pragma unroll
    for (int p = 0; p < kParts; ++p)
      tma_load_3d(s.k[slot.stage][p], tm_k, &s.k_full[slot.stage], p * 64, j * kBlockN, bh);
    if (j >= kStages) mbarrier_wait(&s.v_empty[slot.stage], slot.parity ^ 1);
    mbarrier_arrive_expect_tx(&s.v_full[slot.stage], kParts * kKvPartBytes);
#pragma unroll
    for (int p = 0; p < kParts; ++p)
      tma_load_3d(s.v[slot.stage][p], tm_v, &s.v_full[slot.stage], p * 64, j * kBlockN, bh);
  }
}

// A consumer thread: with g = lane / 4 and t = lane % 4 it holds rows row_in_wg = 16 warp + g and
// row_in_wg + 8 of its warpgroup, columns 8 c + col + {0, 1} of each 8-column chunk c, as acc[4 c + {0, 1}]
// and acc[4 c + {2, 3}] (fragment.cuh's layout, 8 chunks for a 64-key S).
struct Thread {
  int wg, lane, row_in_wg, col;
  __device__ Thread(int warpgroup, int tid)
      : wg(warpgroup), lane(tid % 32), row_in_wg((tid / 32) * 16 + (tid % 32) / 4), col((tid % 4) * 2) {}
};

// The online softmax of forward.cu, on one thread's 2 rows x 16 columns of a 64-key tile.
struct RowState {
  float m[2] = {-INFINITY, -INFINITY};  // running max of the scaled scores (base 2)
  float l[2] = {0.0f, 0.0f};            // this thread's partial sums of the unquantized p

  // In place: s <- p = 2^(s c - m_new); returns 2^(m_old - m_new) per row. kMask: the tile holds keys past
  // seq_k or (causal) the diagonal; those become -inf, i.e. p = 0.
  template <bool kMask>
  __device__ __forceinline__ void update(float (&sc)[32], const Args& a, int n0, int row0, int col,
                                         float (&corr)[2]) {
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int r = (i % 4) / 2;
      if constexpr (kMask) {
        const int key = n0 + 8 * (i / 4) + col + (i & 1);
        if (key >= a.seq_k || (a.causal && key > row0 + 8 * r)) sc[i] = -INFINITY;
      }
      tile_max[r] = fmaxf(tile_max[r], sc[i]);
    }
    float neg_m[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffff, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffff, tile_max[r], 2));
      const float m_new = fmaxf(m[r], tile_max[r] * a.c);  // c > 0 commutes with max
      // A row with no visible key yet keeps m = -inf: its p are 0 and nothing is rescaled.
      corr[r] = m_new == -INFINITY ? 1.0f : fast_exp2(m[r] - m_new);
      neg_m[r] = m_new == -INFINITY ? 0.0f : -m_new;
      m[r] = m_new;
      l[r] *= corr[r];
    }
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      sc[i] = fast_exp2(fmaf(sc[i], a.c, neg_m[(i % 4) / 2]));  // 2^(-inf) = 0 for masked keys
      l[(i % 4) / 2] += sc[i];
    }
  }
};

// P in A-fragment order for the P.V wgmma: keys [16 kk, 16 kk + 16) are p[4 kk .. 4 kk + 3] (c_to_a of
// chunks 2 kk and 2 kk + 1).
__device__ __forceinline__ void pack_p(const float (&sc)[32], uint32_t (&p)[16]) {
#pragma unroll
  for (int kk = 0; kk < 4; ++kk)
    c_to_a(*reinterpret_cast<uint32_t(*)[4]>(p + 4 * kk), *reinterpret_cast<const float(*)[4]>(sc + 8 * kk),
           *reinterpret_cast<const float(*)[4]>(sc + 8 * kk + 4));
}

// φ per 16 keys of each row (forward.cu's quantize_p), in two halves so that the costly one overlaps the
// P.V wgmmas in flight: the groups' scales (amax over the quad, E4M3 rounding, reciprocals) while they run,
// the element-wise rounding once they are done, when S's registers may become P's A fragments. A group is
// chunks 2 kk and 2 kk + 1 of a row, two columns each in the four threads of a quad; block 2 kk + r is row
// r's group kk. The reciprocal of the rounded scale, as the training kernel (quantize_quad_group<false>).
struct PScales {
  float inv[8], sf[8];  // Fp4Block's 1 / sf and sf of each block

  __device__ __forceinline__ explicit PScales(const float (&sc)[32]) {
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const float* x = sc + 8 * kk + 2 * r;
        float a = fmaxf(fmaxf(x[0], x[1]), fmaxf(x[4], x[5]));
        a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 1));
        a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 2));
        const Fp4Block block(a);
        inv[2 * kk + r] = block.inv;
        sf[2 * kk + r] = block.sf;
      }
  }
  __device__ __forceinline__ void apply(float (&sc)[32]) const {
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
#pragma unroll
      for (int r = 0; r < 2; ++r)
#pragma unroll
        for (int i : {0, 1, 4, 5}) {
          float& x = sc[8 * kk + 2 * r + i];  // Fp4Block::rounded_nonnegative
          x = quant::e2m1_round_magnitude(x * inv[2 * kk + r]) * sf[2 * kk + r];
        }
  }
};

template <int N>
__device__ __forceinline__ void rescale(float (&o)[N], const float (&corr)[2]) {
#pragma unroll
  for (int i = 0; i < N; ++i) o[i] *= corr[(i % 4) / 2];
}

template <int D>
struct Mainloop {
  using Smem = Storage<D>;

  // S = Q.K^T for this warpgroup's 64 rows: D / 16 k-steps, 4 per 64-channel part.
  static __device__ __forceinline__ void issue_qk(const Smem& s, int wg, int stage, float (&sc)[32]) {
    using namespace hopper;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const uint64_t da = smem_desc_k_major_sw128(s.q[kk / 4] + wg * 64 * 128 + (kk % 4) * 32);
      const uint64_t db = smem_desc_k_major_sw128(s.k[stage][kk / 4] + (kk % 4) * 32);
      if (kk == 0)
        wgmma::m64n64k16_ss_fresh(sc, da, db);
      else
        wgmma::m64n64k16_ss(sc, da, db);
    }
  }

  // O += P.V: k-step kk covers keys [16 kk, 16 kk + 16), i.e. 16 rows of 128 bytes = two swizzle atoms.
  static __device__ __forceinline__ void issue_pv(const Smem& s, int stage, const uint32_t (&p)[16],
                                                  float (&o)[D / 2]) {
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      const uint32_t a[4] = {p[4 * kk], p[4 * kk + 1], p[4 * kk + 2], p[4 * kk + 3]};
      wgmma::pv_rs<D>(o, a, wgmma::smem_desc_n_major_sw128(s.v[stage][0] + kk * 16 * 128, kKvPartBytes));
    }
  }

  static __device__ __forceinline__ void consume(Smem& s, const Args& a, const Thread& t, int q_tile,
                                                 size_t bh) {
    using namespace hopper;
    const int first_row = q_tile * kBlockM + t.wg * 64, row0 = first_row + t.row_in_wg;
    // Causal: warpgroup 0 may stop one tile before warpgroup 1 (the producer's count). That tile is the
    // CTA's last, so no producer wait depends on warpgroup 0 releasing it.
    const int n_tiles = tiles_for(a, first_row);
    float o[D / 2], o_prime[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) o[i] = o_prime[i] = 0.0f;
    RowState rs;
    float corr[2];
    float sc[32];
    uint32_t p[16], p_hat[16];  // bf16(p) and φ(p) of the tile whose P.V products are issued next
    // The online softmax of tile j on S_j, and P^'s scales: what runs under the previous tile's P.V.
    auto softmax = [&](int j) {
      const int n0 = j * kBlockN;
      if (n0 + kBlockN > a.seq_k || (a.causal && n0 + kBlockN - 1 > first_row))
        rs.update<true>(sc, a, n0, row0, t.col, corr);
      else
        rs.update<false>(sc, a, n0, row0, t.col, corr);
      return PScales(sc);
    };
    // Both A fragments, once the wgmmas that read the previous ones are done (packing them any earlier
    // would define registers of wgmmas in flight: ptxas then serializes the pipeline).
    auto pack = [&](const PScales& scales) {
      pack_p(sc, p);
      if (a.quantize_p) scales.apply(sc);
      pack_p(sc, p_hat);
    };
    mbarrier_wait(&s.q_full, 0);

    // Tile 0: S_0 and its softmax (O and O' are zero: no P.V yet).
    mbarrier_wait(&s.k_full[0], 0);
    wgmma_fence();
    issue_qk(s, t.wg, 0, sc);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(sc);
    if (t.lane == 0) mbarrier_arrive(&s.k_empty[0]);
    pack(softmax(0));

    for (int j = 1; j < n_tiles; ++j) {
      const Slot cur(j), prev(j - 1);
      mbarrier_wait(&s.k_full[cur.stage], cur.parity);
      wgmma_fence();
      issue_qk(s, t.wg, cur.stage, sc);
      wgmma_commit();
      rescale(o, corr);  // O and O' (not in flight) to tile j-1's running max
      rescale(o_prime, corr);
      // Pinned before the P.V wgmmas: were a rescale sunk between them, ptxas would serialize the pipeline.
      fence_registers(o);
      fence_registers(o_prime);
      mbarrier_wait(&s.v_full[prev.stage], prev.parity);
      wgmma_fence();
      issue_pv(s, prev.stage, p, o_prime);
      issue_pv(s, prev.stage, p_hat, o);
      wgmma_commit();
      wgmma_wait<1>();  // S_j is done; the P.V products of tile j-1 may still run
      fence_registers(sc);
      if (t.lane == 0) mbarrier_arrive(&s.k_empty[cur.stage]);
      const PScales scales = softmax(j);
      wgmma_wait<0>();
      fence_registers(o);
      fence_registers(o_prime);
      if (t.lane == 0) mbarrier_arrive(&s.v_empty[prev.stage]);
      pack(scales);
    }
    const Slot last(n_tiles - 1);
    rescale(o, corr);
    rescale(o_prime, corr);
    fence_registers(o);
    fence_registers(o_prime);
    mbarrier_wait(&s.v_full[last.stage], last.parity);
    wgmma_fence();
    issue_pv(s, last.stage, p, o_prime);
    issue_pv(s, last.stage, p_hat, o);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(o);
    fence_registers(o_prime);
    store(a, t, rs, row0, bh, o, o_prime);
  }

  // O / l and O' / l to bf16 straight from the accumulators (rows past seq_q are not stored), lse = m +
  // log2(l) and row_max = m, as forward.cu writes them.
  static __device__ __forceinline__ void store(const Args& a, const Thread& t, RowState& rs, int row0,
                                               size_t bh, const float (&o)[D / 2],
                                               const float (&o_prime)[D / 2]) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      rs.l[r] += __shfl_xor_sync(0xffffffff, rs.l[r], 1);
      rs.l[r] += __shfl_xor_sync(0xffffffff, rs.l[r], 2);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = row0 + 8 * r;
      if (row >= a.seq_q) continue;
      const float inv = 1.0f / rs.l[r];
      const size_t base = (bh * a.seq_q + row) * D + t.col;
#pragma unroll
      for (int c = 0; c < D / 8; ++c) {
        *reinterpret_cast<uint32_t*>(a.o + base + 8 * c) =
            pack_bf16x2(o[4 * c + 2 * r] * inv, o[4 * c + 2 * r + 1] * inv);
        *reinterpret_cast<uint32_t*>(a.o_prime + base + 8 * c) =
            pack_bf16x2(o_prime[4 * c + 2 * r] * inv, o_prime[4 * c + 2 * r + 1] * inv);
      }
      if (t.col == 0) {
        a.lse[bh * a.seq_q + row] = rs.m[r] + log2f(rs.l[r]);
        a.row_max[bh * a.seq_q + row] = rs.m[r];
      }
    }
  }
};

}  // namespace fastwan::cuda::attn_qat::hopper_forward
