#include "core/tensor.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <numeric>
#include <sstream>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"

namespace fastwan {
namespace {

// Installed by the CUDA backend, possibly from several threads at once (a decoder loading beside the DiT's
// loop), always with the same functions: atomics make that a non-race.
std::atomic<DeviceAllocator> g_device_allocator{nullptr};
std::atomic<DeviceCopy> g_device_copy{nullptr};

std::shared_ptr<Storage> host_storage(size_t bytes) {
  auto s = std::make_shared<Storage>();
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  FW_CHECK(p != nullptr, "out of host memory allocating " + std::to_string(bytes) + " bytes");
  s->data = p;
  s->bytes = bytes;
  s->device = Device::cpu;
  s->owner = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return s;
}

}  // namespace

std::string shape_string(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

void set_device_allocator(DeviceAllocator allocator) {
  g_device_allocator.store(allocator, std::memory_order_relaxed);
}

void set_device_copy(DeviceCopy copy) {
  g_device_copy.store(copy, std::memory_order_relaxed);
}

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  for (int64_t d : shape) FW_CHECK(d >= 0, "negative dimension in " + shape_string(shape));
  Tensor t;
  size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (device == Device::cpu) {
    t.storage_ = host_storage(bytes);
  } else {
    const DeviceAllocator allocate = g_device_allocator.load(std::memory_order_relaxed);
    FW_CHECK(allocate != nullptr, "this build has no CUDA backend");
    t.storage_ = allocate(bytes);
  }
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(Shape shape, float value, DType dtype) {
  Tensor f = empty(shape, DType::f32);
  float* p = f.f32();
  for (int64_t i = 0; i < f.numel(); ++i) p[i] = value;
  return dtype == DType::f32 ? f : f.to(dtype);
}

Tensor Tensor::from_floats(Shape shape, const std::vector<float>& values) {
  Tensor t = empty(std::move(shape), DType::f32);
  FW_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "from_floats: value count does not match shape");
  std::memcpy(t.raw(), values.data(), values.size() * 4);
  return t;
}

Tensor Tensor::wrap(std::shared_ptr<Storage> storage, size_t offset_bytes, Shape shape, DType dtype) {
  Tensor t;
  t.storage_ = std::move(storage);
  t.offset_ = offset_bytes;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

int64_t Tensor::dim(int i) const {
  int n = ndim();
  if (i < 0) i += n;
  FW_CHECK(i >= 0 && i < n, "dimension index out of range for " + describe());
  return shape_[i];
}

bool Tensor::is_contiguous() const {
  return strides_ == contiguous_strides(shape_);
}

std::string Tensor::describe() const {
  return std::string(dtype_name(dtype_)) + shape_string(shape_);
}

float* Tensor::f32() const {
  FW_CHECK(dtype_ == DType::f32, "expected an f32 tensor, got " + describe());
  FW_CHECK(device() == Device::cpu, "expected a host tensor");
  return data<float>();
}

Tensor Tensor::reshape(Shape shape) const {
  FW_CHECK(is_contiguous(), "reshape of a non-contiguous tensor " + describe());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      FW_CHECK(infer < 0, "reshape: more than one -1");
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) shape[infer] = known == 0 ? 0 : numel() / known;
  FW_CHECK(shape_numel(shape) == numel(), "reshape " + describe() + " to " + shape_string(shape));
  Tensor t = *this;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice(int d, int64_t start, int64_t end) const {
  if (d < 0) d += ndim();
  FW_CHECK(d >= 0 && d < ndim() && 0 <= start && start <= end && end <= shape_[d],
           "slice out of range on " + describe());
  Tensor t = *this;
  t.offset_ += static_cast<size_t>(start * strides_[d]) * dtype_size(dtype_);
  t.shape_[d] = end - start;
  return t;
}

Tensor Tensor::select(int d, int64_t index) const {
  if (d < 0) d += ndim();
  Tensor t = slice(d, index, index + 1);
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  FW_CHECK(static_cast<int>(order.size()) == ndim(), "permute: order size mismatch for " + describe());
  Tensor t = *this;
  std::vector<bool> seen(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    FW_CHECK(order[i] >= 0 && order[i] < ndim() && !seen[order[i]], "permute: invalid order");
    seen[order[i]] = true;
    t.shape_[i] = shape_[order[i]];
    t.strides_[i] = strides_[order[i]];
  }
  return t;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::copy_to(Device to) const {
  if (to == Device::cpu && device() == Device::cpu) return clone();
  const DeviceCopy copy = g_device_copy.load(std::memory_order_relaxed);
  FW_CHECK(copy != nullptr, "this build has no CUDA backend");
  const Tensor src = device() == Device::cpu ? contiguous() : *this;  // device strides: no gather kernel here
  FW_CHECK(src.is_contiguous(), "copy_to: expected a contiguous device tensor, got " + describe());
  Tensor out = empty(shape_, dtype_, to);
  if (nbytes() > 0) copy(out.raw(), src.raw(), nbytes());
  return out;
}

Tensor Tensor::clone() const {
  FW_CHECK(device() == Device::cpu, "clone of a device tensor on the host path");
  Tensor out = empty(shape_, dtype_);
  const size_t es = dtype_size(dtype_);
  const int64_t n = numel();
  if (n == 0) return out;
  if (is_contiguous()) {
    std::memcpy(out.raw(), raw(), nbytes());
    return out;
  }
  // Copy whole innermost rows when they are contiguous (permutes of the leading axes), else element-wise. On
  // the thread pool: a permuted weight (the Wan VAE's filters turned channels-last for cuDNN at load) is
  // millions of single-element copies.
  const int nd = ndim();
  const bool rows = nd > 0 && strides_[nd - 1] == 1;
  const int64_t row = rows ? shape_[nd - 1] : 1;
  const int outer_dims = rows ? nd - 1 : nd;
  const char* base = static_cast<const char*>(raw());
  char* dst = static_cast<char*>(out.raw());
  const size_t row_bytes = static_cast<size_t>(row) * es;
  parallel_for(n / row, std::max<int64_t>(1, (int64_t{1} << 16) / row), [&](int64_t r0, int64_t r1) {
    // The source offset of row r0, then kept up to date as the index advances like an odometer.
    std::vector<int64_t> idx(static_cast<size_t>(outer_dims), 0);
    int64_t off = 0;
    for (int64_t k = outer_dims - 1, rem = r0; k >= 0; --k) {
      idx[k] = rem % shape_[k];
      rem /= shape_[k];
      off += idx[k] * strides_[k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      // Rows of 4 or 2 bytes (mostly single values) by a fixed-size copy: half the cost of a memcpy call.
      const char* from = base + off * static_cast<int64_t>(es);
      if (row_bytes == 4)
        std::memcpy(dst + r * 4, from, 4);
      else if (row_bytes == 2)
        std::memcpy(dst + r * 2, from, 2);
      else
        std::memcpy(dst + r * row_bytes, from, row_bytes);
      for (int k = outer_dims - 1; k >= 0; --k) {
        if (++idx[k] < shape_[k]) {
          off += strides_[k];
          break;
        }
        off -= (shape_[k] - 1) * strides_[k];
        idx[k] = 0;
      }
    }
  });
  return out;
}

Tensor Tensor::to(DType dtype) const {
  FW_CHECK(device() == Device::cpu, "Tensor::to on a device tensor");
  Tensor src = contiguous();
  if (dtype == dtype_) return is_contiguous() ? src.clone() : src;  // a non-contiguous src is a copy already
  Tensor out = empty(shape_, dtype);
  if (dtype == DType::f32) {
    convert_to_f32(src.raw(), dtype_, out.f32(), static_cast<size_t>(numel()));
  } else {
    Tensor f = src.to(DType::f32);
    convert_from_f32(f.f32(), out.raw(), dtype, static_cast<size_t>(numel()));
  }
  return out;
}

float Tensor::item_f32(int64_t flat_index) const {
  FW_CHECK(flat_index >= 0 && flat_index < numel(), "item_f32 index out of range");
  int64_t off = 0, rem = flat_index;
  for (int k = ndim() - 1; k >= 0; --k) {
    off += (rem % shape_[k]) * strides_[k];
    rem /= shape_[k];
  }
  float v;
  convert_to_f32(static_cast<const char*>(raw()) + off * dtype_size(dtype_), dtype_, &v, 1);
  return v;
}

}  // namespace fastwan
