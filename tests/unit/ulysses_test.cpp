// Ulysses sequence parallelism on the CPU: the in-process world's collectives, the token <-> head shard
// exchanges, and the DiT run over 2, 3 and 4 ranks against the unsharded DiT in every attention mode (the
// reference the multi-GPU DiT will be tested against).
#include <gtest/gtest.h>

#include <atomic>

#include "common/test_util.h"
#include "models/wan_dit/parameters.h"
#include "models/wan_dit/transformer.h"
#include "parallel/ulysses.h"
#include "synth/random_weights.h"

namespace fastwan {
namespace {

using parallel::LocalWorld;

TEST(LocalWorld, AllToAllAndAllGatherMoveEveryBlock) {
  LocalWorld world(3);
  std::atomic<int> checked{0};
  ASSERT_TRUE(world
                  .run([&](parallel::Communicator& c) -> Status {
                    // Block j of rank r holds 10 r + j; after the exchange block i holds 10 i + rank.
                    int send[3], recv[3], gathered[3];
                    for (int j = 0; j < 3; ++j) send[j] = 10 * c.rank() + j;
                    c.all_to_all(send, recv, sizeof(int));
                    for (int i = 0; i < 3; ++i)
                      if (recv[i] != 10 * i + c.rank()) return Error("all_to_all: wrong block");
                    const int mine = 100 + c.rank();
                    c.all_gather(&mine, gathered, sizeof(int));
                    for (int i = 0; i < 3; ++i)
                      if (gathered[i] != 100 + i) return Error("all_gather: wrong block");
                    ++checked;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(checked.load(), 3);
}

TEST(Ulysses, ShardExchangesAreSlicesAndInverse) {
  const int64_t s = 12, h = 6, d = 4;
  const Tensor all = test::random_tensor({s, h, d}, 1);
  for (int ranks : {1, 2, 3, 6}) {
    LocalWorld world(ranks);
    ASSERT_TRUE(world
                    .run([&](parallel::Communicator& c) -> Status {
                      const parallel::UlyssesShard shard{&c, s, h};
                      const Tensor mine = all.slice(0, shard.first_token(), shard.first_token() + s / ranks);
                      const Tensor by_heads = parallel::tokens_to_heads(mine.contiguous(), shard);
                      const Tensor want = all.slice(1, c.rank() * h / ranks, (c.rank() + 1) * h / ranks);
                      if (ops::compare(by_heads, want.contiguous()).max_abs != 0)
                        return Error("tokens_to_heads is not this rank's heads of all tokens");
                      const Tensor back = parallel::heads_to_tokens(by_heads, shard);
                      if (ops::compare(back, mine.contiguous()).max_abs != 0)
                        return Error("heads_to_tokens does not invert tokens_to_heads");
                      return Status::Ok();
                    })
                    .ok())
        << ranks << " ranks";
  }
}

TEST(Ulysses, ChecksNameWhatDoesNotDivide) {
  EXPECT_TRUE(parallel::check_ulysses(4, 32760, 12).ok());
  EXPECT_TRUE(parallel::check_ulysses(6, 32760, 12).ok());
  const Status five = parallel::check_ulysses(5, 32760, 12);
  ASSERT_FALSE(five.ok());
  EXPECT_EQ(five.error().message(),
            "sequence parallelism over 5 GPUs: the DiT's 12 heads do not split evenly (Ulysses needs the GPU "
            "count to divide them)");
  const Status tokens = parallel::check_ulysses(4, 32762, 12);
  ASSERT_FALSE(tokens.ok());
  EXPECT_NE(tokens.error().message().find("32762 tokens do not split evenly"), std::string::npos);
}

// A 12-head DiT (head_dim 16, two layers) over 48 tokens: sharded over 2, 3 and 4 ranks it computes what it
// computes whole, in every attention mode (each head sees its own q, k and v, all tokens of them).
class UlyssesDit : public ::testing::TestWithParam<quant::AttentionMode> {};

// The 12-head test DiT in `modes`, with random bf16 weights.
Expected<WanTransformer3DModel> twelve_head_dit(const test::TempDir& dir, const quant::ModelOptions& modes) {
  WanDitConfig config = WanDitConfig::tiny();
  config.num_attention_heads = 12;
  config.attention_head_dim = 16;
  FW_RETURN_IF_ERROR(
      write_random_safetensors(dir.file("w.safetensors"), wan_dit_parameters(config), DType::bf16, 3));
  FW_ASSIGN_OR_RETURN(auto store, WeightStore::open(dir.file("w.safetensors")));
  return WanTransformer3DModel::load(config, store, modes);
}

const Tensor& test_latents() {  // 3 x 4 x 4 = 48 tokens
  static const Tensor latents = test::random_tensor({1, 16, 3, 8, 8}, 4);
  return latents;
}

const Tensor& test_context() {
  static const Tensor context = test::random_tensor({1, 8, WanDitConfig::tiny().text_dim}, 5);
  return context;
}

TEST_P(UlyssesDit, ShardedEqualsWhole) {
  test::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto dit, twelve_head_dit(dir, {quant::LinearMode::bf16, GetParam()}));
  const Tensor& latents = test_latents();
  const Tensor& context = test_context();
  ASSERT_OK_AND_ASSIGN(Tensor whole, dit.forward(latents, 757.0f, context));
  for (int ranks : {2, 3, 4}) {
    LocalWorld world(ranks);
    std::vector<Tensor> outputs(ranks);
    ASSERT_OK(world.run([&](parallel::Communicator& c) -> Status {
      FW_ASSIGN_OR_RETURN(outputs[c.rank()], dit.forward(latents, 757.0f, context, c));
      return Status::Ok();
    }));
    for (int r = 0; r < ranks; ++r) {
      const auto d = ops::compare(outputs[r], whole);
      EXPECT_EQ(d.max_abs, 0.0) << ranks << " ranks, rank " << r << ": rel L2 " << d.rel_l2;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, UlyssesDit,
                         ::testing::Values(quant::AttentionMode::bf16, quant::AttentionMode::sage8,
                                           quant::AttentionMode::fp4));

TEST(UlyssesDit, FiveRanksIsAnErrorNamingTheHeads) {
  test::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto dit, twelve_head_dit(dir, {}));
  LocalWorld world(5);
  const Status s = world.run([&](parallel::Communicator& c) -> Status {
    auto out =
        dit.forward(test::random_tensor({1, 16, 3, 8, 8}, 4), 757.0f, test::random_tensor({1, 8, 64}, 5), c);
    return out ? Status::Ok() : Status(out.error());
  });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("12 heads do not split evenly"), std::string::npos);
}

}  // namespace
}  // namespace fastwan
