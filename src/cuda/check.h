// Checked CUDA calls. A failing CUDA or cuBLAS call is an environment or internal error: it throws
// CudaError (an InternalError) with the call, the file:line and the driver's message, and the CLI prints it
// as one line.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <string>

#include "core/check.h"

namespace fastwan::cuda {

class CudaError : public InternalError {
 public:
  using InternalError::InternalError;
};

// A device allocation that does not fit: the message names the bytes asked for, the GPU's free and total
// memory and what needs less (device.cpp), so a size too large for a 16-24 GB card is one plain line.
class DeviceMemoryError : public CudaError {
 public:
  using CudaError::CudaError;
};

[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, const std::string& what);

}  // namespace fastwan::cuda

#define FW_CUDA_CHECK(expr)                                                                      \
  do {                                                                                           \
    cudaError_t fw_err_ = (expr);                                                                \
    if (fw_err_ != cudaSuccess)                                                                  \
      ::fastwan::cuda::throw_cuda_error(#expr, __FILE__, __LINE__, cudaGetErrorString(fw_err_)); \
  } while (0)

#define FW_CUBLAS_CHECK(expr)                                                                        \
  do {                                                                                               \
    cublasStatus_t fw_st_ = (expr);                                                                  \
    if (fw_st_ != CUBLAS_STATUS_SUCCESS)                                                             \
      ::fastwan::cuda::throw_cuda_error(#expr, __FILE__, __LINE__, cublasLtGetStatusString(fw_st_)); \
  } while (0)

// After a kernel launch: catches launch-configuration errors at once (asynchronous faults surface at the
// next synchronizing call).
#define FW_CUDA_CHECK_LAUNCH() FW_CUDA_CHECK(cudaGetLastError())
