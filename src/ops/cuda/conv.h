// 2D convolutions on the GPU through cuDNN: fp16 or bf16 NHWC activations, KRSC weights, fp32 accumulation,
// with bias, a residual (z) and ReLU fused in one call (cudnnConvolutionBiasActivationForward), or a plain
// convolution when there is nothing to fuse. Plans (descriptors and the algorithm cuDNN's heuristics choose)
// are cached per shape; the workspace is shared.
//   y = act(conv(x, w) + z + bias),  act = ReLU or identity,  z and bias optional; z may alias y
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"
#include "cuda/context.h"

namespace fastwan::cuda {

struct Conv2dParams {
  const void* x = nullptr;     // [n, h, w, c_in]
  const void* w = nullptr;     // [c_out, k, k, c_in]
  const void* bias = nullptr;  // [c_out] or null
  const void* z = nullptr;     // [n, h, w, c_out] added before the activation, or null
  void* y = nullptr;           // [n, h, w, c_out]
  int n = 0, h = 0, w_px = 0, c_in = 0, c_out = 0;
  int kernel = 3;  // spatial size, 1 or 3, "same" padding
  // kt > 1: a 3D convolution over frames without temporal padding: x holds n + kt - 1 frames (the caller puts
  // the causal context in front), y gets n frames; w is [c_out, kt, k, k, c_in].
  int kt = 1;
  bool relu = false;
  DType dtype = DType::f16;  // of x, w, bias, z, y: f16 or bf16
};

void conv2d_nhwc(DeviceContext& ctx, const Conv2dParams& p);

// The engine a DeviceContext owns (cuDNN handle, workspace, plans).
ConvEngine* new_conv_engine();
void delete_conv_engine(ConvEngine* engine);

}  // namespace fastwan::cuda
