// The attention family's kernel sets, behind flash_attention (attention.cpp checks the parameters once and
// picks the set the context runs).
#pragma once

#include "ops/cuda/attention.h"

namespace fastwan::cuda::attention {

void launch_hopper(DeviceContext& ctx, const AttentionParams& p);    // hopper.cu: wgmma + TMA, sm_90a
void launch_portable(DeviceContext& ctx, const AttentionParams& p);  // portable.cu: mma.sync, sm_80+

}  // namespace fastwan::cuda::attention
