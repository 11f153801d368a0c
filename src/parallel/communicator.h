// The collectives that sequence parallelism needs, over a world of ranks: one per GPU (NCCL), or threads of
// one process over host memory (LocalWorld: the CPU reference of the same algorithm, and what its tests run).
// Every rank calls each collective in the same order with the same sizes.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "fastwan/status.h"

namespace fastwan::parallel {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // send holds size() blocks of block_bytes: block j goes to rank j; recv's block i comes from rank i.
  virtual void all_to_all(const void* send, void* recv, size_t block_bytes) = 0;
  // bytes from every rank into recv, in rank order (size() * bytes).
  virtual void all_gather(const void* send, void* recv, size_t bytes) = 0;
};

// A world of `size` ranks in this process, each on a thread of its own.
class LocalWorld {
 public:
  explicit LocalWorld(int size);
  ~LocalWorld();
  int size() const;
  // Runs fn on every rank (rank 0 on the calling thread) and waits for all; the first error is returned.
  // A rank that fails still takes part in the collectives the others are waiting in only if it returns
  // after them, so fn must fail before its first collective or not at all (input checks come first).
  Status run(const std::function<Status(Communicator&)>& fn);

  struct Shared;  // local_world.cpp

 private:
  std::unique_ptr<Shared> shared_;
};

}  // namespace fastwan::parallel
