#include "cuda/tensor_map.h"

#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include "cuda/check.h"

namespace fastwan::cuda {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encode_fn() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    FW_CUDA_CHECK(
        cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
    FW_CHECK(q == cudaDriverEntryPointSuccess && p != nullptr,
             "the CUDA driver has no cuTensorMapEncodeTiled");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
  }();
  return fn;
}

}  // namespace

CUtensorMap make_tensor_map_3d_sw128(const void* base, TmaElement element, std::array<uint64_t, 3> dims,
                                     std::array<uint64_t, 2> byte_strides, std::array<uint32_t, 2> box) {
  const uint32_t bytes = element == TmaElement::bf16 ? 2 : 1;
  FW_CHECK(box[0] * bytes == 128, "128-byte swizzle needs a 128-byte inner box");
  FW_CHECK(byte_strides[0] % 16 == 0 && byte_strides[1] % 16 == 0,
           "TMA strides must be multiples of 16 bytes");
  FW_CHECK(reinterpret_cast<uintptr_t>(base) % 16 == 0, "TMA base must be 16-byte aligned");
  CUtensorMap map;
  const cuuint64_t gdim[3] = {dims[0], dims[1], dims[2]};
  const cuuint64_t gstride[2] = {byte_strides[0], byte_strides[1]};
  const cuuint32_t box_dim[3] = {box[0], box[1], 1};
  const cuuint32_t elem_stride[3] = {1, 1, 1};
  const CUresult r = encode_fn()(
      &map, element == TmaElement::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_UINT8, 3,
      const_cast<void*>(base), gdim, gstride, box_dim, elem_stride, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  FW_CHECK(r == CUDA_SUCCESS,
           "cuTensorMapEncodeTiled failed with CUresult " + std::to_string(static_cast<int>(r)));
  return map;
}

}  // namespace fastwan::cuda
