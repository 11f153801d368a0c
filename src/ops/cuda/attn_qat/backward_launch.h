// The two backward kernels behind attn_qat::backward (forward_dispatch.cpp picks one per call) and the
// passes they share (backward.cu): D with the zeroed dQ accumulator before, dQ's conversion to bf16 after.
#pragma once

#include "ops/cuda/attn_qat/attn_qat.h"

namespace fastwan::cuda::attn_qat {

void backward_portable(const BackwardParams& p, cudaStream_t stream);  // backward.cu: mma.sync, sm_80+
void backward_hopper(const BackwardParams& p,
                     cudaStream_t stream);  // backward_hopper.cu: wgmma + TMA, sm_90a

// D = rowsum(dO ∘ O_for_d) into the workspace after the dQ accumulator, which is zeroed.
void backward_preprocess(const BackwardParams& p, cudaStream_t stream);
// dq = bf16(dQ accumulator * sm_scale).
void backward_convert_dq(const BackwardParams& p, cudaStream_t stream);

}  // namespace fastwan::cuda::attn_qat
