// Helpers shared by the test programs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan::test {

// The golden cases: $FASTWAN_GOLDEN_DIR, else tests/data/golden under the working directory, else the source
// tree's (compiled in as FASTWAN_GOLDEN_DIR).
std::string golden_dir();
std::string golden_case(const std::string& name);

// A fresh folder under the system temp dir, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Host f32 tensor of N(0, 1) values (seeded).
Tensor random_tensor(const Shape& shape, uint64_t seed, float std = 1.0f);
// An approximate attention `attend(q, k, v, scale)` against exact attention on the same q [Sq, H, D], k and
// v [Sk, H, D], with scale 1/sqrt(D): cosine similarity and rel L2, printed as "label Sq x Sk: ...".
// Attention inputs [S, heads, 128] with the outlier pattern K smoothing exists for (py/sage_ref.py): a
// channel bias shared by every key (large on 4 channels), a per-channel V offset, Q with its own bias.
struct AttentionInputs {
  Tensor q, k, v;
};
AttentionInputs biased_attention_inputs(int64_t sq, int64_t sk, int64_t heads, uint64_t seed);

struct Closeness {
  double cosine = 0, rel_l2 = 0;
};
Closeness attention_closeness(
    const Tensor& q, const Tensor& k, const Tensor& v,
    const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, float)>& attend,
    const std::string& label);

void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

// Runs a shell command; returns its exit status and combined stdout+stderr.
struct CommandResult {
  int status = -1;
  std::string output;
  std::string last_line() const;
};
CommandResult run_command(const std::string& command);

// The fastwan binary under test (FASTWAN_BIN), quoted for the shell.
std::string fastwan_bin();

}  // namespace fastwan::test

// Unwraps an Expected in a test, failing with its message.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(FW_CONCAT(test_expected_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_TRUE(tmp.ok()) << tmp.error().message(); \
  lhs = std::move(tmp).value()
#define ASSERT_OK(expr)                                               \
  do {                                                                \
    auto&& test_status_ = (expr);                                     \
    ASSERT_TRUE(test_status_.ok()) << test_status_.error().message(); \
  } while (0)
