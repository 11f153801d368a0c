#include "sampler/sampler_ops.h"

#include <atomic>
#include <string>

#include "core/thread_pool.h"

namespace fastwan {
namespace {

// Replicas on several GPUs may install at the same time (the same table each time).
std::atomic<const SamplerDeviceOps*> g_device_ops{nullptr};

Tensor cpu_dmd_data_prediction(const Tensor& x, float sigma, const Tensor& v) {
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  const float* px = x.f32();
  const float* pv = v.f32();
  float* po = out.f32();
  const double s = sigma;
  parallel_for(x.numel(), 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      po[i] = static_cast<float>(static_cast<double>(px[i]) - s * static_cast<double>(pv[i]));
  });
  return out;
}

Tensor cpu_dmd_add_noise(const Tensor& x0, const Tensor& noise, float sigma) {
  Tensor out = Tensor::empty(x0.shape(), DType::f32);
  const float* px = x0.f32();
  const float* pn = noise.f32();
  float* po = out.f32();
  const float keep = 1.0f - sigma;
  parallel_for(x0.numel(), 1 << 16, [&](int64_t b0, int64_t e0) {
    for (int64_t i = b0; i < e0; ++i) {
      const float a = keep * px[i];
      const float b = sigma * pn[i];
      po[i] = a + b;
    }
  });
  return out;
}

Tensor cpu_euler_step(const Tensor& x, float dt, const Tensor& v) {
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  const float* px = x.f32();
  const float* pv = v.f32();
  float* po = out.f32();
  for (int64_t e = 0; e < x.numel(); ++e) po[e] = px[e] + dt * pv[e];
  return out;
}

Status check_operands(const char* op, const Tensor& a, const Tensor& b) {
  for (const Tensor* t : {&a, &b})
    if (!t->defined() || t->dtype() != DType::f32 || !t->is_contiguous())
      return Error(std::string(op) + ": expected contiguous f32 operands, got " +
                   (t->defined() ? t->describe() : "(none)"));
  if (a.shape() != b.shape())
    return Error(std::string(op) + ": operands " + a.describe() + " and " + b.describe() +
                 " differ in shape");
  if (a.device() != b.device())
    return Error(std::string(op) + ": operands " + a.describe() + " and " + b.describe() +
                 " are on different devices (one on the host, one on the GPU)");
  return Status::Ok();
}

// The device table's entry for `op`, or an Error naming it.
template <typename Fn>
Expected<Fn> device_op(const char* op, Fn SamplerDeviceOps::*entry) {
  const SamplerDeviceOps* ops = g_device_ops.load(std::memory_order_acquire);
  if (!ops || !(ops->*entry)) return Error(std::string(op) + ": no device implementation is installed");
  return ops->*entry;
}

}  // namespace

void set_sampler_device_ops(const SamplerDeviceOps* ops) {
  g_device_ops.store(ops, std::memory_order_release);
}

Expected<Tensor> dmd_data_prediction(const Tensor& x, float sigma, const Tensor& v) {
  FW_RETURN_IF_ERROR(check_operands("dmd data prediction", x, v));
  if (x.device() == Device::cpu) return cpu_dmd_data_prediction(x, sigma, v);
  FW_ASSIGN_OR_RETURN(auto fn, device_op("dmd data prediction", &SamplerDeviceOps::dmd_data_prediction));
  return fn(x, sigma, v);
}

Expected<Tensor> dmd_add_noise(const Tensor& x0, const Tensor& noise, float sigma) {
  FW_RETURN_IF_ERROR(check_operands("dmd re-noising", x0, noise));
  if (x0.device() == Device::cpu) return cpu_dmd_add_noise(x0, noise, sigma);
  FW_ASSIGN_OR_RETURN(auto fn, device_op("dmd re-noising", &SamplerDeviceOps::dmd_add_noise));
  return fn(x0, noise, sigma);
}

Expected<Tensor> euler_step(const Tensor& x, float dt, const Tensor& v) {
  FW_RETURN_IF_ERROR(check_operands("euler step", x, v));
  if (x.device() == Device::cpu) return cpu_euler_step(x, dt, v);
  FW_ASSIGN_OR_RETURN(auto fn, device_op("euler step", &SamplerDeviceOps::euler_step));
  return fn(x, dt, v);
}

}  // namespace fastwan
