#include "models/common/layout_util.h"

#include <cctype>

namespace fastwan {

Shape ShapeReader::shape(const std::string& name, size_t rank) {
  const TensorInfo* info = store_.info(name);
  if (status_.ok() && (!info || info->shape.size() != rank))
    status_ =
        Error(store_.source() + ": cannot read the model's shape: tensor '" + name + "' " +
              (info ? "is " + shape_string(info->shape) + ", expected " + std::to_string(rank) + " dimensions"
                    : "is missing"));
  if (!status_.ok()) return Shape(rank, 1);
  return info->shape;
}

int64_t count_indexed(const WeightStore& store, const std::string& prefix) {
  int64_t count = 0;
  for (const auto& name : store.names()) {
    if (!name.starts_with(prefix)) continue;
    size_t end = prefix.size();
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end == prefix.size() || end - prefix.size() > 6 || end >= name.size() || name[end] != '.') continue;
    count = std::max<int64_t>(count, std::stoll(name.substr(prefix.size(), end - prefix.size())) + 1);
  }
  return count;
}

}  // namespace fastwan
