// The sampler loops with fake velocity functions: closed forms, exactness on straight flows, convergence
// orders, and the errors a caller can cause.
#include <cmath>
#include <map>
#include <vector>

#include "common/test_util.h"
#include "ops/ops.h"
#include "sampler/sampler.h"
#include "sampler/sampler_ops.h"

namespace fastwan {
namespace {

using test::random_tensor;

const Shape kShape = {1, 16, 2, 4, 6};

// a * x + b * y elementwise in float64, as f32.
Tensor lin(double a, const Tensor& x, double b, const Tensor& y) {
  Tensor out = Tensor::empty(x.shape(), DType::f32);
  for (int64_t i = 0; i < x.numel(); ++i) out.f32()[i] = static_cast<float>(a * x.f32()[i] + b * y.f32()[i]);
  return out;
}

double max_rel(const Tensor& a, const Tensor& ref) {
  return ops::compare(a, ref).max_rel();
}

// A model that knows the clean sample: its data prediction x - sigma v is exactly `x0` for every input.
VelocityFn oracle(const Tensor& x0) {
  return [x0](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
    return lin(1.0 / step.sigma, x, -1.0 / step.sigma, x0);
  };
}

TEST(SamplerLoop, UniPcThreeStepsMatchesTheClosedForm) {
  // v = 0.3 x + r_i: the velocity depends on the sample, so passing the wrong sample to the model shows up.
  std::vector<Tensor> r = {random_tensor(kShape, 11), random_tensor(kShape, 12), random_tensor(kShape, 13)};
  std::vector<float> seen_timesteps;
  VelocityFn velocity = [&](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
    seen_timesteps.push_back(step.timestep);
    return lin(0.3, x, 1.0, r[step.index]);
  };
  std::map<std::string, Tensor> trace;
  SamplerConfig config;
  config.kind = SamplerKind::unipc;
  config.steps = 3;
  config.flow_shift = 3.0;
  const Tensor noise = random_tensor(kShape, 10);
  ASSERT_OK_AND_ASSIGN(Tensor out, run_sampler(config, noise, velocity, nullptr,
                                               [&](const std::string& n, const Tensor& t) { trace[n] = t; }));
  EXPECT_EQ(seen_timesteps, (std::vector<float>{999, 857, 599}));

  const double s0 = 0.99988878, s1 = 0.85702026, s2 = 0.59987986;
  const Tensor m0 = lin(1.0 - 0.3 * s0, noise, -s0, r[0]);
  const Tensor x1 = lin(0.857115589, noise, 0.142884411, m0);
  const Tensor m1 = lin(1.0 - 0.3 * s1, x1, -s1, r[1]);
  const Tensor x1c = lin(0.857115589, noise, 1.0, lin(0.0714422054, m0, 0.0714422054, m1));
  const Tensor x2 = lin(0.699959954, x1c, 1.0, lin(0.328468014, m1, -0.0284279674, m0));
  const Tensor m2 = lin(1.0 - 0.3 * s2, x2, -s2, r[2]);
  EXPECT_LE(max_rel(trace.at("latents_1"), x1), 2e-6);
  EXPECT_LE(max_rel(trace.at("latents_2"), x2), 2e-6);
  EXPECT_LE(max_rel(trace.at("x0_2"), m2), 2e-6);
  EXPECT_LE(max_rel(out, m2), 2e-6);
  EXPECT_EQ(ops::compare(trace.at("latents_3"), out).max_abs, 0.0);
}

// With a model that knows x0 and a start on the straight path x = (1 - sigma) x0 + sigma n, every latents_i
// stays on that path (all data predictions agree, so the multistep corrections vanish) and the result is x0.
void expect_stays_on_path(SamplerConfig c) {
  const Tensor x0 = random_tensor(kShape, 21), n = random_tensor(kShape, 22);
  ASSERT_OK_AND_ASSIGN(SamplerSchedule s, make_schedule(c));
  std::map<std::string, Tensor> trace;
  const Tensor start = lin(1.0 - s.sigmas[0], x0, s.sigmas[0], n);
  ASSERT_OK_AND_ASSIGN(Tensor out,
                       run_sampler(c, start, oracle(x0), nullptr,
                                   [&](const std::string& name, const Tensor& t) { trace[name] = t; }));
  const std::string what = std::string(sampler_kind_name(c.kind)) + " steps " + std::to_string(c.steps) +
                           " shift " + std::to_string(c.flow_shift) + " order " +
                           std::to_string(c.unipc_order);
  for (int i = 1; i < s.steps(); ++i) {
    const double sigma = s.sigmas[i];
    EXPECT_LE(max_rel(trace.at("latents_" + std::to_string(i)), lin(1 - sigma, x0, sigma, n)), 2e-6)
        << what << " i " << i;
  }
  EXPECT_LE(max_rel(out, x0), 2e-6) << what;
}

TEST(SamplerLoop, StraightFlowsAreFollowedExactlyForAnyStepsShiftAndOrder) {
  for (int steps : {1, 2, 3, 4, 7, 20}) {
    for (double shift : {1.0, 3.0, 8.0}) {
      SamplerConfig c;
      c.steps = steps;
      c.flow_shift = shift;
      c.kind = SamplerKind::euler;
      expect_stays_on_path(c);
      c.kind = SamplerKind::unipc;
      for (int order : {1, 2, 3}) {
        c.unipc_order = order;
        expect_stays_on_path(c);
      }
    }
  }
}

// Data x0 ~ N(mu, s^2) per element: the exact flow velocity is known in closed form, and the probability-flow
// ODE keeps the standardized value z = (x - (1 - sigma) mu) / sqrt((1 - sigma)^2 s^2 + sigma^2) constant.
struct GaussianFlow {
  double mu = 0.5, s = 0.7;
  double scale(double sigma) const { return std::sqrt((1 - sigma) * (1 - sigma) * s * s + sigma * sigma); }
  VelocityFn velocity() const {
    return [*this](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
      const double sig = step.sigma, a = 1.0 - sig, k = a * s * s / (scale(sig) * scale(sig));
      Tensor v = Tensor::empty(x.shape(), DType::f32);
      for (int64_t i = 0; i < x.numel(); ++i) {
        const double xi = x.f32()[i];
        v.f32()[i] = static_cast<float>((xi - (mu + k * (xi - a * mu))) / sig);
      }
      return v;
    };
  }
  // The exact sample at sigma1 on the trajectory through `start` at sigma0.
  Tensor at(const Tensor& start, double sigma0, double sigma1) const {
    Tensor out = Tensor::empty(start.shape(), DType::f32);
    for (int64_t i = 0; i < start.numel(); ++i) {
      const double z = (start.f32()[i] - (1 - sigma0) * mu) / scale(sigma0);
      out.f32()[i] = static_cast<float>((1 - sigma1) * mu + scale(sigma1) * z);
    }
    return out;
  }
};

// Max error of latents_{N/2} (the same sigma for every even N: the schedule is a shifted linspace).
double midpoint_error(SamplerKind kind, int order, int steps) {
  const GaussianFlow flow;
  const Tensor noise = random_tensor(kShape, 31);
  SamplerConfig c;
  c.kind = kind;
  c.steps = steps;
  c.flow_shift = 3.0;
  c.unipc_order = order;
  std::map<std::string, Tensor> trace;
  auto schedule = make_schedule(c);
  auto out = run_sampler(c, noise, flow.velocity(), nullptr,
                         [&](const std::string& n, const Tensor& t) { trace[n] = t; });
  if (!out.ok() || !schedule.ok()) return INFINITY;
  const Tensor exact = flow.at(noise, schedule->sigmas[0], schedule->sigmas[steps / 2]);
  return ops::compare(trace.at("latents_" + std::to_string(steps / 2)), exact).max_abs;
}

TEST(SamplerLoop, ConvergenceOrdersOnAGaussianFlow) {
  // Doubling the steps divides the error by 2^order: Euler is first order; UniPC of solver order p with its
  // corrector is order p + 1 (measured: 3.6, 7.4 and 25 for p = 1, 2, 3).
  auto ratio = [](SamplerKind kind, int order, int steps) {
    return midpoint_error(kind, order, steps) / midpoint_error(kind, order, 2 * steps);
  };
  EXPECT_NEAR(ratio(SamplerKind::euler, 1, 16), 2.0, 0.2);
  EXPECT_NEAR(ratio(SamplerKind::unipc, 1, 16), 4.0, 0.6);
  EXPECT_GT(ratio(SamplerKind::unipc, 2, 16), 6.5);
  EXPECT_GT(ratio(SamplerKind::unipc, 2, 32), 6.5);
  EXPECT_GT(ratio(SamplerKind::unipc, 3, 8), 12.0);
  EXPECT_LT(midpoint_error(SamplerKind::unipc, 2, 32), midpoint_error(SamplerKind::euler, 1, 32) / 50);
}

TEST(SamplerLoop, EulerSolvesALinearOdeStepByStep) {
  // dx/dsigma = a x: Euler gives x_N = x_0 prod(1 + a (sigma_{i+1} - sigma_i)), near x_0 exp(a (0 -
  // sigma_0)).
  const double a = 0.8;
  VelocityFn linear = [a](const Tensor& x, const SamplerStep&) -> Expected<Tensor> {
    return lin(a, x, 0, x);
  };
  const Tensor x = random_tensor(kShape, 41);
  SamplerConfig c;
  c.kind = SamplerKind::euler;
  c.flow_shift = 1.0;
  double previous_error = INFINITY;
  for (int steps : {10, 40, 160}) {
    c.steps = steps;
    ASSERT_OK_AND_ASSIGN(SamplerSchedule s, make_schedule(c));
    ASSERT_OK_AND_ASSIGN(Tensor out, run_sampler(c, x, linear));
    double product = 1;
    for (int i = 0; i < steps; ++i) product *= 1 + a * (static_cast<double>(s.sigmas[i + 1]) - s.sigmas[i]);
    EXPECT_LE(max_rel(out, lin(product, x, 0, x)), 2e-6) << steps;
    const double error = max_rel(out, lin(std::exp(-a * s.sigmas[0]), x, 0, x));
    EXPECT_LT(error, previous_error / 3.5) << steps;
    previous_error = error;
  }
}

TEST(SamplerLoop, DmdDenoisesThenRenoisesWithFreshNoise) {
  const Tensor x0 = random_tensor(kShape, 51), noise = random_tensor(kShape, 52);
  std::vector<Tensor> fresh = {random_tensor(kShape, 53), random_tensor(kShape, 54)};
  int draws = 0;
  NoiseFn renoise = [&](const Shape& shape) -> Expected<Tensor> {
    EXPECT_EQ(shape, kShape);
    return fresh.at(draws++);
  };
  std::vector<float> seen;
  VelocityFn model = [&](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
    seen.push_back(step.timestep);
    return oracle(x0)(x, step);
  };
  std::map<std::string, Tensor> trace;
  ASSERT_OK_AND_ASSIGN(Tensor out, run_sampler(fastwan_sampler_defaults(), noise, model, renoise,
                                               [&](const std::string& n, const Tensor& t) { trace[n] = t; }));
  EXPECT_EQ(draws, 2);
  EXPECT_EQ(seen, (std::vector<float>{1000, 757, 522}));
  EXPECT_LE(max_rel(out, x0), 1e-5);
  EXPECT_LE(max_rel(trace.at("latents_1"), lin(1 - 0.7567567229, x0, 0.7567567229, fresh[0])), 1e-6);
  EXPECT_LE(max_rel(trace.at("latents_2"), lin(1 - 0.5217391253, x0, 0.5217391253, fresh[1])), 1e-6);
}

// The elementwise steps round where their contract says (the GPU twins are held to these bits).
TEST(SamplerOps, HostStepsRoundAsDocumented) {
  const Tensor x = random_tensor(kShape, 71), v = random_tensor(kShape, 72);
  const float s = 0.7567567229f;
  ASSERT_OK_AND_ASSIGN(Tensor x0, dmd_data_prediction(x, s, v));
  ASSERT_OK_AND_ASSIGN(Tensor renoised, dmd_add_noise(x, v, s));
  ASSERT_OK_AND_ASSIGN(Tensor stepped, euler_step(x, -s, v));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float a = x.f32()[i], b = v.f32()[i];
    const double product = static_cast<double>(s) * static_cast<double>(b);
    EXPECT_EQ(x0.f32()[i], static_cast<float>(static_cast<double>(a) - product));
    const volatile float kept = (1.0f - s) * a, added = s * b;  // volatile: each product rounded to float
    EXPECT_EQ(renoised.f32()[i], kept + added);
    const volatile float moved = -s * b;
    EXPECT_EQ(stepped.f32()[i], a + moved);
  }
}

void expect_error(const Expected<Tensor>& r, const std::string& needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

TEST(SamplerLoop, CallerMistakesAreOneLineErrors) {
  const Tensor noise = random_tensor(kShape, 61);
  const SamplerConfig unipc = wan_t2v_sampler_defaults();
  VelocityFn wrong_shape = [](const Tensor&, const SamplerStep&) -> Expected<Tensor> {
    return Tensor::zeros({3});
  };
  expect_error(run_sampler(unipc, noise, wrong_shape),
               "sampler step 1/50 (timestep 999.000000): velocity has shape [3], expected [1, 16, 2, 4, 6]");
  VelocityFn failing = [](const Tensor&, const SamplerStep& s) -> Expected<Tensor> {
    if (s.index == 1) return Error("model exploded");
    return Tensor::zeros(kShape);
  };
  expect_error(run_sampler(unipc, noise, failing), "sampler step 2/50 (timestep 993.000000): model exploded");
  expect_error(run_sampler(unipc, noise, nullptr), "no velocity function");
  expect_error(run_sampler(unipc, Tensor(), failing), "initial noise: expected a non-empty tensor");
  expect_error(run_sampler(unipc, Tensor::zeros({2}, DType::i32), failing), "dtype i32 is not a float type");

  VelocityFn zero = [](const Tensor& x, const SamplerStep&) -> Expected<Tensor> {
    return Tensor::zeros(x.shape());
  };
  const SamplerConfig dmd = fastwan_sampler_defaults();
  expect_error(run_sampler(dmd, noise, zero), "3 steps need a noise source");
  NoiseFn short_noise = [](const Shape&) -> Expected<Tensor> { return Tensor::zeros({1, 16}); };
  expect_error(run_sampler(dmd, noise, zero, short_noise), "re-noising noise has shape [1, 16], expected");
  NoiseFn no_noise = [](const Shape&) -> Expected<Tensor> { return Error("out of noise"); };
  expect_error(run_sampler(dmd, noise, zero, no_noise), "re-noising before step 2: out of noise");

  expect_error(dmd_data_prediction(noise, 0.5f, Tensor::zeros({3})), "differ in shape");
  expect_error(dmd_add_noise(noise, noise.to(DType::bf16), 0.5f), "expected contiguous f32 operands");

  SamplerSchedule flat;
  flat.timesteps = {500, 500};
  flat.sigmas = {0.5f, 0.5f, 0.0f};
  expect_error(sample_unipc(flat, 2, noise, zero), "expected strictly decreasing sigmas");
  SamplerSchedule ragged;
  ragged.timesteps = {500};
  expect_error(sample_euler(ragged, noise, zero), "expected N >= 1 timesteps and N + 1 sigmas");
}

}  // namespace
}  // namespace fastwan
