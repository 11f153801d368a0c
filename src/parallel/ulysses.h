// Ulysses sequence parallelism for the DiT (DeepSpeed-Ulysses, as xDiT and Wan's own USP run it): each of P
// ranks holds all weights and a contiguous 1/P of the tokens; everything but self-attention is per token and
// runs on the local rows; around self-attention one all-to-all turns the token shard of q, k and v into a
// head shard (all tokens, 1/P of the heads) and one turns the attention output back. Every attention mode
// computes each head from that head's q, k and v alone (SageAttention2's K mean is per channel over all
// tokens), so the sharded model computes what the unsharded one does.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "fastwan/status.h"
#include "parallel/communicator.h"

namespace fastwan::parallel {

// A world of `ranks` over `tokens` tokens and `heads` heads: an Error naming what does not divide (12 heads
// split over 1, 2, 3, 4, 6 or 12 ranks; the tokens must split evenly).
Status check_ulysses(int ranks, int64_t tokens, int64_t heads);

struct UlyssesShard {
  Communicator* comm = nullptr;
  int64_t tokens = 0;  // all of them
  int64_t heads = 0;

  int64_t local_tokens() const { return tokens / comm->size(); }
  int64_t first_token() const { return comm->rank() * local_tokens(); }
  int64_t local_heads() const { return heads / comm->size(); }
};

// [S/P, H, D] (this rank's tokens, all heads) -> [S, H/P, D] (all tokens, this rank's heads), f32.
Tensor tokens_to_heads(const Tensor& x, const UlyssesShard& shard);
// [S, H/P, D] -> [S/P, H, D], the inverse.
Tensor heads_to_tokens(const Tensor& x, const UlyssesShard& shard);
// Rows [S/P, C] of every rank -> [S, C] on every rank, f32.
Tensor gather_tokens(const Tensor& x, const UlyssesShard& shard);

}  // namespace fastwan::parallel
