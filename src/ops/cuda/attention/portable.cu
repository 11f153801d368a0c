// The portable kernels of the attention family (sm_80 and later): FlashAttention-2's structure on mma.sync.
// A CTA of 8 warps computes a 128-row query tile of one head; each warp owns 16 rows and keeps its Q
// fragments in registers. K and V^T of one 128-key block at a time sit in shared memory (70 KB for bf16, so
// that the 100 KB of the consumer GPUs hold it), loaded with cp.async: K_{j+1} streams in under block j's
// softmax and P.V, V_{j+1} under Q.K_{j+1}. The accumulators have the same per-thread layout as Hopper's
// wgmma (fragment.cuh), so the online softmax, φ on P, the 8-bit dequantization and the epilogue are the
// Hopper kernels' own code and every operand type computes what its Hopper instantiation computes:
//   bf16 / fp4  mma.sync m16n8k16 bf16 for both products (fp4: keys last to first, φ on P per 16 keys)
//   sage8       INT8 m16n8k32 for Q.K (exact), FP8 e4m3 m16n8k32 for P.V (sm_89 and later) into a fresh
//               accumulator per block, promoted in fp32: the same two-level accumulation
#include <cuda_bf16.h>

#include "cuda/check.h"
#include "ops/cuda/attention/epilogue.cuh"
#include "ops/cuda/attention/launch.h"
#include "ops/cuda/attention/sage8_fragment.cuh"
#include "ops/cuda/cp_async.cuh"
#include "ops/cuda/mma.cuh"

namespace fastwan::cuda::attention {
namespace {

constexpr int kWarps = kBlockM / 16;
constexpr int kPortableThreads = 32 * kWarps;
constexpr int kPadBytes = 16;  // per shared row: conflict-free 32-bit fragment loads (mma.cuh)

template <int kElementBytes>
struct PortableTiles {
  static constexpr int kRowBytes = kD * kElementBytes + kPadBytes;
  static constexpr int kVectors = kD * kElementBytes / 16;  // 16-byte vectors per row
  // Row stride in 16-bit words: the fragment loads of mma.cuh (load_a, load_b) read 32-bit words of the tile
  // seen as bf16 pairs, which for 8-bit operands are the words of m16n8k32 (byte offset = 2 x column).
  static constexpr int kLd = kRowBytes / 2;
  alignas(16) char k[kBlockN * kRowBytes];  // [key][dim] (Q before the first block)
  alignas(16) char vt[kD * kRowBytes];      // [dim][key]
  static __device__ const __nv_bfloat16* words(const char* tile) {
    return reinterpret_cast<const __nv_bfloat16*>(tile);
  }
};

// Rows [row0, row0 + 128) of a [rows][128] matrix into a padded tile; rows past `rows` are zero.
template <class Tiles>
__device__ __forceinline__ void load_rows_async(char* tile, const char* src, int row0, int rows) {
  for (int i = threadIdx.x; i < 128 * Tiles::kVectors; i += kPortableThreads) {
    const int r = i / Tiles::kVectors, c = (i % Tiles::kVectors) * 16;
    const bool valid = row0 + r < rows;
    const char* from = valid ? src + (static_cast<size_t>(row0) + r) * (Tiles::kVectors * 16) + c : src;
    cp_async_16(tile + r * Tiles::kRowBytes + c, from, valid ? 16 : 0);
  }
}

// Key columns [key0, key0 + 128) of V^T ([128][stride] elements); keys at or past `keys` are zero.
template <class Tiles, int kElementBytes>
__device__ __forceinline__ void load_vt_async(char* tile, const char* vt, int stride, int key0, int keys) {
  constexpr int kPerVector = 16 / kElementBytes;
  for (int i = threadIdx.x; i < 128 * Tiles::kVectors; i += kPortableThreads) {
    const int d = i / Tiles::kVectors, key = key0 + (i % Tiles::kVectors) * kPerVector;
    const int n = min(max(keys - key, 0), kPerVector);
    const char* from = n ? vt + (static_cast<size_t>(d) * stride + key) * kElementBytes : vt;
    cp_async_16(tile + d * Tiles::kRowBytes + (key - key0) * kElementBytes, from, n * kElementBytes);
  }
}

// Operand bases of this CTA's head.
struct HeadOperands {
  const char* q;
  const char* k;
  const char* vt;
  __device__ HeadOperands(const AttentionParams& p, int head, int bytes)
      : q(static_cast<const char*>(p.q) + static_cast<size_t>(head) * p.seq_q * kD * bytes),
        k(static_cast<const char*>(p.k) + static_cast<size_t>(head) * p.seq_kv * kD * bytes),
        vt(static_cast<const char*>(p.vt) + static_cast<size_t>(head) * kD * p.vt_stride * bytes) {}
};

// bf16 operands (Traits: Bf16Traits, or Fp4Traits for Attn-QAT's FP4 attention emulated on NVFP4 values).
template <class Traits>
__global__ void __launch_bounds__(kPortableThreads, 1) portable_bf16_kernel(const AttentionParams p) {
  using Tiles = PortableTiles<2>;
  constexpr int kLd = Tiles::kLd;
  extern __shared__ __align__(16) char smem_raw[];
  Tiles& s = *reinterpret_cast<Tiles*>(smem_raw);
  const __nv_bfloat16* k_tile = s.words(s.k);
  const __nv_bfloat16* vt_tile = s.words(s.vt);
  const int q_tile = blockIdx.x, head = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const ConsumerThread t(warp / 4, threadIdx.x % 128);
  const KernelArgs args = kernel_args(p);
  const HeadOperands in(p, head, 2);
  const int n_blocks = (p.seq_kv + kBlockN - 1) / kBlockN;

  load_rows_async<Tiles>(s.k, in.q, q_tile * kBlockM, p.seq_q);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();
  uint32_t qa[kD / 16][4];
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) load_a(qa[kk], k_tile, kLd, warp * 16, 16 * kk, lane);
  __syncthreads();
  const int first = key_block<Traits>(0, n_blocks) * kBlockN;
  load_rows_async<Tiles>(s.k, in.k, first, p.seq_kv);
  cp_async_commit();
  load_vt_async<Tiles, 2>(s.vt, in.vt, p.vt_stride, first, p.seq_kv);
  cp_async_commit();

  float o[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = 0.0f;
  OnlineSoftmax<0> sm;
  for (int j = 0; j < n_blocks; ++j) {
    const int key0 = key_block<Traits>(j, n_blocks) * kBlockN;
    const bool more = j + 1 < n_blocks;
    const int next = more ? key_block<Traits>(j + 1, n_blocks) * kBlockN : 0;
    cp_async_wait<1>();  // K_j (V_j may still be in flight)
    __syncthreads();
    float sc[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) sc[i] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk)
#pragma unroll
      for (int c = 0; c < kBlockN / 8; ++c) {
        uint32_t b[2];
        load_b(b, k_tile, kLd, 8 * c, 16 * kk, lane);
        mma_16816(chunk(sc, c), qa[kk], b);
      }
    __syncthreads();  // every warp is done with K_j
    if (more) load_rows_async<Tiles>(s.k, in.k, next, p.seq_kv);
    cp_async_commit();  // possibly empty: the group count stays uniform
    const int valid = p.seq_kv - key0;
    const Correction corr = valid >= kBlockN ? sm.update<false>(sc, args.scale_log2, valid, t.col_in_chunk)
                                             : sm.update<true>(sc, args.scale_log2, valid, t.col_in_chunk);
    if constexpr (Traits::kReverse) quantize_p(sc);
    rescale(o, corr);
    cp_async_wait<1>();  // V_j (K_{j+1} may still be in flight)
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[4];
      p_fragment(a, sc, kk);
#pragma unroll
      for (int c = 0; c < kD / 8; ++c) {
        uint32_t b[2];
        load_b(b, vt_tile, kLd, 8 * c, 16 * kk, lane);
        mma_16816(chunk(o, c), a, b);
      }
    }
    __syncthreads();  // every warp is done with V_j
    if (more) load_vt_async<Tiles, 2>(s.vt, in.vt, p.vt_stride, next, p.seq_kv);
    cp_async_commit();
  }
  store_output<false>(args, t, q_tile, head, o, sm);
}

// SageAttention2's operands (attention.h): INT8 Q and K, e4m3 V^T with its keys permuted in groups of 16.
__global__ void __launch_bounds__(kPortableThreads, 1) portable_sage8_kernel(const AttentionParams p) {
  using Tiles = PortableTiles<1>;
  extern __shared__ __align__(16) char smem_raw[];
  Tiles& s = *reinterpret_cast<Tiles*>(smem_raw);
  const int q_tile = blockIdx.x, head = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const ConsumerThread t(warp / 4, threadIdx.x % 128);
  const KernelArgs args = kernel_args(p);
  const HeadOperands in(p, head, 1);
  const int n_blocks = (p.seq_kv + kBlockN - 1) / kBlockN;
  const int vt_keys = (p.seq_kv + 15) / 16 * 16;  // whole permuted groups (the padding is zero)
  const SageScales scales(args, t, q_tile, head, n_blocks);

  load_rows_async<Tiles>(s.k, in.q, q_tile * kBlockM, p.seq_q);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();
  uint32_t qa[kD / 32][4];
#pragma unroll
  for (int kk = 0; kk < kD / 32; ++kk)
    load_a(qa[kk], Tiles::words(s.k), Tiles::kLd, warp * 16, 16 * kk, lane);
  __syncthreads();
  load_rows_async<Tiles>(s.k, in.k, 0, p.seq_kv);
  cp_async_commit();
  load_vt_async<Tiles, 1>(s.vt, in.vt, p.vt_stride, 0, vt_keys);
  cp_async_commit();

  float o[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = 0.0f;
  OnlineSoftmax<8807> sm;
  for (int j = 0; j < n_blocks; ++j) {
    const bool more = j + 1 < n_blocks;
    cp_async_wait<1>();
    __syncthreads();
    int si[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) si[i] = 0;
#pragma unroll
    for (int kk = 0; kk < kD / 32; ++kk)
#pragma unroll
      for (int c = 0; c < kBlockN / 8; ++c) {
        uint32_t b[2];
        load_b(b, Tiles::words(s.k), Tiles::kLd, 8 * c, 16 * kk, lane);
        mma_16832_s8(chunk(si, c), qa[kk], b);
      }
    __syncthreads();
    if (more) load_rows_async<Tiles>(s.k, in.k, (j + 1) * kBlockN, p.seq_kv);
    cp_async_commit();
    float sc[64];
    const Correction corr = sage_softmax(sm, si, sc, scales.of_block(j), j, args, t);
    uint32_t pa[16];
    pack_p_e4m3(sc, pa);
    float ot[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) ot[i] = 0.0f;
    cp_async_wait<1>();
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBlockN / 32; ++kk) {
      const uint32_t a[4] = {pa[4 * kk], pa[4 * kk + 1], pa[4 * kk + 2], pa[4 * kk + 3]};
#pragma unroll
      for (int c = 0; c < kD / 8; ++c) {
        uint32_t b[2];
        load_b(b, Tiles::words(s.vt), Tiles::kLd, 8 * c, 16 * kk, lane);
        mma_16832_e4m3(chunk(ot, c), a, b);
      }
    }
    promote(o, ot, corr);
    __syncthreads();
    if (more) load_vt_async<Tiles, 1>(s.vt, in.vt, p.vt_stride, (j + 1) * kBlockN, vt_keys);
    cp_async_commit();
  }
  store_output<true>(args, t, q_tile, head, o, sm);
}

template <class Tiles, class Kernel>
void launch(DeviceContext& ctx, const AttentionParams& p, Kernel* kernel) {
  constexpr int smem = sizeof(Tiles);
  if (ctx.first_use(reinterpret_cast<const void*>(kernel)))  // per device, before capture
    FW_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const dim3 grid((p.seq_q + kBlockM - 1) / kBlockM, p.heads);
  kernel<<<grid, kPortableThreads, smem, ctx.stream()>>>(p);
  FW_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_portable(DeviceContext& ctx, const AttentionParams& p) {
  switch (p.operands) {
    case AttentionOperands::bf16:
      return launch<PortableTiles<2>>(ctx, p, &portable_bf16_kernel<Bf16Traits>);
    case AttentionOperands::fp4:
      return launch<PortableTiles<2>>(ctx, p, &portable_bf16_kernel<Fp4Traits>);
    case AttentionOperands::sage8:
      FW_CHECK(ctx.capability().sm() >= 89, "flash_attention: sage8 needs FP8 tensor cores (sm_89 or newer)");
      return launch<PortableTiles<1>>(ctx, p, &portable_sage8_kernel);
  }
}

}  // namespace fastwan::cuda::attention
