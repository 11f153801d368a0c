// Attn-QAT's backward (reference attn_qat.md §3, Algorithm 3) with matched low-precision recomputation, as
// FlashAttention-2's key-parallel backward: a CTA owns 128 keys (16 per warp, in registers as the rows of
// S^T) and walks the queries in steps of 32:
//   S^T = K^ Q^T;  P^T = 2^(S^T c - LSE) (normalized; masked keys and queries 0);  dP^T = V^ dO^T
//   dV += P~^T dO with P~ = φ(P) per 16 keys of a query (the published choice), φ(P l) / l relative to the
//         final row max (the switch), or P;   dS^T = P^T ∘ (dP^T - D), rounded to bf16;   dK += dS^T Q^
//   dQ += dS K^ (shared by every key CTA: through shared memory, then fp32 atomics into the workspace)
// dQ takes K's mean over the CTA's keys out of the product: dS K^ = bf16(dS) (K^ - k) + rowsum(dS) k, the
// first on the tensor cores, the second in fp32. A row of dS sums to about 0 (D is its P-weighted mean), so
// dS K^ cancels K's common component (real K has large per-channel offsets) but not the bf16 rounding of dS
// multiplied by it: without the split, dQ's error grows with |k| / |K^ - k| (rel L2 3.1-3.8e-3 against the
// double reference with a K channel bias of twice its spread, H100 2026-12-07; dK, whose columns of dS do
// not cancel, 2.3e-3).
// D = rowsum(dO ∘ O') (or O) comes from a pre-processing kernel; dQ and dK are scaled by sm_scale at the end.
// A warp's 16 keys are one φ block of every query's P row (the CTA's first key is a multiple of 16). 128 keys
// per CTA rather than 64 halve the dQ atomics (one per query, channel and CTA) and the Q/dO tile loads.
#include "cuda/check.h"
#include "ops/cuda/attn_qat/attn_qat.h"
#include "ops/cuda/attn_qat/backward_launch.h"
#include "ops/cuda/exp2.cuh"
#include "ops/cuda/fp4_attention.cuh"
#include "ops/cuda/mma.cuh"

namespace fastwan::cuda::attn_qat {
namespace {

constexpr int kKeys = 128;    // per CTA
constexpr int kQueries = 32;  // per step
constexpr int kWarps = kKeys / 16;
constexpr int kThreads = 32 * kWarps;
constexpr float kLog2e = 1.4426950408889634f;

template <int D>
struct BackwardSmem {
  static constexpr int kLd = D + 8, kLdQ = kQueries + 8, kLdK = kKeys + 8;
  __nv_bfloat16 k[kKeys * kLd];     // K^ [key][channel]
  __nv_bfloat16 v[kKeys * kLd];     // V^ [key][channel]
  __nv_bfloat16 kt[D * kLdK];       // K^T [channel][key]
  __nv_bfloat16 q[kQueries * kLd];  // Q^ [query][channel]
  __nv_bfloat16 qt[D * kLdQ];       // Q^T [channel][query]
  __nv_bfloat16 d_o[kQueries * kLd];
  __nv_bfloat16 d_ot[D * kLdQ];
  __nv_bfloat16 ds[kQueries * kLdK];  // dS [query][key]
  float lse[kQueries], delta[kQueries], row_max[kQueries];
  float k_mean[D];                  // K^'s mean over the CTA's keys, per channel (kt holds K^ minus it)
  float ds_sum[kWarps * kQueries];  // per warp: each query's sum of dS over the warp's 16 keys
};

// D = rowsum(dO ∘ O_for_d) per query (one warp per row) and the dQ accumulator zeroed.
template <int D>
__global__ void preprocess_kernel(BackwardParams p, float* dq_accum, float* delta, int64_t rows) {
  const int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float sum = 0.0f;
#pragma unroll
  for (int c = lane; c < D; c += 32) {
    sum += __bfloat162float(p.d_o[row * D + c]) * __bfloat162float(p.o_for_d[row * D + c]);
    dq_accum[row * D + c] = 0.0f;
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffff, sum, off);
  if (lane == 0) delta[row] = sum;
}

__global__ void convert_dq_kernel(const float* __restrict__ dq_accum, __nv_bfloat16* __restrict__ dq,
                                  float scale, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dq[i] = __float2bfloat16_rn(dq_accum[i] * scale);
}

// φ per 16 keys of each query column of P^T: the 16 keys of a column are rows g and g + 8 of the fragment in
// the eight lanes with the same t.
__device__ __forceinline__ void quantize_columns(float (&x)[kQueries / 8][4]) {
#pragma unroll
  for (int j = 0; j < kQueries / 8; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      float a = fmaxf(x[j][e], x[j][e + 2]);  // P >= 0
      a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 4));
      a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 8));
      a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, 16));
      const Fp4Block block(a);
      x[j][e] = block.rounded_nonnegative(x[j][e]);
      x[j][e + 2] = block.rounded_nonnegative(x[j][e + 2]);
    }
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(BackwardParams p, float* dq_accum, const float* delta) {
  using Smem = BackwardSmem<D>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Smem& s = *reinterpret_cast<Smem*>(smem_raw);
  const Problem& pb = p.problem;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int n0 = blockIdx.x * kKeys;
  const size_t bh = blockIdx.y;
  const float c = pb.sm_scale * kLog2e;
  constexpr int kDt = D / 8, kQt = kQueries / 8;

  const __nv_bfloat16* k = p.k + (bh * pb.seq_k + n0) * D;
  load_rows<kThreads>(s.k, Smem::kLd, k, kKeys, D, pb.seq_k - n0);
  load_rows_transposed<kThreads>(s.kt, Smem::kLdK, k, kKeys, D, pb.seq_k - n0);
  load_rows<kThreads>(s.v, Smem::kLd, p.v + (bh * pb.seq_k + n0) * D, kKeys, D, pb.seq_k - n0);
  __syncthreads();
  static_assert(D <= kThreads, "one thread per channel");
  if (threadIdx.x < D) {  // K^T minus K^'s mean over the valid keys (padding stays 0)
    const int ch = threadIdx.x, valid_k = min(kKeys, pb.seq_k - n0);
    __nv_bfloat16* row = s.kt + ch * Smem::kLdK;
    float sum = 0.0f;
    for (int j = 0; j < valid_k; ++j) sum += __bfloat162float(row[j]);
    const float mean = sum / static_cast<float>(valid_k);
    for (int j = 0; j < valid_k; ++j) row[j] = __float2bfloat16_rn(__bfloat162float(row[j]) - mean);
    s.k_mean[ch] = mean;
  }

  float dk[kDt][4], dv[kDt][4];
#pragma unroll
  for (int i = 0; i < kDt; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) dk[i][e] = dv[i][e] = 0.0f;
  const int key[2] = {n0 + warp * 16 + g, n0 + warp * 16 + g + 8};
  // Causal: queries before the first key see none of this CTA's keys.
  const int m_begin = pb.causal ? n0 / kQueries * kQueries : 0;

  for (int m0 = m_begin; m0 < pb.seq_q; m0 += kQueries) {
    __syncthreads();  // the previous step's tiles are no longer read
    const int valid_q = pb.seq_q - m0;
    const __nv_bfloat16* q = p.q + (bh * pb.seq_q + m0) * D;
    const __nv_bfloat16* d_o = p.d_o + (bh * pb.seq_q + m0) * D;
    load_rows<kThreads>(s.q, Smem::kLd, q, kQueries, D, valid_q);
    load_rows_transposed<kThreads>(s.qt, Smem::kLdQ, q, kQueries, D, valid_q);
    load_rows<kThreads>(s.d_o, Smem::kLd, d_o, kQueries, D, valid_q);
    load_rows_transposed<kThreads>(s.d_ot, Smem::kLdQ, d_o, kQueries, D, valid_q);
    if (threadIdx.x < kQueries) {
      const bool in = static_cast<int>(threadIdx.x) < valid_q;
      const size_t i = bh * pb.seq_q + m0 + threadIdx.x;
      s.lse[threadIdx.x] = in ? p.lse[i] : 0.0f;
      s.delta[threadIdx.x] = in ? delta[i] : 0.0f;
      s.row_max[threadIdx.x] = in && p.dv_p == DvP::fq_row_max ? p.row_max[i] : 0.0f;
    }
    __syncthreads();

    // S^T = K^ Q^T and dP^T = V^ dO^T: this warp's 16 keys x 32 queries.
    float st[kQt][4], dpt[kQt][4];
#pragma unroll
    for (int j = 0; j < kQt; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) st[j][e] = dpt[j][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t ak[4], av[4];
      load_a(ak, s.k, Smem::kLd, warp * 16, kk * 16, lane);
      load_a(av, s.v, Smem::kLd, warp * 16, kk * 16, lane);
#pragma unroll
      for (int j = 0; j < kQt; ++j) {
        uint32_t b[2];
        load_b(b, s.q, Smem::kLd, j * 8, kk * 16, lane);
        mma_16816(st[j], ak, b);
        load_b(b, s.d_o, Smem::kLd, j * 8, kk * 16, lane);
        mma_16816(dpt[j], av, b);
      }
    }

    // P^T (st becomes P), the P of dV (pv), and dS^T (dpt becomes dS).
    float pv[kQt][4];
#pragma unroll
    for (int j = 0; j < kQt; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = j * 8 + 2 * t + (e & 1), query = m0 + col, kr = key[e / 2];
        const bool visible = kr < pb.seq_k && query < pb.seq_q && (!pb.causal || kr <= query);
        const float score = st[j][e];
        st[j][e] = visible ? fast_exp2(fmaf(score, c, -s.lse[col])) : 0.0f;
        pv[j][e] = st[j][e];
        if (p.dv_p == DvP::fq_row_max) pv[j][e] = visible ? fast_exp2(fmaf(score, c, -s.row_max[col])) : 0.0f;
      }
    if (p.dv_p != DvP::exact) quantize_columns(pv);
    if (p.dv_p == DvP::fq_row_max) {
#pragma unroll
      for (int j = 0; j < kQt; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {  // / l, with l = 2^(lse - m)
          const int col = j * 8 + 2 * t + (e & 1);
          pv[j][e] *= fast_exp2(s.row_max[col] - s.lse[col]);
        }
    }
#pragma unroll
    for (int j = 0; j < kQt; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) dpt[j][e] = st[j][e] * (dpt[j][e] - s.delta[j * 8 + 2 * t + (e & 1)]);
        // Each query's sum of dS over this warp's 16 keys (rows g and g + 8 of the lanes with the same t).
#pragma unroll
    for (int j = 0; j < kQt; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        float sum = dpt[j][e] + dpt[j][e + 2];
        sum += __shfl_xor_sync(0xffffffff, sum, 4);
        sum += __shfl_xor_sync(0xffffffff, sum, 8);
        sum += __shfl_xor_sync(0xffffffff, sum, 16);
        if (g == 0) s.ds_sum[warp * kQueries + j * 8 + 2 * t + e] = sum;
      }

      // dV += P~^T dO and dK += dS^T Q^ (k-steps over the 32 queries).
#pragma unroll
    for (int kk = 0; kk < kQueries / 16; ++kk) {
      uint32_t ap[4], ads[4];
      c_to_a(ap, pv[2 * kk], pv[2 * kk + 1]);
      c_to_a(ads, dpt[2 * kk], dpt[2 * kk + 1]);
#pragma unroll
      for (int i = 0; i < kDt; ++i) {
        uint32_t b[2];
        load_b(b, s.d_ot, Smem::kLdQ, i * 8, kk * 16, lane);
        mma_16816(dv[i], ap, b);
        load_b(b, s.qt, Smem::kLdQ, i * 8, kk * 16, lane);
        mma_16816(dk[i], ads, b);
      }
    }

    // dS to shared memory as [query][key], then dQ += dS K^: warp w takes 16 queries (w % 2) and the channel
    // slice w / 2 of kWarps / 2.
#pragma unroll
    for (int j = 0; j < kQt; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        s.ds[(j * 8 + 2 * t + (e & 1)) * Smem::kLdK + warp * 16 + g + 8 * (e / 2)] =
            __float2bfloat16_rn(dpt[j][e]);
    __syncthreads();
    constexpr int kSlice = D / (kWarps / 2);
    float dq[kSlice / 8][4];
#pragma unroll
    for (int i = 0; i < kSlice / 8; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) dq[i][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      uint32_t a[4];
      load_a(a, s.ds, Smem::kLdK, (warp % 2) * 16, kk * 16, lane);
#pragma unroll
      for (int i = 0; i < kSlice / 8; ++i) {
        uint32_t b[2];
        load_b(b, s.kt, Smem::kLdK, (warp / 2) * kSlice + i * 8, kk * 16, lane);
        mma_16816(dq[i], a, b);
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {  // + rowsum(dS) k, then into the accumulator
      const int local = (warp % 2) * 16 + g + 8 * r, query = m0 + local;
      float ds_sum = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) ds_sum += s.ds_sum[w * kQueries + local];
#pragma unroll
      for (int i = 0; i < kSlice / 8; ++i) {
        const int ch = (warp / 2) * kSlice + i * 8 + 2 * t;
        dq[i][2 * r] = fmaf(ds_sum, s.k_mean[ch], dq[i][2 * r]);
        dq[i][2 * r + 1] = fmaf(ds_sum, s.k_mean[ch + 1], dq[i][2 * r + 1]);
      }
      if (query >= pb.seq_q) continue;
      float* dst = dq_accum + (bh * pb.seq_q + query) * D + (warp / 2) * kSlice + 2 * t;
#pragma unroll
      for (int i = 0; i < kSlice / 8; ++i) {
        atomicAdd(dst + i * 8, dq[i][2 * r]);
        atomicAdd(dst + i * 8 + 1, dq[i][2 * r + 1]);
      }
    }
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (key[r] >= pb.seq_k) continue;
    const size_t base = (bh * pb.seq_k + key[r]) * D + 2 * t;
#pragma unroll
    for (int i = 0; i < kDt; ++i) {
      *reinterpret_cast<uint32_t*>(p.dk + base + i * 8) =
          pack_bf16x2(dk[i][2 * r] * pb.sm_scale, dk[i][2 * r + 1] * pb.sm_scale);
      *reinterpret_cast<uint32_t*>(p.dv + base + i * 8) = pack_bf16x2(dv[i][2 * r], dv[i][2 * r + 1]);
    }
  }
}

template <int D>
void launch_backward(const BackwardParams& p, cudaStream_t stream) {
  const Problem& pb = p.problem;
  const int64_t rows = static_cast<int64_t>(pb.batch_heads) * pb.seq_q;
  backward_preprocess(p, stream);
  constexpr int kSmem = sizeof(BackwardSmem<D>);
  FW_CUDA_CHECK(cudaFuncSetAttribute(backward_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
  const dim3 grid((pb.seq_k + kKeys - 1) / kKeys, pb.batch_heads);
  backward_kernel<D><<<grid, kThreads, kSmem, stream>>>(p, p.workspace, p.workspace + rows * D);
  FW_CUDA_CHECK_LAUNCH();
  backward_convert_dq(p, stream);
}

}  // namespace

int64_t backward_workspace_floats(const Problem& p) {
  const int64_t rows = static_cast<int64_t>(p.batch_heads) * p.seq_q;
  return rows * p.head_dim + rows;
}

void backward_preprocess(const BackwardParams& p, cudaStream_t stream) {
  const Problem& pb = p.problem;
  const int64_t rows = static_cast<int64_t>(pb.batch_heads) * pb.seq_q;
  float* dq_accum = p.workspace;
  float* delta = p.workspace + rows * pb.head_dim;
  const auto blocks = static_cast<unsigned>((rows * 32 + 255) / 256);
  if (pb.head_dim == 64)
    preprocess_kernel<64><<<blocks, 256, 0, stream>>>(p, dq_accum, delta, rows);
  else
    preprocess_kernel<128><<<blocks, 256, 0, stream>>>(p, dq_accum, delta, rows);
  FW_CUDA_CHECK_LAUNCH();
}

void backward_convert_dq(const BackwardParams& p, cudaStream_t stream) {
  const Problem& pb = p.problem;
  const int64_t n = static_cast<int64_t>(pb.batch_heads) * pb.seq_q * pb.head_dim;
  convert_dq_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(p.workspace, p.dq,
                                                                                pb.sm_scale, n);
  FW_CUDA_CHECK_LAUNCH();
}

void backward_portable(const BackwardParams& p, cudaStream_t stream) {
  if (p.problem.head_dim == 64)
    launch_backward<64>(p, stream);
  else
    launch_backward<128>(p, stream);
}

}  // namespace fastwan::cuda::attn_qat
