// The pipeline skeleton shared by every instantiation: shared memory (Q once, a ring of K and V^T stages
// with full/empty mbarriers each, so that K_{j+1} streams in as soon as S_{j-1} is done and not only after
// P_{j-1}.V_{j-1}), and the producer warpgroup, one thread of which issues every TMA load.
#pragma once

#include "ops/cuda/attention/traits.cuh"
#include "ops/cuda/hopper.cuh"

namespace fastwan::cuda::attention {

template <class Traits>
struct SharedStorage {
  using Shape = TileShape<Traits>;
  static constexpr int kStages = Traits::kStages;
  alignas(1024) char q[Shape::kParts][kPartBytes];
  alignas(1024) char k[kStages][Shape::kParts][kPartBytes];
  alignas(1024) char vt[kStages][Shape::kParts][kPartBytes];
  uint64_t q_full;
  uint64_t k_full[kStages];
  uint64_t v_full[kStages];
  uint64_t k_empty[kStages];
  uint64_t v_empty[kStages];

  __device__ void init_barriers() {
    using namespace hopper;
    mbarrier_init(&q_full, 1);
    for (int i = 0; i < kStages; ++i) {
      mbarrier_init(&k_full[i], 1);
      mbarrier_init(&v_full[i], 1);
      mbarrier_init(&k_empty[i], 2 * 4);  // every consumer warp releases the stage
      mbarrier_init(&v_empty[i], 2 * 4);
    }
    fence_barrier_init();
  }
};

// The ring position of key block j: its stage and the parity of that stage's current phase.
template <int kStages>
struct RingSlot {
  int stage;
  uint32_t parity;
  __device__ explicit RingSlot(int j) : stage(j % kStages), parity((j / kStages) & 1) {}
};

// Thread 0 of the producer warpgroup: Q once, then K and V^T of every key block into the ring. Tile parts
// are 128-byte-wide column slices (TMA coordinates in elements): Q and K split the head dimension, V^T the
// keys.
template <class Traits>
__device__ __forceinline__ void produce(SharedStorage<Traits>& s, const CUtensorMap* tm_q,
                                        const CUtensorMap* tm_k, const CUtensorMap* tm_vt, int q_tile,
                                        int head, int n_blocks) {
  using namespace hopper;
  using Shape = TileShape<Traits>;
  constexpr int kStages = Traits::kStages;
  prefetch_tensor_map(tm_q);
  prefetch_tensor_map(tm_k);
  prefetch_tensor_map(tm_vt);
  mbarrier_arrive_expect_tx(&s.q_full, Shape::kTileBytes);
#pragma unroll
  for (int p = 0; p < Shape::kParts; ++p)
    tma_load_3d(s.q[p], tm_q, &s.q_full, p * Shape::kPartElements, q_tile * kBlockM, head);
  for (int j = 0; j < n_blocks; ++j) {
    const RingSlot<kStages> slot(j);
    const int k0 = key_block<Traits>(j, n_blocks) * kBlockN;
    if (j >= kStages) mbarrier_wait(&s.k_empty[slot.stage], slot.parity ^ 1);
    mbarrier_arrive_expect_tx(&s.k_full[slot.stage], Shape::kTileBytes);
#pragma unroll
    for (int p = 0; p < Shape::kParts; ++p)
      tma_load_3d(s.k[slot.stage][p], tm_k, &s.k_full[slot.stage], p * Shape::kPartElements, k0, head);
    if (j >= kStages) mbarrier_wait(&s.v_empty[slot.stage], slot.parity ^ 1);
    mbarrier_arrive_expect_tx(&s.v_full[slot.stage], Shape::kTileBytes);
#pragma unroll
    for (int p = 0; p < Shape::kParts; ++p)
      tma_load_3d(s.vt[slot.stage][p], tm_vt, &s.v_full[slot.stage], k0 + p * Shape::kPartElements, 0, head);
  }
}

}  // namespace fastwan::cuda::attention
