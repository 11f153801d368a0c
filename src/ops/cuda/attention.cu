// FlashAttention-3-style forward kernel for head_dim 128 on sm_90a.
//
// One CTA computes a 128-row query tile of one head. Warpgroup 0 is the producer: one thread issues TMA
// loads of Q (once) and of K / V^T tiles (128 keys each) into a 2-stage ring, K and V with their own
// full/empty barriers so that K_{j+1} streams in as soon as S_{j-1} is done, not only after P_{j-1}.V_{j-1}.
// Warpgroups 1 and 2 are consumers, 64 query rows each: S = Q.K^T with wgmma from shared memory, online
// softmax in fp32 registers, then O += P.V with P taken straight from registers (the S accumulator layout is
// the A-fragment layout). The consumer loop is software-pipelined (FA3's intra-warpgroup overlap); the two
// warpgroups otherwise interleave on their own (explicit ping-pong measured slower: docs/performance.md).
// Tiles are stored as two 64-column halves with the 128-byte swizzle that TMA writes and wgmma reads.
#include <cuda_bf16.h>

#include <cmath>

#include "cuda/check.h"
#include "cuda/tensor_map.h"
#include "ops/cuda/amax.cuh"
#include "ops/cuda/attention.h"
#include "ops/cuda/hopper.cuh"

namespace fastwan::cuda {
namespace {

using namespace hopper;

constexpr int kD = kAttentionHeadDim;
constexpr int kBlockM = 128;  // query rows per CTA (64 per consumer warpgroup)
constexpr int kBlockN = 128;  // keys per pipeline stage
constexpr int kStages = 2;
constexpr int kThreads = 3 * 128;         // producer + 2 consumer warpgroups
constexpr int kHalfBytes = 128 * 64 * 2;  // one [128 rows][64 bf16] swizzled half tile
constexpr int kTileBytes = 2 * kHalfBytes;

struct SharedStorage {
  alignas(1024) __nv_bfloat16 q[2][128 * 64];
  alignas(1024) __nv_bfloat16 k[kStages][2][128 * 64];
  alignas(1024) __nv_bfloat16 vt[kStages][2][128 * 64];
  uint64_t q_full;
  uint64_t k_full[kStages];
  uint64_t v_full[kStages];
  uint64_t k_empty[kStages];
  uint64_t v_empty[kStages];
};

struct KernelArgs {
  __nv_bfloat16* out;
  int seq_q, seq_kv, out_stride;
  float scale_log2;
  float* amax;
};

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

struct Correction {
  float row[2];
};

// Running max and (per-thread partial) sum of this thread's two rows, base-2 exponentials.
struct OnlineSoftmax {
  float max[2] = {-INFINITY, -INFINITY};
  float sum[2] = {0.0f, 0.0f};

  // In place: s <- 2^(s * scale_log2 - m_new); returns 2^(m_old - m_new) for rescaling O. With kMask,
  // keys at or past `valid` (the zero-filled tail of the last block: 8 c + col + e >= valid) become 0.
  template <bool kMask>
  __device__ __forceinline__ Correction update(float (&sc)[64], float scale_log2, int valid, int col) {
    if constexpr (kMask) {
#pragma unroll
      for (int c = 0; c < 16; ++c)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          if (8 * c + col + e >= valid) sc[4 * c + e] = sc[4 * c + 2 + e] = -INFINITY;
    }
    // The max is taken on raw scores (scale_log2 > 0 commutes with max); each exponential is then one FMA.
    float m[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int c = 0; c < 16; ++c) {
      m[0] = fmaxf(m[0], fmaxf(sc[4 * c], sc[4 * c + 1]));
      m[1] = fmaxf(m[1], fmaxf(sc[4 * c + 2], sc[4 * c + 3]));
    }
    Correction corr;
    float neg_m[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      m[r] = fmaxf(m[r], __shfl_xor_sync(0xffffffff, m[r], 1));
      m[r] = fmaxf(m[r], __shfl_xor_sync(0xffffffff, m[r], 2));
      const float scaled = fmaxf(max[r], m[r] * scale_log2);
      corr.row[r] = fast_exp2(max[r] - scaled);
      max[r] = scaled;
      sum[r] *= corr.row[r];
      neg_m[r] = -scaled;
    }
#pragma unroll
    for (int c = 0; c < 16; ++c)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[4 * c + e] = fast_exp2(fmaf(sc[4 * c + e], scale_log2, neg_m[e / 2]));
        sum[e / 2] += sc[4 * c + e];
      }
    return corr;
  }
};

// P as bf16 pairs in the A-fragment order of the P.V wgmma.
__device__ __forceinline__ void pack_p(const float (&sc)[64], uint32_t (&p)[32]) {
#pragma unroll
  for (int c = 0; c < 16; ++c) {
    p[2 * c] = pack_bf16(sc[4 * c], sc[4 * c + 1]);
    p[2 * c + 1] = pack_bf16(sc[4 * c + 2], sc[4 * c + 3]);
  }
}

__device__ __forceinline__ void rescale(float (&o)[64], const Correction& corr) {
#pragma unroll
  for (int c = 0; c < 16; ++c) {
    o[4 * c + 0] *= corr.row[0];
    o[4 * c + 1] *= corr.row[0];
    o[4 * c + 2] *= corr.row[1];
    o[4 * c + 3] *= corr.row[1];
  }
}

// S = Q . K^T for this warpgroup's 64 rows (8 k-steps over head_dim).
__device__ __forceinline__ void issue_qk(const SharedStorage& s, int wg, int stage, float (&sc)[64]) {
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    const uint64_t da =
        smem_desc_k_major_sw128(reinterpret_cast<const char*>(s.q[kk / 4]) + wg * 64 * 128 + (kk % 4) * 32);
    const uint64_t db =
        smem_desc_k_major_sw128(reinterpret_cast<const char*>(s.k[stage][kk / 4]) + (kk % 4) * 32);
    wgmma_m64n128k16_ss(sc, da, db, kk > 0);
  }
}

// O += P . V: k-step kk covers keys [16 kk, 16 kk + 16) = accumulator chunks 2 kk and 2 kk + 1 of S.
__device__ __forceinline__ void issue_pv(const SharedStorage& s, int stage, const uint32_t (&p)[32],
                                         float (&o)[64]) {
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kBlockN / 16; ++kk) {
    const uint32_t a[4] = {p[4 * kk], p[4 * kk + 1], p[4 * kk + 2], p[4 * kk + 3]};
    const uint64_t db =
        smem_desc_k_major_sw128(reinterpret_cast<const char*>(s.vt[stage][kk / 4]) + (kk % 4) * 32);
    wgmma_m64n128k16_rs(o, a, db, 1);
  }
}

__global__ void __launch_bounds__(kThreads, 1)
    flash_attention_kernel(const __grid_constant__ CUtensorMap tm_q, const __grid_constant__ CUtensorMap tm_k,
                           const __grid_constant__ CUtensorMap tm_vt, const KernelArgs args) {
  extern __shared__ char smem_raw[];
  SharedStorage& s =
      *reinterpret_cast<SharedStorage*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t{1023});
  const int q_tile = blockIdx.x, head = blockIdx.y;
  const int warpgroup = threadIdx.x / 128;
  const int n_blocks = (args.seq_kv + kBlockN - 1) / kBlockN;

  if (threadIdx.x == 0) {
    mbarrier_init(&s.q_full, 1);
    for (int i = 0; i < kStages; ++i) {
      mbarrier_init(&s.k_full[i], 1);
      mbarrier_init(&s.v_full[i], 1);
      mbarrier_init(&s.k_empty[i], 2 * 4);  // every consumer warp releases the stage
      mbarrier_init(&s.v_empty[i], 2 * 4);
    }
    fence_barrier_init();
  }
  __syncthreads();

  if (warpgroup == 0) {
    // ---------------- producer ----------------
    setmaxnreg_dec<24>();
    if (threadIdx.x == 0) {
      prefetch_tensor_map(&tm_q);
      prefetch_tensor_map(&tm_k);
      prefetch_tensor_map(&tm_vt);
      const int q0 = q_tile * kBlockM;
      mbarrier_arrive_expect_tx(&s.q_full, kTileBytes);
      tma_load_3d(s.q[0], &tm_q, &s.q_full, 0, q0, head);
      tma_load_3d(s.q[1], &tm_q, &s.q_full, 64, q0, head);
      for (int j = 0; j < n_blocks; ++j) {
        const int stage = j % kStages;
        const uint32_t round = j / kStages;
        const int k0 = j * kBlockN;
        if (j >= kStages) mbarrier_wait(&s.k_empty[stage], (round & 1) ^ 1);
        mbarrier_arrive_expect_tx(&s.k_full[stage], kTileBytes);
        tma_load_3d(s.k[stage][0], &tm_k, &s.k_full[stage], 0, k0, head);
        tma_load_3d(s.k[stage][1], &tm_k, &s.k_full[stage], 64, k0, head);
        if (j >= kStages) mbarrier_wait(&s.v_empty[stage], (round & 1) ^ 1);
        mbarrier_arrive_expect_tx(&s.v_full[stage], kTileBytes);
        tma_load_3d(s.vt[stage][0], &tm_vt, &s.v_full[stage], k0, 0, head);
        tma_load_3d(s.vt[stage][1], &tm_vt, &s.v_full[stage], k0 + 64, 0, head);
      }
    }
    return;
  }

  // ---------------- consumers ----------------
  setmaxnreg_inc<240>();
  const int wg = warpgroup - 1;  // rows [64 wg, 64 wg + 64) of the tile
  const int tid = threadIdx.x % 128;
  const int warp = tid / 32, lane = tid % 32;
  const int row_in_wg = warp * 16 + lane / 4;  // this thread's rows: row_in_wg and row_in_wg + 8
  const int col_in_chunk = (lane % 4) * 2;     // and columns 8 c + col_in_chunk + {0, 1}

  float o[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = 0.0f;
  OnlineSoftmax sm;
  uint32_t p[32];  // P of the block whose P.V product is issued next
  float sc[64];
  auto softmax = [&](int j) {
    const int valid = args.seq_kv - j * kBlockN;
    return valid >= kBlockN ? sm.update<false>(sc, args.scale_log2, valid, col_in_chunk)
                            : sm.update<true>(sc, args.scale_log2, valid, col_in_chunk);
  };
  mbarrier_wait(&s.q_full, 0);

  // Block 0: S_0 and its softmax (O is zero: no P.V yet).
  mbarrier_wait(&s.k_full[0], 0);
  wgmma_fence();
  issue_qk(s, wg, 0, sc);
  wgmma_commit();
  wgmma_wait<0>();
  fence_registers(sc);
  if (lane == 0) mbarrier_arrive(&s.k_empty[0]);
  Correction corr = softmax(0);
  pack_p(sc, p);

  // Software pipeline (FA3's intra-warpgroup overlap): S_j = Q.K_j and O += P_{j-1}.V_{j-1} are issued
  // together; the softmax of block j runs while P_{j-1}.V_{j-1} is still on the tensor cores.
  for (int j = 1; j < n_blocks; ++j) {
    const int stage = j % kStages, prev = (j - 1) % kStages;
    mbarrier_wait(&s.k_full[stage], (j / kStages) & 1);
    wgmma_fence();
    issue_qk(s, wg, stage, sc);
    wgmma_commit();
    rescale(o, corr);  // O (not in flight) to block j-1's running max
    mbarrier_wait(&s.v_full[prev], ((j - 1) / kStages) & 1);
    issue_pv(s, prev, p, o);
    wgmma_commit();
    wgmma_wait<1>();  // S_j is done; P_{j-1}.V_{j-1} may still run
    fence_registers(sc);
    if (lane == 0) mbarrier_arrive(&s.k_empty[stage]);
    corr = softmax(j);
    wgmma_wait<0>();
    fence_registers(o);
    if (lane == 0) mbarrier_arrive(&s.v_empty[prev]);
    pack_p(sc, p);  // only now: P_{j-1} was an operand of the wgmma that just finished
  }
  const int last = (n_blocks - 1) % kStages;
  rescale(o, corr);
  mbarrier_wait(&s.v_full[last], ((n_blocks - 1) / kStages) & 1);
  issue_pv(s, last, p, o);
  wgmma_commit();
  wgmma_wait<0>();
  fence_registers(o);

  float row_sum[2] = {sm.sum[0], sm.sum[1]};
  // Epilogue: O / l, bf16, straight to global memory (rows past seq_q are not stored).
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += __shfl_xor_sync(0xffffffff, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xffffffff, row_sum[r], 2);
  }
  const float inv[2] = {1.0f / row_sum[0], 1.0f / row_sum[1]};
  float amax = 0.0f;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = q_tile * kBlockM + wg * 64 + row_in_wg + 8 * r;
    if (row >= args.seq_q) continue;
    __nv_bfloat16* dst = args.out + static_cast<size_t>(row) * args.out_stride + head * kD + col_in_chunk;
#pragma unroll
    for (int c = 0; c < 16; ++c) {
      const uint32_t v = pack_bf16(o[4 * c + 2 * r] * inv[r], o[4 * c + 2 * r + 1] * inv[r]);
      *reinterpret_cast<uint32_t*>(dst + 8 * c) = v;
      const __nv_bfloat162 h = *reinterpret_cast<const __nv_bfloat162*>(&v);
      amax = fmaxf(amax, fmaxf(fabsf(__low2float(h)), fabsf(__high2float(h))));
    }
  }
  if (args.amax) warp_fold_amax(args.amax, amax);
}

}  // namespace

double attention_flops(const AttentionParams& p) {
  return 4.0 * p.heads * static_cast<double>(p.seq_q) * p.seq_kv * kD;
}

void flash_attention(DeviceContext& ctx, const AttentionParams& p) {
  FW_CHECK(p.heads > 0 && p.seq_q > 0 && p.seq_kv > 0, "flash_attention: empty problem");
  FW_CHECK(p.vt_stride >= p.seq_kv && p.vt_stride % 8 == 0,
           "flash_attention: vt_stride must be >= seq_kv and % 8");
  FW_CHECK(p.out_stride >= p.heads * kD && p.out_stride % 2 == 0, "flash_attention: bad out_stride");
  const uint64_t h = static_cast<uint64_t>(p.heads);
  const CUtensorMap tm_q = make_tensor_map_3d_bf16_sw128(p.q, {kD, static_cast<uint64_t>(p.seq_q), h},
                                                         {kD * 2, uint64_t(p.seq_q) * kD * 2}, {64, 128});
  const CUtensorMap tm_k = make_tensor_map_3d_bf16_sw128(p.k, {kD, static_cast<uint64_t>(p.seq_kv), h},
                                                         {kD * 2, uint64_t(p.seq_kv) * kD * 2}, {64, 128});
  const CUtensorMap tm_vt =
      make_tensor_map_3d_bf16_sw128(p.vt, {static_cast<uint64_t>(p.seq_kv), kD, h},
                                    {uint64_t(p.vt_stride) * 2, uint64_t(p.vt_stride) * kD * 2}, {64, 128});
  KernelArgs args{static_cast<__nv_bfloat16*>(p.out), p.seq_q, p.seq_kv, p.out_stride,
                  p.scale * 1.4426950408889634f,      p.amax};
  const int smem = sizeof(SharedStorage) + 1024;
  const dim3 grid((p.seq_q + kBlockM - 1) / kBlockM, p.heads);
  if (ctx.first_use(reinterpret_cast<const void*>(&flash_attention_kernel)))  // per device, before capture
    FW_CUDA_CHECK(
        cudaFuncSetAttribute(flash_attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  flash_attention_kernel<<<grid, kThreads, smem, ctx.stream()>>>(tm_q, tm_k, tm_vt, args);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
