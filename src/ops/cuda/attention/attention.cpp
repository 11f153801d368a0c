// flash_attention: the parameter checks every kernel set relies on, then the context's set.
#include "cuda/check.h"
#include "ops/cuda/attention/launch.h"

namespace fastwan::cuda {

double attention_flops(const AttentionParams& p) {
  return 4.0 * p.heads * static_cast<double>(p.seq_q) * p.seq_kv * kAttentionHeadDim;
}

void flash_attention(DeviceContext& ctx, const AttentionParams& p) {
  FW_CHECK(p.heads > 0 && p.seq_q > 0 && p.seq_kv > 0, "flash_attention: empty problem");
  FW_CHECK(p.out_stride >= p.heads * kAttentionHeadDim && p.out_stride % 2 == 0,
           "flash_attention: bad out_stride");
  switch (p.operands) {
    case AttentionOperands::bf16:
    case AttentionOperands::fp4:
      FW_CHECK(p.vt_stride >= p.seq_kv && p.vt_stride % 8 == 0,
               "flash_attention: bf16 and fp4 vt_stride must be >= seq_kv and % 8");
      break;
    case AttentionOperands::sage8:
      FW_CHECK(p.vt_stride >= (p.seq_kv + 15) / 16 * 16 && p.vt_stride % 16 == 0,
               "flash_attention: sage8 vt_stride must be >= seq_kv rounded up to 16, and % 16");
      FW_CHECK(p.q_scale && p.k_scale && p.v_scale,
               "flash_attention: sage8 needs q_scale, k_scale and v_scale");
      break;
    default:
      FW_CHECK(false, "flash_attention: unknown operand type");
  }
  if (ctx.kernels() == quant::KernelSet::hopper)
    attention::launch_hopper(ctx, p);
  else
    attention::launch_portable(ctx, p);
}

}  // namespace fastwan::cuda
