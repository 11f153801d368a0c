#include "ops/cuda/sage_quant.h"

#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include "cuda/check.h"
#include "quant/sage_math.h"

namespace fastwan::cuda {
namespace {

using bf16 = __nv_bfloat16;

// mean[c] = sum over slices of partials[slice][c] / rows: 32 channels per block, 32 threads per channel
// striding over the slices (eight loads in flight each: the sum is latency-bound otherwise), then a
// fixed-order sum of the 32 (deterministic).
__global__ void __launch_bounds__(1024)
    channel_mean_kernel(const float* partials, int64_t slices, int dim, int64_t rows, float* mean) {
  __shared__ float part[32][33];
  const int lane = threadIdx.x % 32, g = threadIdx.x / 32;
  const int c = blockIdx.x * 32 + lane;
  float s = 0.0f;
  if (c < dim) {
#pragma unroll 8
    for (int64_t i = g; i < slices; i += 32) s += partials[i * dim + c];
  }
  part[g][lane] = s;
  __syncthreads();
  if (g == 0 && c < dim) {
    float total = 0.0f;
#pragma unroll
    for (int i = 0; i < 32; ++i) total += part[i][lane];
    mean[c] = total / static_cast<float>(rows);
  }
}

// One block per (128-key block, head): 2 threads per key, 64 channels each, K - mean kept in registers while
// the 4 group maxima are found (integer atomicMax on non-negative floats: order-independent).
__global__ void __launch_bounds__(256) k_quantize_kernel(const SageQuantizeKParams p) {
  __shared__ unsigned group_amax[4];
  const int head = blockIdx.y, blk = blockIdx.x;
  const int key = threadIdx.x / 2, half = threadIdx.x % 2;
  const int64_t row = static_cast<int64_t>(blk) * 128 + key;
  const bool valid = row < p.rows;
  if (threadIdx.x < 4) group_amax[threadIdx.x] = 0;
  __syncthreads();
  const int64_t offset = (static_cast<int64_t>(head) * p.rows + row) * 128 + half * 64;
  const float* mean = p.mean + head * 128 + half * 64;
  float x[64];
  float a = 0.0f;
  if (valid) {
    const uint4* src = reinterpret_cast<const uint4*>(static_cast<const bf16*>(p.k) + offset);
#pragma unroll
    for (int v = 0; v < 8; ++v) {
      const uint4 raw = src[v];
      const bf16* h = reinterpret_cast<const bf16*>(&raw);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        x[8 * v + i] = __bfloat162float(h[i]) - mean[8 * v + i];
        a = fmaxf(a, fabsf(x[8 * v + i]));
      }
    }
  }
  const int group = (key % 8) / 2;
  atomicMax(&group_amax[group], __float_as_uint(a));
  __syncthreads();
  const int64_t blocks = (p.rows + 127) / 128;
  if (threadIdx.x < 4)
    p.scale[(static_cast<int64_t>(head) * blocks + blk) * 4 + threadIdx.x] =
        quant::sage_int8_scale(__uint_as_float(group_amax[threadIdx.x]));
  if (!valid) return;
  const float scale = quant::sage_int8_scale(__uint_as_float(group_amax[group]));
  uint4* dst = reinterpret_cast<uint4*>(static_cast<int8_t*>(p.codes) + offset);
#pragma unroll
  for (int v = 0; v < 4; ++v) {
    uint4 out;
    int8_t* b = reinterpret_cast<int8_t*>(&out);
#pragma unroll
    for (int i = 0; i < 16; ++i) b[i] = quant::sage_int8_code(x[16 * v + i], scale);
    dst[v] = out;
  }
}

// Column maxima of |V| over 128-row slabs, folded into amax with integer atomics (order-independent). Eight
// rows' loads in flight per thread: one at a time, the slab's 128 loads are 128 memory latencies.
__global__ void v_amax_kernel(const SageQuantizeVParams p) {
  const int dim = p.heads * 128;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * 128;
  const int64_t r1 = min(p.rows, r0 + 128);
  for (int g = threadIdx.x; g < dim / 8; g += blockDim.x) {
    float a[8] = {};
#pragma unroll 8
    for (int64_t r = r0; r < r1; ++r) {
      const uint4 raw =
          *reinterpret_cast<const uint4*>(static_cast<const bf16*>(p.src) + r * p.src_stride + 8 * g);
      const bf16* h = reinterpret_cast<const bf16*>(&raw);
#pragma unroll
      for (int i = 0; i < 8; ++i) a[i] = fmaxf(a[i], fabsf(__bfloat162float(h[i])));
    }
#pragma unroll
    for (int i = 0; i < 8; ++i)
      atomicMax(reinterpret_cast<unsigned*>(p.amax) + 8 * g + i, __float_as_uint(a[i]));
  }
}

// 64 storage positions x 64 channels per block through shared memory: read V rows coalesced, write e4m3 V^T
// rows coalesced, position p taking key (p / 16) * 16 + perm[p % 16].
__global__ void v_quantize_kernel(const SageQuantizeVParams p) {
  __shared__ float tile[64][65];
  const int64_t p0 = static_cast<int64_t>(blockIdx.x) * 64;
  const int c0 = blockIdx.y * 64;  // channel in [0, heads * 128)
  const bf16* src = static_cast<const bf16*>(p.src);
  for (int i = threadIdx.y; i < 64; i += blockDim.y) {  // i: key offset in the tile
    const int64_t r = p0 + i;
    tile[i][threadIdx.x] = r < p.rows ? __bfloat162float(src[r * p.src_stride + c0 + threadIdx.x]) : 0.0f;
  }
  __syncthreads();
  constexpr int kPerm[16] = {0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15};
  const int64_t padded = (p.rows + 15) / 16 * 16;
  const int pos = threadIdx.x;
  const int key = (pos / 16) * 16 + kPerm[pos % 16];
  uint8_t* dst = static_cast<uint8_t*>(p.vt);
  const int head = c0 / 128;
  for (int i = threadIdx.y; i < 64; i += blockDim.y) {
    const int ch = c0 + i;
    const float s = p.amax[ch] / 448.0f;
    if (blockIdx.x == 0 && threadIdx.x == 0) p.scale[ch] = s;
    if (p0 + pos >= padded) continue;
    const float v = tile[key][i];
    const uint8_t code = s > 0.0f ? __nv_cvt_float_to_fp8(__fdiv_rn(v, s), __NV_SATFINITE, __NV_E4M3) : 0;
    dst[(static_cast<int64_t>(head) * 128 + ch % 128) * p.vt_stride + p0 + pos] = code;
  }
}

}  // namespace

void sage_quantize_k(const SageQuantizeKParams& p, cudaStream_t stream) {
  FW_CHECK(p.rows > 0 && p.heads > 0, "sage_quantize_k: empty problem");
  const int dim = p.heads * 128;
  channel_mean_kernel<<<(dim + 31) / 32, 1024, 0, stream>>>(p.partials, sage_k_partial_rows(p.rows), dim,
                                                            p.rows, p.mean);
  FW_CUDA_CHECK_LAUNCH();
  const dim3 grid(static_cast<unsigned>((p.rows + 127) / 128), p.heads);
  k_quantize_kernel<<<grid, 256, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

void sage_quantize_v(const SageQuantizeVParams& p, cudaStream_t stream) {
  FW_CHECK(p.rows > 0 && p.heads > 0 && p.src_stride % 8 == 0, "sage_quantize_v: bad shape");
  FW_CHECK(p.vt_stride >= sage_vt_stride(p.rows) && p.vt_stride % 16 == 0,
           "sage_quantize_v: vt_stride must be >= rows rounded up to 16, and % 16");
  FW_CUDA_CHECK(cudaMemsetAsync(p.amax, 0, sizeof(float) * p.heads * 128, stream));
  v_amax_kernel<<<static_cast<unsigned>((p.rows + 127) / 128), 192, 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
  const dim3 grid(static_cast<unsigned>((sage_vt_stride(p.rows) + 63) / 64), p.heads * 2);
  v_quantize_kernel<<<grid, dim3(64, 8), 0, stream>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace fastwan::cuda
