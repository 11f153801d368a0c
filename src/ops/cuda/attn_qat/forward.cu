// Attn-QAT's forward (reference attn_qat.md §2, Algorithm 2): FlashAttention-2's loop with two accumulators.
// Per key tile of kBlockN keys, visited in ascending order, each row's p = 2^(s c - m) is quantized with φ
// per 16 keys relative to the running max m (P^), and
//   l = a l + sum(p)   (the unquantized p),   O = a O + P^ . V^,   O' = a O' + p . V^   (p rounded to bf16)
// so that O = O / l is what the model consumes and O' = O' / l the exact attention of Q^, K^, V^ (the
// backward's D). A CTA is 4 warps over 64 query rows (16 per warp); K and V^T of the tile sit in shared
// memory, Q is read from shared memory at every k-step (registers go to the two accumulators).
#include "cuda/check.h"
#include "ops/cuda/attn_qat/attn_qat.h"
#include "ops/cuda/attn_qat/forward_launch.h"
#include "ops/cuda/exp2.cuh"
#include "ops/cuda/fp4_attention.cuh"
#include "ops/cuda/mma.cuh"

namespace fastwan::cuda::attn_qat {
namespace {

constexpr int kBlockM = 64;
constexpr int kThreads = 128;
constexpr float kLog2e = 1.4426950408889634f;

template <int D>
struct ForwardSmem {
  static constexpr int kLd = D + 8, kLdT = kBlockN + 8;
  __nv_bfloat16 q[kBlockM * kLd];
  __nv_bfloat16 k[kBlockN * kLd];
  __nv_bfloat16 vt[D * kLdT];  // V^T of the tile: [channel][key]
};

// φ per 16 keys of each of this thread's two rows: keys 16 kk .. 16 kk + 15 are n-tiles 2 kk and 2 kk + 1,
// two columns each in the four threads of a quad.
__device__ __forceinline__ void quantize_p(float (&p)[kBlockN / 8][4]) {
#pragma unroll
  for (int kk = 0; kk < kBlockN / 16; ++kk)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float* const x[4] = {&p[2 * kk][2 * r], &p[2 * kk][2 * r + 1], &p[2 * kk + 1][2 * r],
                           &p[2 * kk + 1][2 * r + 1]};
      quantize_quad_group<false>(x);
    }
}

// acc += P . V for one warp's 16 rows: P from the S fragment (rounded to bf16), V^T from shared memory.
template <int D>
__device__ __forceinline__ void accumulate_pv(float (&acc)[D / 8][4], const float (&p)[kBlockN / 8][4],
                                              const __nv_bfloat16* vt, int lane) {
#pragma unroll
  for (int kk = 0; kk < kBlockN / 16; ++kk) {
    uint32_t a[4];
    c_to_a(a, p[2 * kk], p[2 * kk + 1]);
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
      uint32_t b[2];
      load_b(b, vt, ForwardSmem<D>::kLdT, i * 8, kk * 16, lane);
      mma_16816(acc[i], a, b);
    }
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads) forward_kernel(ForwardParams p) {
  using Smem = ForwardSmem<D>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Smem& s = *reinterpret_cast<Smem*>(smem_raw);
  const Problem& pb = p.problem;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int m0 = blockIdx.x * kBlockM;
  const size_t bh = blockIdx.y;
  const float c = pb.sm_scale * kLog2e;
  load_rows<kThreads>(s.q, Smem::kLd, p.q + (bh * pb.seq_q + m0) * D, kBlockM, D, pb.seq_q - m0);

  constexpr int kNt = kBlockN / 8, kDt = D / 8;
  float o[kDt][4], o_prime[kDt][4];
#pragma unroll
  for (int i = 0; i < kDt; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[i][e] = o_prime[i][e] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int row[2] = {m0 + warp * 16 + g, m0 + warp * 16 + g + 8};
  const int key_end = pb.causal ? min(pb.seq_k, m0 + kBlockM) : pb.seq_k;

  for (int n0 = 0; n0 < key_end; n0 += kBlockN) {
    __syncthreads();  // the previous tile's K and V^T are no longer read
    const __nv_bfloat16* k = p.k + (bh * pb.seq_k + n0) * D;
    const __nv_bfloat16* v = p.v + (bh * pb.seq_k + n0) * D;
    load_rows<kThreads>(s.k, Smem::kLd, k, kBlockN, D, pb.seq_k - n0);
    load_rows_transposed<kThreads>(s.vt, Smem::kLdT, v, kBlockN, D, pb.seq_k - n0);
    __syncthreads();

    float sc[kNt][4];
#pragma unroll
    for (int j = 0; j < kNt; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) sc[j][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t a[4];
      load_a(a, s.q, Smem::kLd, warp * 16, kk * 16, lane);
#pragma unroll
      for (int j = 0; j < kNt; ++j) {
        uint32_t b[2];
        load_b(b, s.k, Smem::kLd, j * 8, kk * 16, lane);
        mma_16816(sc[j], a, b);
      }
    }

    // Mask (keys past seq_k, causal), then the online softmax in base 2 on the scaled scores.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int j = 0; j < kNt; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = n0 + j * 8 + 2 * t + (e & 1), r = e / 2;
        if (key >= pb.seq_k || (pb.causal && key > row[r])) sc[j][e] = -INFINITY;
        tile_max[r] = fmaxf(tile_max[r], sc[j][e]);
      }
    float corr[2], neg_m[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffff, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffff, tile_max[r], 2));
      const float m_new = fmaxf(m[r], tile_max[r] * c);  // c > 0 commutes with max
      // A row with no visible key yet keeps m = -inf: its p are 0 and nothing is rescaled.
      corr[r] = m_new == -INFINITY ? 1.0f : fast_exp2(m[r] - m_new);
      neg_m[r] = m_new == -INFINITY ? 0.0f : -m_new;
      m[r] = m_new;
      l[r] *= corr[r];
    }
#pragma unroll
    for (int j = 0; j < kNt; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[j][e] = fast_exp2(fmaf(sc[j][e], c, neg_m[e / 2]));  // 2^(-inf) = 0 for masked keys
        l[e / 2] += sc[j][e];
      }
#pragma unroll
    for (int i = 0; i < kDt; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        o[i][e] *= corr[e / 2];
        o_prime[i][e] *= corr[e / 2];
      }

    // O' += p . V^ (p rounded to bf16), then O += P^ . V^.
    accumulate_pv<D>(o_prime, sc, s.vt, lane);
    if (pb.quantize_p) quantize_p(sc);
    accumulate_pv<D>(o, sc, s.vt, lane);
  }

  // Epilogue: the full row sums (a row's columns are in the four threads of a quad), O / l and O' / l.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffff, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffff, l[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (row[r] >= pb.seq_q) continue;
    const float inv = 1.0f / l[r];
    const size_t base = (bh * pb.seq_q + row[r]) * D + 2 * t;
#pragma unroll
    for (int i = 0; i < kDt; ++i) {
      *reinterpret_cast<uint32_t*>(p.o + base + i * 8) =
          pack_bf16x2(o[i][2 * r] * inv, o[i][2 * r + 1] * inv);
      *reinterpret_cast<uint32_t*>(p.o_prime + base + i * 8) =
          pack_bf16x2(o_prime[i][2 * r] * inv, o_prime[i][2 * r + 1] * inv);
    }
    if (t == 0) {
      p.lse[bh * pb.seq_q + row[r]] = m[r] + log2f(l[r]);
      p.row_max[bh * pb.seq_q + row[r]] = m[r];
    }
  }
}

template <int D>
void launch_forward(const ForwardParams& p, cudaStream_t stream) {
  constexpr int kSmem = sizeof(ForwardSmem<D>);
  FW_CUDA_CHECK(cudaFuncSetAttribute(forward_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
  const dim3 grid((p.problem.seq_q + kBlockM - 1) / kBlockM, p.problem.batch_heads);
  forward_kernel<D><<<grid, kThreads, kSmem, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace

void forward_portable(const ForwardParams& p, cudaStream_t stream) {
  if (p.problem.head_dim == 64)
    launch_forward<64>(p, stream);
  else
    launch_forward<128>(p, stream);
}

}  // namespace fastwan::cuda::attn_qat
