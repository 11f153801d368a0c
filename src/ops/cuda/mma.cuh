// The warp-level tensor-core products mma.sync (sm_80 and later; the Attn-QAT kernels and the portable
// attention) and their fragments. bf16 m16n8k16 fragments are read from shared memory rows with 32-bit
// loads. With g = lane / 4 and t = lane % 4, a thread holds
//   A (16 x 16, row-major): a[0] = A[g][2t, 2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..],
//                           a[3] = A[g+8][2t+8..]
//   B (16 x 8, "col": B^T rows in memory): b[0] = B^T[g][2t, 2t+1], b[1] = B^T[g][2t+8, 2t+9]
//   C (16 x 8, fp32): c[0], c[1] = C[g][2t, 2t+1], c[2], c[3] = C[g+8][2t, 2t+1]
// so the C fragments of n-tiles 2kk and 2kk+1 are, packed to bf16, the A fragment of k-step kk of the next
// product (FlashAttention-2's P from registers). Shared-memory rows are padded by 16 bytes: with a row
// stride of 4 (mod 32) words, the 32 lanes of a fragment load hit 32 different banks.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace fastwan::cuda {

__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// The 8-bit products m16n8k32: INT8 (sm_80 and later, exact in int32) and FP8 e4m3 (sm_89 and later). Four
// consecutive k per 32-bit register: a[0] = A[g][4t..4t+3], a[1] = A[g+8][4t..], a[2] = A[g][16+4t..],
// a[3] = A[g+8][16+4t..]; b[0] = B^T[g][4t..4t+3], b[1] = B^T[g][16+4t..]; C as above.
__device__ __forceinline__ void mma_16832_s8(int (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ void mma_16832_e4m3(float (&c)[4], const uint32_t (&a)[4],
                                               const uint32_t (&b)[2]) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 890
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  __trap();  // no FP8 tensor cores: the host never launches this here (quant/kernel_sets.h)
#endif
}

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t lds32(const __nv_bfloat16* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

// The A fragment of the 16 x 16 block at (row0, col0) of a row-major tile with row stride `ld` elements.
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const __nv_bfloat16* tile, int ld, int row0,
                                       int col0, int lane) {
  const __nv_bfloat16* p = tile + (row0 + lane / 4) * ld + col0 + 2 * (lane % 4);
  a[0] = lds32(p);
  a[1] = lds32(p + 8 * ld);
  a[2] = lds32(p + 8);
  a[3] = lds32(p + 8 * ld + 8);
}

// The B fragment of the product with B^T stored row-major: rows n0 .. n0 + 7 of B^T, columns k0 .. k0 + 15.
__device__ __forceinline__ void load_b(uint32_t (&b)[2], const __nv_bfloat16* tile_t, int ld, int n0, int k0,
                                       int lane) {
  const __nv_bfloat16* p = tile_t + (n0 + lane / 4) * ld + k0 + 2 * (lane % 4);
  b[0] = lds32(p);
  b[1] = lds32(p + 8);
}

// The A fragment of k-step kk from the fp32 C fragments of n-tiles 2kk and 2kk + 1 (rounded to bf16).
__device__ __forceinline__ void c_to_a(uint32_t (&a)[4], const float (&c0)[4], const float (&c1)[4]) {
  a[0] = pack_bf16x2(c0[0], c0[1]);
  a[1] = pack_bf16x2(c0[2], c0[3]);
  a[2] = pack_bf16x2(c1[0], c1[1]);
  a[3] = pack_bf16x2(c1[2], c1[3]);
}

// rows x cols bf16 from global (row stride cols, rows past `valid` read as 0) into a shared tile with row
// stride ld; cols a multiple of 8 (16-byte vectors). All threads of the block take part.
template <int kThreads>
__device__ __forceinline__ void load_rows(__nv_bfloat16* tile, int ld, const __nv_bfloat16* src, int rows,
                                          int cols, int valid) {
  const int vectors_per_row = cols / 8;
  for (int i = threadIdx.x; i < rows * vectors_per_row; i += kThreads) {
    const int r = i / vectors_per_row, c = (i % vectors_per_row) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < valid) v = *reinterpret_cast<const uint4*>(src + static_cast<size_t>(r) * cols + c);
    *reinterpret_cast<uint4*>(tile + r * ld + c) = v;
  }
}

// The same rows, transposed: tile_t[c][r] (row stride ld_t).
template <int kThreads>
__device__ __forceinline__ void load_rows_transposed(__nv_bfloat16* tile_t, int ld_t,
                                                     const __nv_bfloat16* src, int rows, int cols,
                                                     int valid) {
  const int vectors_per_row = cols / 8;
  for (int i = threadIdx.x; i < rows * vectors_per_row; i += kThreads) {
    const int r = i % rows, c = (i / rows) * 8;  // consecutive threads: consecutive rows (fewer conflicts)
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < valid) v = *reinterpret_cast<const uint4*>(src + static_cast<size_t>(r) * cols + c);
    const __nv_bfloat16* e = reinterpret_cast<const __nv_bfloat16*>(&v);
#pragma unroll
    for (int j = 0; j < 8; ++j) tile_t[(c + j) * ld_t + r] = e[j];
  }
}

}  // namespace fastwan::cuda
