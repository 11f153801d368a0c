#include "ops/cuda/conv.h"

#include <cudnn.h>

#include <map>
#include <mutex>
#include <tuple>

#include "cuda/check.h"

#define FW_CUDNN_CHECK(expr)                                                                     \
  do {                                                                                           \
    cudnnStatus_t fw_st_ = (expr);                                                               \
    if (fw_st_ != CUDNN_STATUS_SUCCESS)                                                          \
      ::fastwan::cuda::throw_cuda_error(#expr, __FILE__, __LINE__, cudnnGetErrorString(fw_st_)); \
  } while (0)

namespace fastwan::cuda {
namespace {

struct ConvPlan {
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnActivationDescriptor_t relu, identity;
  cudnnConvolutionFwdAlgo_t fastest;  // any fused op with ReLU, and plain convolutions
  size_t workspace = 0;
};

using Key = std::tuple<int, int, int, int, int, int, int, int>;

}  // namespace

class ConvEngine {
 public:
  ConvEngine() { FW_CUDNN_CHECK(cudnnCreate(&handle_)); }
  ~ConvEngine() {
    for (auto& [key, plan] : plans_) {
      cudnnDestroyTensorDescriptor(plan.x);
      cudnnDestroyTensorDescriptor(plan.y);
      cudnnDestroyTensorDescriptor(plan.bias);
      cudnnDestroyFilterDescriptor(plan.w);
      cudnnDestroyConvolutionDescriptor(plan.conv);
      cudnnDestroyActivationDescriptor(plan.relu);
      cudnnDestroyActivationDescriptor(plan.identity);
    }
    cudaFree(workspace_);
    cudaFree(zero_bias_);
    cudnnDestroy(handle_);
  }

  void run(const Conv2dParams& p, cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mu_);
    const ConvPlan& plan = plan_for(p);
    if (plan.workspace > workspace_bytes_) {
      if (workspace_) FW_CUDA_CHECK(cudaFree(workspace_));
      FW_CUDA_CHECK(cudaMalloc(&workspace_, plan.workspace));
      workspace_bytes_ = plan.workspace;
    }
    FW_CUDNN_CHECK(cudnnSetStream(handle_, stream));
    const float one = 1.0f, zero = 0.0f;
    if (!p.relu && !p.bias) {
      // y = conv(x) (+ z): nothing to fuse but the accumulation, which beta does.
      if (p.z && p.z != p.y)
        FW_CUDA_CHECK(cudaMemcpyAsync(p.y, p.z, bytes_of(p), cudaMemcpyDeviceToDevice, stream));
      FW_CUDNN_CHECK(cudnnConvolutionForward(handle_, &one, plan.x, p.x, plan.w, p.w, plan.conv, plan.fastest,
                                             workspace_, workspace_bytes_, p.z ? &one : &zero, plan.y, p.y));
      return;
    }
    const void* bias = p.bias ? p.bias : zero_bias(p);
    // cuDNN allows the identity activation only with IMPLICIT_PRECOMP_GEMM.
    const cudnnConvolutionFwdAlgo_t algo =
        p.relu ? plan.fastest : CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    const float alpha2 = p.z ? 1.0f : 0.0f;
    // Without a residual, z aliases y with alpha2 = 0 (cuDNN requires a valid z descriptor).
    FW_CUDNN_CHECK(cudnnConvolutionBiasActivationForward(
        handle_, &one, plan.x, p.x, plan.w, p.w, plan.conv, algo, workspace_, workspace_bytes_, &alpha2,
        plan.y, p.z ? p.z : p.y, plan.bias, bias, p.relu ? plan.relu : plan.identity, plan.y, p.y));
  }

 private:
  const ConvPlan& plan_for(const Conv2dParams& p) {
    const Key key{p.n, p.h, p.w_px, p.c_in, p.c_out, p.kernel, p.kt, static_cast<int>(p.dtype)};
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    ConvPlan plan;
    FW_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan.x));
    FW_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan.y));
    FW_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan.bias));
    FW_CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan.w));
    FW_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan.conv));
    const cudnnDataType_t t = p.dtype == DType::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
    const int pad = p.kernel / 2;
    if (p.kt == 1) {
      FW_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan.x, CUDNN_TENSOR_NHWC, t, p.n, p.c_in, p.h, p.w_px));
      FW_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan.y, CUDNN_TENSOR_NHWC, t, p.n, p.c_out, p.h, p.w_px));
      FW_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan.bias, CUDNN_TENSOR_NHWC, t, 1, p.c_out, 1, 1));
      FW_CUDNN_CHECK(
          cudnnSetFilter4dDescriptor(plan.w, t, CUDNN_TENSOR_NHWC, p.c_out, p.c_in, p.kernel, p.kernel));
      FW_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(plan.conv, pad, pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                                     CUDNN_DATA_FLOAT));
    } else {  // NDHWC, one sample, frames as depth
      const int x_dims[5] = {1, p.c_in, p.n + p.kt - 1, p.h, p.w_px},
                y_dims[5] = {1, p.c_out, p.n, p.h, p.w_px};
      const int b_dims[5] = {1, p.c_out, 1, 1, 1}, w_dims[5] = {p.c_out, p.c_in, p.kt, p.kernel, p.kernel};
      const int pads[3] = {0, pad, pad}, ones[3] = {1, 1, 1};
      FW_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(plan.x, CUDNN_TENSOR_NHWC, t, 5, x_dims));
      FW_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(plan.y, CUDNN_TENSOR_NHWC, t, 5, y_dims));
      FW_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(plan.bias, CUDNN_TENSOR_NHWC, t, 5, b_dims));
      FW_CUDNN_CHECK(cudnnSetFilterNdDescriptor(plan.w, t, CUDNN_TENSOR_NHWC, 5, w_dims));
      FW_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(plan.conv, 3, pads, ones, ones, CUDNN_CROSS_CORRELATION,
                                                     CUDNN_DATA_FLOAT));
    }
    FW_CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, CUDNN_TENSOR_OP_MATH));
    FW_CUDNN_CHECK(cudnnCreateActivationDescriptor(&plan.relu));
    FW_CUDNN_CHECK(
        cudnnSetActivationDescriptor(plan.relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    FW_CUDNN_CHECK(cudnnCreateActivationDescriptor(&plan.identity));
    FW_CUDNN_CHECK(
        cudnnSetActivationDescriptor(plan.identity, CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    // cuDNN's heuristics pick the algorithm: measuring them (cudnnFind) was no faster for TAEHV at 480p
    // (57 vs 61 ms) and cost seconds of trial runs in every new process.
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int found = 0;
    FW_CUDNN_CHECK(
        cudnnGetConvolutionForwardAlgorithm_v7(handle_, plan.x, plan.w, plan.conv, plan.y, 8, &found, perf));
    plan.fastest = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    for (int i = 0; i < found; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= (size_t{1} << 30)) {
        plan.fastest = perf[i].algo;
        break;
      }
    for (auto algo : {plan.fastest, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM}) {
      size_t bytes = 0;
      FW_CUDNN_CHECK(
          cudnnGetConvolutionForwardWorkspaceSize(handle_, plan.x, plan.w, plan.conv, plan.y, algo, &bytes));
      plan.workspace = std::max(plan.workspace, bytes);
    }
    return plans_.emplace(key, plan).first->second;
  }

  static size_t bytes_of(const Conv2dParams& p) {  // of y
    return static_cast<size_t>(p.n) * p.h * p.w_px * p.c_out * 2;
  }
  // A zero bias for fused ReLU convolutions that have none (cuDNN's fused call always adds one).
  const void* zero_bias(const Conv2dParams& p) {
    const size_t need = static_cast<size_t>(p.c_out) * 2;
    if (need > zero_bias_bytes_) {
      if (zero_bias_) FW_CUDA_CHECK(cudaFree(zero_bias_));
      FW_CUDA_CHECK(cudaMalloc(&zero_bias_, need));
      FW_CUDA_CHECK(cudaMemset(zero_bias_, 0, need));
      zero_bias_bytes_ = need;
    }
    return zero_bias_;
  }

  cudnnHandle_t handle_ = nullptr;
  void* zero_bias_ = nullptr;
  size_t zero_bias_bytes_ = 0;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::mutex mu_;
  std::map<Key, ConvPlan> plans_;
};

ConvEngine* new_conv_engine() {
  return new ConvEngine();
}

void delete_conv_engine(ConvEngine* engine) {
  delete engine;
}

void conv2d_nhwc(DeviceContext& ctx, const Conv2dParams& p) {
  FW_CHECK(p.n > 0 && p.h > 0 && p.w_px > 0 && p.c_in > 0 && p.c_out > 0 &&
               (p.kernel == 1 || p.kernel == 3) && p.kt >= 1,
           "conv2d_nhwc: bad shape");
  FW_CHECK(p.dtype == DType::f16 || p.dtype == DType::bf16, "conv2d_nhwc: f16 or bf16 only");
  ctx.convs().run(p, ctx.stream());
}

}  // namespace fastwan::cuda
