// The two kernel sets behind attn_qat::forward (forward_dispatch.cpp picks one per call).
#pragma once

#include "ops/cuda/attn_qat/attn_qat.h"

namespace fastwan::cuda::attn_qat {

void forward_portable(const ForwardParams& p, cudaStream_t stream);  // forward.cu: mma.sync, sm_80+
void forward_hopper(const ForwardParams& p, cudaStream_t stream);    // forward_hopper.cu: wgmma + TMA, sm_90a

}  // namespace fastwan::cuda::attn_qat
