// The wgmma shapes Attn-QAT's Hopper forward needs beside ops/cuda/hopper.cuh's: S = Q.K^T on a 64-key tile
// (m64n64k16, both operands in shared memory) and O += P.V with V as it lies in memory, [keys][head_dim]
// row-major, i.e. N-major for the B operand (imm-trans-b = 1), P from registers (m64n64k16 for D = 64,
// m64n128k16 for D = 128). sm_90a only.
#pragma once

#include "ops/cuda/hopper.cuh"

namespace fastwan::cuda::attn_qat::wgmma {

// Descriptor of an N-major B operand in 128-byte-swizzled rows as TMA writes a [keys][64 channels] box:
// each key is one 128-byte row (64 bf16 channels), 8 keys make a 1024-byte swizzle atom. In the canonical
// MN-major SW128 layout ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)) the leading byte offset steps to the next 64
// channels (the next TMA box, `part_bytes` further) and the stride byte offset to the next 8 keys (1024).
// Advancing K by 16 keys is start address + 16 * 128 bytes (whole atoms, so the swizzle phase is unchanged).
__device__ __forceinline__ uint64_t smem_desc_n_major_sw128(const void* p, uint32_t part_bytes) {
  const uint64_t addr = hopper::smem_addr(p);
  return ((addr & 0x3FFFF) >> 4) | (uint64_t{(part_bytes >> 4) & 0x3FFF} << 16) |
         (uint64_t{1024 >> 4} << 32) | (uint64_t{1} << 62);
}

#define FW_QAT_ACC32(c, d)                                                                                \
  c(d[0]), c(d[1]), c(d[2]), c(d[3]), c(d[4]), c(d[5]), c(d[6]), c(d[7]), c(d[8]), c(d[9]), c(d[10]),     \
      c(d[11]), c(d[12]), c(d[13]), c(d[14]), c(d[15]), c(d[16]), c(d[17]), c(d[18]), c(d[19]), c(d[20]), \
      c(d[21]), c(d[22]), c(d[23]), c(d[24]), c(d[25]), c(d[26]), c(d[27]), c(d[28]), c(d[29]), c(d[30]), \
      c(d[31])
#define FW_QAT_ACC64(c, d)                                                                                \
  FW_QAT_ACC32(c, d), c(d[32]), c(d[33]), c(d[34]), c(d[35]), c(d[36]), c(d[37]), c(d[38]), c(d[39]),     \
      c(d[40]), c(d[41]), c(d[42]), c(d[43]), c(d[44]), c(d[45]), c(d[46]), c(d[47]), c(d[48]), c(d[49]), \
      c(d[50]), c(d[51]), c(d[52]), c(d[53]), c(d[54]), c(d[55]), c(d[56]), c(d[57]), c(d[58]), c(d[59]), \
      c(d[60]), c(d[61]), c(d[62]), c(d[63])
#define FW_QAT_INOUT(x) "+f"(x)
#define FW_QAT_OUT(x) "=f"(x)
#define FW_QAT_D32                                                                                        \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, " \
  "%22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define FW_QAT_D64                                                                                        \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, " \
  "%22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, "  \
  "%42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, "  \
  "%62, %63}"

// D (64x64 fp32) = A . B, both K-major in shared memory: the first k-step of S. D is an output only, so S's
// registers are free between the previous tile's softmax and this product (no false liveness).
__device__ __forceinline__ void m64n64k16_ss_fresh(float (&d)[32], uint64_t desc_a, uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 0, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " FW_QAT_D32 ", %32, %33, p, 1, 1, 0, 0;\n}\n"
      : FW_QAT_ACC32(FW_QAT_OUT, d)
      : "l"(desc_a), "l"(desc_b));
}

// D (64x64 fp32) += A . B, both K-major in shared memory: the other k-steps of S.
__device__ __forceinline__ void m64n64k16_ss(float (&d)[32], uint64_t desc_a, uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " FW_QAT_D32 ", %32, %33, p, 1, 1, 0, 0;\n}\n"
      : FW_QAT_ACC32(FW_QAT_INOUT, d)
      : "l"(desc_a), "l"(desc_b));
}

// D (64x64 fp32) += A (64x16 bf16, registers) . B (16x64 bf16, shared memory, N-major).
__device__ __forceinline__ void m64n64k16_rs_tb(float (&d)[32], const uint32_t (&a)[4], uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " FW_QAT_D32
      ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : FW_QAT_ACC32(FW_QAT_INOUT, d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b));
}

// D (64x128 fp32) += A (64x16 bf16, registers) . B (16x128 bf16, shared memory, N-major).
__device__ __forceinline__ void m64n128k16_rs_tb(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " FW_QAT_D64
      ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : FW_QAT_ACC64(FW_QAT_INOUT, d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b));
}

#undef FW_QAT_ACC32
#undef FW_QAT_ACC64
#undef FW_QAT_INOUT
#undef FW_QAT_OUT
#undef FW_QAT_D32
#undef FW_QAT_D64

// O += A . V for D = 64 or 128 output channels (one instruction: N = D).
template <int D>
__device__ __forceinline__ void pv_rs(float (&o)[D / 2], const uint32_t (&a)[4], uint64_t desc_b) {
  if constexpr (D == 128)
    m64n128k16_rs_tb(o, a, desc_b);
  else
    m64n64k16_rs_tb(o, a, desc_b);
}

}  // namespace fastwan::cuda::attn_qat::wgmma
