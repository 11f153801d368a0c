// What `fastwan verify` says when it has no verifier for a case: every golden case's component is known on
// the CPU, an unknown one lists what is, and attn_qat on the GPU says why it has no GPU verifier.
#include <filesystem>

#include "common/test_util.h"
#include "verify/golden_case.h"

namespace fastwan {
namespace {

TEST(VerifyRegistry, EveryGoldenCaseHasACpuVerifier) {
  for (const auto& entry : std::filesystem::directory_iterator(test::golden_case(""))) {
    if (!entry.is_directory()) continue;
    ASSERT_OK_AND_ASSIGN(auto gc, GoldenCase::load(entry.path().string()));
    EXPECT_TRUE(find_verifier(gc.component, VerifyDevice::cpu).ok()) << gc.name << ": " << gc.component;
  }
}

TEST(VerifyRegistry, AnUnknownComponentListsTheKnownOnes) {
  const auto v = find_verifier("no_such_component", VerifyDevice::cpu);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message().find("unknown golden component 'no_such_component'"), std::string::npos);
  EXPECT_NE(v.error().message().find("attn_qat"), std::string::npos) << v.error().message();
}

TEST(VerifyRegistry, AttnQatHasNoGpuVerifierAndSaysWhy) {
  const auto v = find_verifier("attn_qat", VerifyDevice::cuda);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message().find("has no cuda path: Attn-QAT's GPU kernels are training kernels"),
            std::string::npos)
      << v.error().message();
}

}  // namespace
}  // namespace fastwan
