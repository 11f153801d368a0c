// Tensor: a typed, shaped, strided view on shared storage (host memory, an mmapped file, or device memory).
//
// Copies of a Tensor share storage (like torch.Tensor). Views (reshape, slice, select) share it too.
// Shapes and strides are in elements; offsets in bytes so that mmapped tensors of any alignment work.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace fastwan {

enum class Device : uint8_t { cpu, cuda };

using Shape = std::vector<int64_t>;

std::string shape_string(const Shape& shape);  // "[1, 16, 3, 8, 12]"
int64_t shape_numel(const Shape& shape);

// Memory a tensor points into. `owner` keeps it alive (a host buffer, an mmap, a device allocation).
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::cpu;
  std::shared_ptr<void> owner;
};

// Allocates device memory for Device::cuda tensors; installed by the CUDA backend when it is linked in.
using DeviceAllocator = std::shared_ptr<Storage> (*)(size_t bytes);
void set_device_allocator(DeviceAllocator allocator);
// Copies `bytes` between any two of host and device memory, ordered with the device's queued work; when it
// returns the host may reuse its source and read its destination. Installed with the allocator.
using DeviceCopy = void (*)(void* dst, const void* src, size_t bytes);
void set_device_copy(DeviceCopy copy);

class Tensor {
 public:
  Tensor() = default;

  // Uninitialized memory (host: 64-byte aligned).
  static Tensor empty(Shape shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor zeros(Shape shape, DType dtype = DType::f32);
  static Tensor full(Shape shape, float value, DType dtype = DType::f32);
  // Host float32 tensor from values (for tests and small constants).
  static Tensor from_floats(Shape shape, const std::vector<float>& values);
  // A view on memory owned by someone else; `owner` keeps it alive.
  static Tensor wrap(std::shared_ptr<Storage> storage, size_t offset_bytes, Shape shape, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : Device::cpu; }
  bool is_contiguous() const;
  std::string describe() const;  // "bf16[1536, 16, 1, 2, 2]"

  void* raw() const { return static_cast<char*>(storage_->data) + offset_; }
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw());
  }
  // Checked typed access for float32 tensors (the CPU reference's working type).
  float* f32() const;

  // Views (no copy). reshape and flatten need a contiguous tensor.
  Tensor reshape(Shape shape) const;
  Tensor slice(int dim, int64_t start, int64_t end) const;
  Tensor select(int dim, int64_t index) const;  // drops the dimension
  Tensor permute(const std::vector<int>& order) const;

  // Copies.
  Tensor contiguous() const;
  Tensor clone() const;
  // A contiguous copy on `device` (host <-> device through the installed DeviceCopy; Device::cpu of a host
  // tensor is a plain clone). The dtype is kept.
  Tensor copy_to(Device device) const;
  Tensor to(DType dtype) const;  // host only; float conversions round to nearest even
  Tensor to_f32() const { return to(DType::f32); }

  // Host-side element read as float, for tests and diagnostics (any dtype, any strides).
  float item_f32(int64_t flat_index) const;

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  Shape shape_;
  Shape strides_;
  DType dtype_ = DType::f32;
};

Shape contiguous_strides(const Shape& shape);

}  // namespace fastwan
