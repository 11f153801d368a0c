#include "parallel/ulysses.h"

#include <cstring>
#include <string>

#include "core/check.h"

namespace fastwan::parallel {

Status check_ulysses(int ranks, int64_t tokens, int64_t heads) {
  if (ranks < 1)
    return Error("sequence parallelism: " + std::to_string(ranks) + " ranks (expected 1 or more)");
  if (heads % ranks)
    return Error("sequence parallelism over " + std::to_string(ranks) + " GPUs: the DiT's " +
                 std::to_string(heads) +
                 " heads do not split evenly (Ulysses needs the GPU count to divide them)");
  if (tokens % ranks)
    return Error("sequence parallelism over " + std::to_string(ranks) + " GPUs: " + std::to_string(tokens) +
                 " tokens do not split evenly (choose a size or frame count whose token count the GPU count "
                 "divides)");
  return Status::Ok();
}

Tensor tokens_to_heads(const Tensor& x, const UlyssesShard& shard) {
  const int ranks = shard.comm->size();
  const int64_t s = shard.local_tokens(), hp = shard.local_heads(), d = x.dim(2);
  FW_CHECK(x.ndim() == 3 && x.dim(0) == s && x.dim(1) == shard.heads, "tokens_to_heads: bad shape");
  const Tensor in = x.to_f32().contiguous();
  // Send block j: this rank's tokens, rank j's heads, [s][hp][d].
  Tensor send = Tensor::empty({ranks, s, hp, d}, DType::f32);
  for (int j = 0; j < ranks; ++j)
    for (int64_t t = 0; t < s; ++t)
      std::memcpy(send.f32() + ((j * s + t) * hp) * d, in.f32() + (t * shard.heads + j * hp) * d,
                  static_cast<size_t>(hp * d) * sizeof(float));
  // Receive block i: rank i's tokens, this rank's heads; in rank order they are all tokens in order.
  Tensor out = Tensor::empty({ranks * s, hp, d}, DType::f32);
  shard.comm->all_to_all(send.raw(), out.raw(), static_cast<size_t>(s * hp * d) * sizeof(float));
  return out;
}

Tensor heads_to_tokens(const Tensor& x, const UlyssesShard& shard) {
  const int ranks = shard.comm->size();
  const int64_t s = shard.local_tokens(), hp = shard.local_heads(), d = x.dim(2);
  FW_CHECK(x.ndim() == 3 && x.dim(0) == shard.tokens && x.dim(1) == hp, "heads_to_tokens: bad shape");
  const Tensor in = x.to_f32().contiguous();  // block j = rank j's tokens: already contiguous
  Tensor recv = Tensor::empty({ranks, s, hp, d}, DType::f32);
  shard.comm->all_to_all(in.raw(), recv.raw(), static_cast<size_t>(s * hp * d) * sizeof(float));
  Tensor out = Tensor::empty({s, shard.heads, d}, DType::f32);
  for (int i = 0; i < ranks; ++i)
    for (int64_t t = 0; t < s; ++t)
      std::memcpy(out.f32() + (t * shard.heads + i * hp) * d, recv.f32() + ((i * s + t) * hp) * d,
                  static_cast<size_t>(hp * d) * sizeof(float));
  return out;
}

Tensor gather_tokens(const Tensor& x, const UlyssesShard& shard) {
  FW_CHECK(x.ndim() == 2 && x.dim(0) == shard.local_tokens(), "gather_tokens: bad shape");
  const Tensor in = x.to_f32().contiguous();
  Tensor out = Tensor::empty({shard.tokens, x.dim(1)}, DType::f32);
  shard.comm->all_gather(in.raw(), out.raw(), in.nbytes());
  return out;
}

}  // namespace fastwan::parallel
