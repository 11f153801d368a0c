// Reading a model's config from its tensors' shapes (single files that come without config.json).
#pragma once

#include <string>

#include "io/weight_store.h"

namespace fastwan {

// Shapes of named tensors; the first missing or misranked one is kept as the error (one message naming
// the file, the tensor and what a config would be read from).
class ShapeReader {
 public:
  explicit ShapeReader(const WeightStore& store) : store_(store) {}
  // The shape (rank `rank`), or a shape of `rank` ones after an error so callers can go on reading.
  Shape shape(const std::string& name, size_t rank);
  Status status() const { return status_; }

 private:
  const WeightStore& store_;
  Status status_;
};

// 1 + the largest N of the names `prefix`N.…; 0 when there is none.
int64_t count_indexed(const WeightStore& store, const std::string& prefix);

}  // namespace fastwan
