#include <barrier>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/check.h"
#include "parallel/communicator.h"

namespace fastwan::parallel {

// Each collective: every rank publishes its send pointer, a barrier, every rank copies its blocks out of the
// others' buffers, a barrier (so no send buffer is reused or freed while a peer still reads it).
struct LocalWorld::Shared {
  explicit Shared(int n) : size(n), sends(n), sync(n) {}
  int size;
  std::vector<const void*> sends;
  std::barrier<> sync;
};

namespace {

class LocalRank : public Communicator {
 public:
  LocalRank(int rank, LocalWorld::Shared* shared) : rank_(rank), shared_(shared) {}
  int rank() const override { return rank_; }
  int size() const override { return shared_->size; }

  void all_to_all(const void* send, void* recv, size_t block_bytes) override {
    shared_->sends[rank_] = send;
    shared_->sync.arrive_and_wait();
    for (int i = 0; i < shared_->size; ++i)
      std::memcpy(static_cast<char*>(recv) + i * block_bytes,
                  static_cast<const char*>(shared_->sends[i]) + rank_ * block_bytes, block_bytes);
    shared_->sync.arrive_and_wait();
  }

  void all_gather(const void* send, void* recv, size_t bytes) override {
    shared_->sends[rank_] = send;
    shared_->sync.arrive_and_wait();
    for (int i = 0; i < shared_->size; ++i)
      std::memcpy(static_cast<char*>(recv) + i * bytes, shared_->sends[i], bytes);
    shared_->sync.arrive_and_wait();
  }

 private:
  int rank_;
  LocalWorld::Shared* shared_;
};

}  // namespace

LocalWorld::LocalWorld(int size) {
  FW_CHECK(size >= 1, "LocalWorld: size must be >= 1");
  shared_ = std::make_unique<Shared>(size);
}

LocalWorld::~LocalWorld() = default;

int LocalWorld::size() const {
  return shared_->size;
}

Status LocalWorld::run(const std::function<Status(Communicator&)>& fn) {
  std::vector<Status> results(shared_->size, Status::Ok());
  std::vector<std::exception_ptr> thrown(shared_->size);
  auto body = [&](int r) {
    LocalRank rank(r, shared_.get());
    try {
      results[r] = fn(rank);
    } catch (...) {
      thrown[r] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int r = 1; r < shared_->size; ++r) threads.emplace_back(body, r);
  body(0);
  for (auto& t : threads) t.join();
  for (int r = 0; r < shared_->size; ++r) {
    if (thrown[r]) std::rethrow_exception(thrown[r]);
    if (!results[r].ok()) return results[r];
  }
  return Status::Ok();
}

}  // namespace fastwan::parallel
