// The samplers' elementwise steps on the GPU (ops/cuda/sampler.h) against the host's (sampler/sampler_ops.h):
// every output bit-identical, on values from subnormal to huge, for sizes around the block size, with
// NaN-poisoned outputs and a poisoned tail that must stay untouched. Then whole dmd and euler loops with the
// latents on the device against the same loops on the host: results and traces bit-identical.
#include <cmath>
#include <cstring>
#include <map>

#include "gpu/gpu_test_util.h"
#include "ops/cuda/sampler.h"
#include "sampler/cuda/sampler_cuda.h"
#include "sampler/sampler.h"
#include "sampler/sampler_ops.h"

namespace fastwan {
namespace {

// Normal values with every 7th scaled far down (subnormal products and results), every 11th far up, every
// 13th a signed zero, so the roundings at the edges are compared too.
Tensor edge_values(int64_t n, uint64_t seed) {
  Tensor t = test::random_tensor({n}, seed);
  float* p = t.f32();
  for (int64_t i = 0; i < n; ++i) {
    if (i % 7 == 3) p[i] *= 1e-39f;
    if (i % 11 == 5) p[i] *= 1e30f;
    if (i % 13 == 8) p[i] = i % 2 ? -0.0f : 0.0f;
  }
  return t;
}

// Copies a device result back and compares its n values bit for bit with `expected`; the 3 values past n
// (poisoned) must be untouched.
void expect_bits(const Tensor& device_out, const Tensor& expected) {
  FW_CUDA_CHECK(cudaDeviceSynchronize());
  const Tensor back = cuda::to_host(device_out);
  const int64_t n = expected.numel();
  int64_t mismatches = 0, first = -1;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t a, b;
    std::memcpy(&a, back.data<float>() + i, 4);
    std::memcpy(&b, expected.data<float>() + i, 4);
    if (a != b && mismatches++ == 0) first = i;
  }
  EXPECT_EQ(mismatches, 0) << "first at " << first << ": " << back.data<float>()[first] << " vs "
                           << expected.data<float>()[first];
  for (int64_t i = n; i < back.numel(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, back.data<float>() + i, 4);
    EXPECT_EQ(bits, 0xFFFFFFFFu) << "written past the end at " << i;
  }
}

// The schedule's sigmas (FastWan's DMD 1000/757/522 at shift 8, an euler dt) and a few plain ones.
const float kScalars[] = {1.0f, 0.97560975f, 0.7567567229f, 0.5217391253f, -0.2349624f, 0.1f, 3.0e-8f};
const int64_t kSizes[] = {1, 255, 256, 257, 1000, 65537, 16 * 21 * 60 * 104};

TEST(SamplerGpu, KernelsMatchTheHostBitForBit) {
  FW_REQUIRE_GPU();
  cuda::install_device_allocator();
  for (int64_t n : kSizes) {
    const Tensor a = edge_values(n, 100 + n), b = edge_values(n, 200 + n);
    const Tensor da = a.copy_to(Device::cuda), db = b.copy_to(Device::cuda);
    for (float s : kScalars) {
      SCOPED_TRACE("n " + std::to_string(n) + ", scalar " + std::to_string(s));
      struct Case {
        cuda::SamplerStepOp op;
        Expected<Tensor> host;
      } cases[] = {
          {cuda::SamplerStepOp::dmd_data_prediction, dmd_data_prediction(a, s, b)},
          {cuda::SamplerStepOp::dmd_add_noise, dmd_add_noise(a, b, s)},
          {cuda::SamplerStepOp::euler_step, euler_step(a, s, b)},
      };
      for (const Case& c : cases) {
        SCOPED_TRACE("op " + std::to_string(static_cast<int>(c.op)));
        ASSERT_TRUE(c.host.ok()) << c.host.error().message();
        Tensor out = test::poisoned({n + 3}, DType::f32);
        cuda::sampler_step({c.op, da.data<float>(), db.data<float>(), s, out.data<float>(), n}, nullptr);
        expect_bits(out, *c.host);
      }
    }
  }
}

// In place (out == a), as the header allows.
TEST(SamplerGpu, InPlaceMatchesTheHost) {
  FW_REQUIRE_GPU();
  cuda::install_device_allocator();
  const int64_t n = 4099;
  const Tensor a = edge_values(n, 7), b = edge_values(n, 8);
  Tensor out = test::poisoned({n + 3}, DType::f32);
  FW_CUDA_CHECK(cudaMemcpy(out.raw(), a.raw(), a.nbytes(), cudaMemcpyHostToDevice));
  const Tensor db = b.copy_to(Device::cuda);
  cuda::sampler_step(
      {cuda::SamplerStepOp::dmd_add_noise, out.data<float>(), db.data<float>(), 0.75f, out.data<float>(), n},
      nullptr);
  ASSERT_OK_AND_ASSIGN(Tensor expected, dmd_add_noise(a, b, 0.75f));
  expect_bits(out, expected);
}

// The dispatching ops: device operands run the installed kernels; mixed devices are an error.
TEST(SamplerGpu, OpsDispatchOnTheTensorsDevice) {
  FW_REQUIRE_GPU();
  cuda::install_sampler_ops();
  const Shape shape = {1, 16, 3, 6, 10};
  const Tensor x = test::random_tensor(shape, 1), v = test::random_tensor(shape, 2);
  const Tensor dx = x.copy_to(Device::cuda), dv = v.copy_to(Device::cuda);
  ASSERT_OK_AND_ASSIGN(Tensor host, dmd_data_prediction(x, 0.7567567229f, v));
  ASSERT_OK_AND_ASSIGN(Tensor device, dmd_data_prediction(dx, 0.7567567229f, dv));
  EXPECT_EQ(device.device(), Device::cuda);
  EXPECT_EQ(device.shape(), shape);
  const Tensor back = device.copy_to(Device::cpu);
  EXPECT_EQ(std::memcmp(back.raw(), host.raw(), host.nbytes()), 0);
  auto mixed = dmd_add_noise(dx, v, 0.5f);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message().find("different devices"), std::string::npos) << mixed.error().message();
}

// A model whose velocity depends on the sample and the step (v = 0.3 x + r_i), answering on x's device.
VelocityFn affine_model(const std::vector<Tensor>& r) {
  return [r](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
    const Tensor hx = x.copy_to(Device::cpu);
    Tensor v = Tensor::empty(x.shape(), DType::f32);
    const Tensor& ri = r.at(step.index);
    for (int64_t i = 0; i < v.numel(); ++i) v.f32()[i] = 0.3f * hx.f32()[i] + ri.f32()[i];
    return x.device() == Device::cpu ? v : v.copy_to(x.device());
  };
}

using Trace = std::map<std::string, Tensor>;

void expect_same(const Tensor& device_result, const Tensor& host_result) {
  ASSERT_EQ(device_result.device(), Device::cuda);
  const Tensor back = device_result.copy_to(Device::cpu);
  ASSERT_EQ(back.shape(), host_result.shape());
  EXPECT_EQ(std::memcmp(back.raw(), host_result.raw(), host_result.nbytes()), 0);
}

void expect_same_traces(const Trace& device, const Trace& host) {
  ASSERT_EQ(device.size(), host.size());
  for (const auto& [name, value] : host) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(device.count(name));
    const Tensor& d = device.at(name);
    EXPECT_EQ(d.device(), Device::cpu);  // handed to the trace as a host copy
    EXPECT_EQ(std::memcmp(d.raw(), value.raw(), value.nbytes()), 0);
  }
}

TEST(SamplerGpu, DmdLoopOnTheDeviceMatchesTheHostLoop) {
  FW_REQUIRE_GPU();
  cuda::install_sampler_ops();
  const Shape shape = {1, 16, 3, 6, 10};
  const std::vector<Tensor> r = {test::random_tensor(shape, 11), test::random_tensor(shape, 12),
                                 test::random_tensor(shape, 13)};
  const Tensor noise = test::random_tensor(shape, 10);
  const std::vector<Tensor> fresh = {test::bf16_round(test::random_tensor(shape, 21)),
                                     test::bf16_round(test::random_tensor(shape, 22))};
  auto run = [&](Device device, Trace& trace) {
    size_t k = 0;
    NoiseFn renoise = [&](const Shape&) -> Expected<Tensor> { return fresh.at(k++).copy_to(device); };
    return run_sampler(fastwan_sampler_defaults(), noise.copy_to(device), affine_model(r), renoise,
                       [&](const std::string& n, const Tensor& t) { trace[n] = t.clone(); });
  };
  Trace host_trace, device_trace;
  ASSERT_OK_AND_ASSIGN(Tensor host, run(Device::cpu, host_trace));
  ASSERT_OK_AND_ASSIGN(Tensor device, run(Device::cuda, device_trace));
  expect_same(device, host);
  expect_same_traces(device_trace, host_trace);
}

TEST(SamplerGpu, EulerLoopOnTheDeviceMatchesTheHostLoop) {
  FW_REQUIRE_GPU();
  cuda::install_sampler_ops();
  const Shape shape = {1, 16, 2, 4, 6};
  std::vector<Tensor> r;
  for (int i = 0; i < 4; ++i) r.push_back(test::random_tensor(shape, 30 + i));
  SamplerConfig config;
  config.kind = SamplerKind::euler;
  config.steps = 4;
  const Tensor noise = test::random_tensor(shape, 29);
  Trace host_trace, device_trace;
  auto trace_into = [](Trace& t) {
    return [&t](const std::string& n, const Tensor& v) { t[n] = v.clone(); };
  };
  ASSERT_OK_AND_ASSIGN(Tensor host,
                       run_sampler(config, noise, affine_model(r), nullptr, trace_into(host_trace)));
  ASSERT_OK_AND_ASSIGN(Tensor device, run_sampler(config, noise.copy_to(Device::cuda), affine_model(r),
                                                  nullptr, trace_into(device_trace)));
  expect_same(device, host);
  expect_same_traces(device_trace, host_trace);
}

// UniPC's arithmetic is host code: device latents are refused with a line that says so.
TEST(SamplerGpu, UniPcRefusesDeviceLatents) {
  FW_REQUIRE_GPU();
  cuda::install_sampler_ops();
  const Shape shape = {1, 16, 2, 4, 6};
  auto out = run_sampler(wan_t2v_sampler_defaults(), test::random_tensor(shape, 1).copy_to(Device::cuda),
                         affine_model({}));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message().find("runs on the host"), std::string::npos) << out.error().message();
}

}  // namespace
}  // namespace fastwan
