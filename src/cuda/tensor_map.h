// TMA tensor maps (CUtensorMap) for bf16 and 8-bit tiles, encoded through the driver entry point so that
// nothing links libcuda directly (the CUDA runtime finds the driver at run time).
#pragma once

#include <cuda.h>

#include <array>
#include <cstdint>

namespace fastwan::cuda {

enum class TmaElement { bf16, byte };  // byte: int8 or FP8 codes

// A rank-3 tensor with dims {d0 (contiguous), d1, d2} and byte strides {stride1, stride2} for d1, d2, loaded
// in boxes of {box0, box1, 1} with 128-byte swizzle (box0 elements must be 128 bytes). Out-of-bounds elements
// read as zero.
CUtensorMap make_tensor_map_3d_sw128(const void* base, TmaElement element, std::array<uint64_t, 3> dims,
                                     std::array<uint64_t, 2> byte_strides, std::array<uint32_t, 2> box);

}  // namespace fastwan::cuda
