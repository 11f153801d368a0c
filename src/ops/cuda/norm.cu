#include <cuda_bf16.h>

#include "cuda/check.h"
#include "ops/cuda/amax.cuh"
#include "ops/cuda/fp4_attention.cuh"
#include "ops/cuda/norm.h"
#include "quant/sage_math.h"

namespace fastwan::cuda {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kRowsPerBlock = 8;  // one warp per row

struct Vec8 {
  float v[8];
};

__device__ __forceinline__ Vec8 load8(const bf16* p) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const bf16* h = reinterpret_cast<const bf16*>(&raw);
  Vec8 r;
#pragma unroll
  for (int i = 0; i < 8; ++i) r.v[i] = __bfloat162float(h[i]);
  return r;
}
__device__ __forceinline__ Vec8 load8(const float* p) {
  const float4 a = *reinterpret_cast<const float4*>(p), b = *reinterpret_cast<const float4*>(p + 4);
  return {{a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w}};
}
__device__ __forceinline__ void store8(bf16* p, const Vec8& x) {
  uint4 raw;
  bf16* h = reinterpret_cast<bf16*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) h[i] = __float2bfloat16_rn(x.v[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}
__device__ __forceinline__ float rbf(float x) {
  return __bfloat162float(__float2bfloat16_rn(x));
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  return v;
}

// The op-specific parts of a row kernel: the residual value of element i, and what to write.
enum class Op { modulate, gated_norm, residual_modulate, gated_residual, head };

template <Op kOp>
__device__ __forceinline__ Vec8 residual8(const RowNormParams& p, int64_t base, int c) {
  Vec8 x = load8(static_cast<const bf16*>(p.x) + base + c);
  if constexpr (kOp == Op::gated_norm || kOp == Op::gated_residual) {
    const Vec8 y = load8(static_cast<const bf16*>(p.y) + base + c), g = load8(p.gate + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) x.v[i] = x.v[i] + y.v[i] * g.v[i];  // fp32, no intermediate rounding
  } else if constexpr (kOp == Op::residual_modulate) {
    const Vec8 y = load8(static_cast<const bf16*>(p.y) + base + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) x.v[i] = rbf(x.v[i] + y.v[i]);  // bf16 + bf16 -> bf16
  }
  return x;
}

template <Op kOp>
__global__ void row_norm_kernel(const RowNormParams p) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.rows) return;
  const int64_t base = row * p.dim;
  bf16* x = static_cast<bf16*>(p.x);
  bf16* out = static_cast<bf16*>(p.out);

  if constexpr (kOp == Op::gated_residual) {
    for (int c = lane * 8; c < p.dim; c += 256) store8(x + base + c, residual8<kOp>(p, base, c));
    return;
  }
  // Two-pass statistics over the row (re-reads hit L1): mean, then the biased variance.
  float sum = 0.0f;
  for (int c = lane * 8; c < p.dim; c += 256) {
    const Vec8 r = residual8<kOp>(p, base, c);
#pragma unroll
    for (int i = 0; i < 8; ++i) sum += r.v[i];
  }
  const float mean = warp_sum(sum) / p.dim;
  float sq = 0.0f;
  for (int c = lane * 8; c < p.dim; c += 256) {
    const Vec8 r = residual8<kOp>(p, base, c);
#pragma unroll
    for (int i = 0; i < 8; ++i) sq += (r.v[i] - mean) * (r.v[i] - mean);
  }
  const float rstd = rsqrtf(warp_sum(sq) / p.dim + p.eps);
  float amax = 0.0f;
  for (int c = lane * 8; c < p.dim; c += 256) {
    const Vec8 r = residual8<kOp>(p, base, c);
    Vec8 n;
    if constexpr (kOp == Op::modulate) {
      const Vec8 sc = load8(p.scale + c), sh = load8(p.shift + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) n.v[i] = (r.v[i] - mean) * rstd * (1.0f + sc.v[i]) + sh.v[i];
    } else if constexpr (kOp == Op::gated_norm) {
      const Vec8 w = load8(static_cast<const bf16*>(p.weight) + c),
                 b = load8(static_cast<const bf16*>(p.bias) + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) n.v[i] = (r.v[i] - mean) * rstd * w.v[i] + b.v[i];
      store8(x + base + c, r);
    } else if constexpr (kOp == Op::residual_modulate) {
      const Vec8 sc = load8(p.scale + c), sh = load8(p.shift + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) n.v[i] = rbf((r.v[i] - mean) * rstd) * (1.0f + sc.v[i]) + sh.v[i];
      store8(x + base + c, r);
    } else {  // head: bf16 scale/shift, (1 + scale) computed in bf16
      const Vec8 sc = load8(reinterpret_cast<const bf16*>(p.scale) + c);
      const Vec8 sh = load8(reinterpret_cast<const bf16*>(p.shift) + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) n.v[i] = rbf((r.v[i] - mean) * rstd) * rbf(1.0f + sc.v[i]) + sh.v[i];
    }
    store8(out + base + c, n);
#pragma unroll
    for (int i = 0; i < 8; ++i) amax = fmaxf(amax, fabsf(rbf(n.v[i])));
  }
  if (p.amax) warp_fold_amax(p.amax, amax);
}

template <Op kOp>
void launch_row_norm(const RowNormParams& p, cudaStream_t stream) {
  FW_CHECK(p.dim % 8 == 0 && p.rows > 0, "row norm: dim must be a multiple of 8");
  const unsigned blocks = static_cast<unsigned>((p.rows + kRowsPerBlock - 1) / kRowsPerBlock);
  row_norm_kernel<kOp><<<blocks, kRowsPerBlock * 32, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

template <bool kF32In>
__global__ void t5_rms_norm_kernel(const RowNormParams p) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.rows) return;
  const int64_t base = row * p.dim;
  auto load_row = [&](int c) {
    if constexpr (kF32In)
      return load8(static_cast<const float*>(p.x) + base + c);
    else
      return load8(static_cast<const bf16*>(p.x) + base + c);
  };
  float sq = 0.0f;
  for (int c = lane * 8; c < p.dim; c += 256) {
    const Vec8 r = load_row(c);
#pragma unroll
    for (int i = 0; i < 8; ++i) sq += r.v[i] * r.v[i];
  }
  const float rinv = rsqrtf(warp_sum(sq) / p.dim + p.eps);
  for (int c = lane * 8; c < p.dim; c += 256) {
    const Vec8 r = load_row(c), w = load8(static_cast<const bf16*>(p.weight) + c);
    Vec8 n;
#pragma unroll
    for (int i = 0; i < 8; ++i) n.v[i] = rbf(r.v[i] * rinv) * w.v[i];
    store8(static_cast<bf16*>(p.out) + base + c, n);
  }
}

// One block per 16-row slice, one warp per row: the RMS over the row, then each lane normalizes and rotates
// its pairs (8 channels of every 256). The INT8 variant takes each (row, head)'s amax first and quantizes in
// a second pass over the (L1-resident) row once the slice's row pairs are known; the channel sums reduce the
// slice in a fixed order, so they are deterministic.
constexpr int kQkRows = 16;
constexpr int kQkMaxHeads = 64;

struct QkRow {
  const QkNormRopeParams& p;
  int64_t row;
  float rinv;

  // Channels [c, c + 8) of this row, normalized, rotated and rounded to bf16 (as stored).
  __device__ __forceinline__ Vec8 values(int c) const {
    const bf16* src = static_cast<const bf16*>(p.src) + row * p.src_stride;
    const Vec8 r = load8(src + c), w = load8(static_cast<const bf16*>(p.weight) + c);
    Vec8 n;
#pragma unroll
    for (int i = 0; i < 8; ++i) n.v[i] = rbf(rbf(r.v[i] * rinv) * w.v[i]);
    if (p.cos) {
      const int d = c % 128;
      const float* cs = p.cos + row * 64 + d / 2;
      const float* sn = p.sin + row * 64 + d / 2;
#pragma unroll
      for (int i = 0; i < 8; i += 2) {
        const float a = n.v[i], b = n.v[i + 1], co = cs[i / 2], si = sn[i / 2];
        n.v[i] = a * co - b * si;
        n.v[i + 1] = b * co + a * si;
      }
    }
#pragma unroll
    for (int i = 0; i < 8; ++i) n.v[i] = rbf(n.v[i]);
    return n;
  }
};

template <bool kInt8, bool kPartials>
__global__ void __launch_bounds__(kQkRows * 32) qk_norm_rope_kernel(const QkNormRopeParams p) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kQkRows + warp;
  const bool valid = row < p.rows;  // no early return: the block synchronizes below
  const int dim = p.heads * 128;
  float sq = 0.0f;
  if (valid)
    for (int c = lane * 8; c < dim; c += 256) {
      const Vec8 r = load8(static_cast<const bf16*>(p.src) + row * p.src_stride + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) sq += r.v[i] * r.v[i];
    }
  const QkRow qk{p, row, rsqrtf(warp_sum(sq) / dim + p.eps)};
  auto dst_offset = [&](int c) { return (static_cast<int64_t>(c / 128) * p.rows + row) * 128 + c % 128; };

  if constexpr (kInt8) {
    __shared__ float row_amax[kQkRows][kQkMaxHeads];
    for (int c0 = 0; c0 < dim; c0 += 256) {  // lanes 0-15 hold head c0 / 128, lanes 16-31 the next one
      const int c = c0 + lane * 8;
      float a = 0.0f;
      if (valid && c < dim) {
        const Vec8 n = qk.values(c);
#pragma unroll
        for (int i = 0; i < 8; ++i) a = fmaxf(a, fabsf(n.v[i]));
      }
#pragma unroll
      for (int o = 8; o > 0; o >>= 1) a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, o));
      if (lane % 16 == 0 && c < dim) row_amax[warp][c / 128] = a;
    }
    __syncthreads();
    if (!valid) return;
    const int64_t groups_per_head = (p.rows + 63) / 64 * 32;
    for (int c = lane * 8; c < dim; c += 256) {
      const int head = c / 128;
      const float amax = fmaxf(row_amax[warp % 8][head], row_amax[warp % 8 + 8][head]);
      const float scale = quant::sage_int8_scale(amax);
      const Vec8 n = qk.values(c);
      uint2 codes;
      int8_t* b = reinterpret_cast<int8_t*>(&codes);
#pragma unroll
      for (int i = 0; i < 8; ++i) b[i] = quant::sage_int8_code(n.v[i], scale);
      *reinterpret_cast<uint2*>(static_cast<int8_t*>(p.dst) + dst_offset(c)) = codes;
      if (warp < 8 && lane % 16 == 0)  // group (64-row block, 16-row slice in it, row % 8)
        p.int8_scale[head * groups_per_head + (row / 64) * 32 + ((row % 64) / 16) * 8 + row % 8] = scale;
    }
  } else {
    __shared__ float slice[kPartials ? kQkRows : 1][256];
    for (int c0 = 0; c0 < dim; c0 += 256) {
      const int c = c0 + lane * 8;
      Vec8 n{};
      if (valid && c < dim) n = qk.values(c);
      if (p.fp4) {  // a 16-channel block is a lane pair; every lane reaches the shuffle
        float a = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) a = fmaxf(a, fabsf(n.v[i]));
        const Fp4Block block(fmaxf(a, __shfl_xor_sync(0xffffffff, a, 1)));
#pragma unroll
        for (int i = 0; i < 8; ++i) n.v[i] = block.rounded(n.v[i]);
      }
      if (valid && c < dim) store8(static_cast<bf16*>(p.dst) + dst_offset(c), n);
      if constexpr (kPartials) {
#pragma unroll
        for (int i = 0; i < 8; ++i) slice[warp][lane * 8 + i] = n.v[i];
        __syncthreads();
        if (threadIdx.x < 256 && c0 + static_cast<int>(threadIdx.x) < dim) {
          float sum = 0.0f;
#pragma unroll
          for (int r = 0; r < kQkRows; ++r) sum += slice[r][threadIdx.x];
          p.channel_partials[static_cast<int64_t>(blockIdx.x) * dim + c0 + threadIdx.x] = sum;
        }
        __syncthreads();
      }
    }
  }
}

// 64 x 64 tiles through shared memory so that both the reads and the writes are coalesced.
__global__ void transpose_heads_kernel(const TransposeHeadsParams p) {
  __shared__ bf16 tile[64][66];
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * 64;
  const int c0 = blockIdx.y * 64;  // channel in [0, heads * 128)
  const bf16* src = static_cast<const bf16*>(p.src);
  for (int i = threadIdx.y; i < 64; i += blockDim.y) {
    const int64_t r = r0 + i;
    tile[i][threadIdx.x] = r < p.rows ? src[r * p.src_stride + c0 + threadIdx.x] : __float2bfloat16(0.0f);
  }
  __syncthreads();
  bf16* dst = static_cast<bf16*>(p.dst);
  const int head = c0 / 128;
  for (int i = threadIdx.y; i < 64; i += blockDim.y) {
    const int d = c0 % 128 + i;
    const int64_t r = r0 + threadIdx.x;
    bf16 v = tile[threadIdx.x][i];
    if (p.fp4) {  // 16 consecutive tokens = 16 lanes of a half warp (rows past the end hold 0)
      const float x = __bfloat162float(v);
      float a = fabsf(x);
#pragma unroll
      for (int o = 8; o > 0; o >>= 1) a = fmaxf(a, __shfl_xor_sync(0xffffffff, a, o));
      v = __float2bfloat16_rn(Fp4Block(a).rounded(x));
    }
    if (r < p.rows) dst[(static_cast<int64_t>(head) * 128 + d) * p.dst_stride + r] = v;
  }
}

}  // namespace

void modulated_layer_norm(const RowNormParams& p, cudaStream_t s) {
  launch_row_norm<Op::modulate>(p, s);
}
void gated_residual_norm(const RowNormParams& p, cudaStream_t s) {
  launch_row_norm<Op::gated_norm>(p, s);
}
void residual_norm_modulate(const RowNormParams& p, cudaStream_t s) {
  launch_row_norm<Op::residual_modulate>(p, s);
}
void gated_residual(const RowNormParams& p, cudaStream_t s) {
  launch_row_norm<Op::gated_residual>(p, s);
}
void head_norm_modulate(const RowNormParams& p, cudaStream_t s) {
  launch_row_norm<Op::head>(p, s);
}

void t5_rms_norm(const RowNormParams& p, bool x_is_f32, cudaStream_t stream) {
  FW_CHECK(p.dim % 8 == 0 && p.rows > 0, "t5_rms_norm: dim must be a multiple of 8");
  const unsigned blocks = static_cast<unsigned>((p.rows + kRowsPerBlock - 1) / kRowsPerBlock);
  if (x_is_f32)
    t5_rms_norm_kernel<true><<<blocks, kRowsPerBlock * 32, 0, stream>>>(p);
  else
    t5_rms_norm_kernel<false><<<blocks, kRowsPerBlock * 32, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

void qk_norm_rope(const QkNormRopeParams& p, cudaStream_t stream) {
  FW_CHECK(p.rows > 0 && p.heads > 0 && p.src_stride % 8 == 0, "qk_norm_rope: bad shape");
  FW_CHECK(!(p.int8_scale && p.channel_partials), "qk_norm_rope: INT8 codes or channel sums, not both");
  FW_CHECK(!p.int8_scale || p.heads <= kQkMaxHeads, "qk_norm_rope: INT8 codes for at most 64 heads");
  const unsigned blocks = static_cast<unsigned>((p.rows + kQkRows - 1) / kQkRows);
  if (p.int8_scale)
    qk_norm_rope_kernel<true, false><<<blocks, kQkRows * 32, 0, stream>>>(p);
  else if (p.channel_partials)
    qk_norm_rope_kernel<false, true><<<blocks, kQkRows * 32, 0, stream>>>(p);
  else
    qk_norm_rope_kernel<false, false><<<blocks, kQkRows * 32, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

void transpose_heads(const TransposeHeadsParams& p, cudaStream_t stream) {
  FW_CHECK(p.rows > 0 && p.heads > 0 && p.dst_stride >= p.rows, "transpose_heads: bad shape");
  const dim3 grid(static_cast<unsigned>((p.rows + 63) / 64), p.heads * 2);
  transpose_heads_kernel<<<grid, dim3(64, 8), 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
