#include "common/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "core/random.h"
#include "ops/ops.h"

namespace fastwan::test {

std::string golden_dir() {
  // A build carried to another machine finds the cases through the environment or the working directory
  // (the repository root), before the path compiled in.
  if (const char* env = std::getenv("FASTWAN_GOLDEN_DIR"); env && *env) return env;
  if (std::filesystem::is_directory("tests/data/golden")) return "tests/data/golden";
  return FASTWAN_GOLDEN_DIR;
}
std::string golden_case(const std::string& name) {
  return golden_dir() + "/" + name;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "fastwan-test-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (!p) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float std) {
  Tensor t = Tensor::empty(shape, DType::f32);
  SplitMix64 rng(seed * 0x9e3779b97f4a7c15ull + 1);
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std * rng.normal();
  return t;
}

AttentionInputs biased_attention_inputs(int64_t sq, int64_t sk, int64_t h, uint64_t seed) {
  const int64_t d = 128;
  AttentionInputs in{random_tensor({sq, h, d}, seed), random_tensor({sk, h, d}, seed + 1),
                     random_tensor({sk, h, d}, seed + 2)};
  const Tensor kb = random_tensor({h, d}, seed + 3, 4.0f), qb = random_tensor({h, d}, seed + 4),
               vb = random_tensor({h, d}, seed + 5, 2.0f);
  for (int64_t i = 0; i < sk; ++i)
    for (int64_t j = 0; j < h * d; ++j) {
      in.k.f32()[i * h * d + j] += kb.f32()[j] + (j % d < 4 ? 20.0f : 0.0f);  // shared channel offsets
      in.v.f32()[i * h * d + j] += vb.f32()[j];
    }
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < h * d; ++j)
      in.q.f32()[i * h * d + j] = 2.0f * in.q.f32()[i * h * d + j] + qb.f32()[j];
  return in;
}

Closeness attention_closeness(
    const Tensor& q, const Tensor& k, const Tensor& v,
    const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, float)>& attend,
    const std::string& label) {
  ops::AttentionOptions o;
  o.scale = 1.0f / std::sqrt(static_cast<float>(q.dim(2)));
  const Tensor exact = ops::attention(q, k, v, o), approx = attend(q, k, v, o.scale);
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < exact.numel(); ++i) {
    ab += double(approx.f32()[i]) * exact.f32()[i];
    aa += double(approx.f32()[i]) * approx.f32()[i];
    bb += double(exact.f32()[i]) * exact.f32()[i];
  }
  const Closeness c{ab / std::sqrt(aa * bb), ops::compare(approx, exact).rel_l2};
  std::printf("%s %lld x %lld: cosine %.6f, rel L2 %.3e\n", label.c_str(), static_cast<long long>(q.dim(0)),
              static_cast<long long>(k.dim(0)), c.cosine, c.rel_l2);
  return c;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string CommandResult::last_line() const {
  std::string s = output;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  auto pos = s.rfind('\n');
  return pos == std::string::npos ? s : s.substr(pos + 1);
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string fastwan_bin() {
  return std::string("'") + FASTWAN_BIN + "'";
}

}  // namespace fastwan::test
