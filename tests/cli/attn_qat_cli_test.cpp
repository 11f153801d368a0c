// `fastwan verify` on the Attn-QAT golden case (tests/data/golden/attn_qat_small), and its case.json checked
// field by field.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace fastwan {
namespace {

TEST(AttnQatCli, VerifyPassesTheGoldenCase) {
  auto r = test::run_command(test::fastwan_bin() + " verify " + test::golden_case("attn_qat_small"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.last_line(), "PASS attn_qat_small") << r.output;
  for (const char* check : {"a.o ", "a.m ", "a.dq (end to end) ", "c.dv (backward alone) ", "b.dv_exact_p "})
    EXPECT_NE(r.output.find(check), std::string::npos) << check << "\n" << r.output;
  EXPECT_EQ(r.output.find("a.dv_exact_p"), std::string::npos) << "case a has no ablations\n" << r.output;
}

TEST(AttnQatCli, ABrokenCaseFieldIsAOneLineErrorNamingIt) {
  namespace fs = std::filesystem;
  struct Edit {
    std::function<void(nlohmann::json&)> edit;
    std::string error;
  };
  for (const Edit& e : std::vector<Edit>{
           {[](nlohmann::json& m) { m["cases"]["b"].erase("block_n"); },
            "attn_qat_small/case.json cases.b: missing integer field \"block_n\""},
           {[](nlohmann::json& m) { m["cases"]["c"]["causal"] = "yes"; },
            "attn_qat_small/case.json cases.c: field \"causal\" must be a boolean (got \"yes\")"},
           {[](nlohmann::json& m) { m["cases"]["a"]["v_axis"] = "channels"; },
            "attn_qat_small/case.json cases.a: field \"v_axis\" must be \"tokens\" or \"head_dim\" (got "
            "\"channels\")"},
           {[](nlohmann::json& m) { m["cases"]["a"]["sk"] = 131; },
            "attn_qat_small/case.json cases.a: a.k is [130, 2, 64], but sk, heads, d give [131, 2, 64]"},
       }) {
    test::TempDir dir;
    const fs::path dst = dir.path() / "attn_qat_small";
    fs::copy(test::golden_case("attn_qat_small"), dst, fs::copy_options::recursive);
    fs::permissions(dst / "case.json", fs::perms::owner_write, fs::perm_options::add);
    auto meta = nlohmann::json::parse(test::read_file((dst / "case.json").string()));
    e.edit(meta);
    test::write_file((dst / "case.json").string(), meta.dump(2));
    auto r = test::run_command(test::fastwan_bin() + " verify " + dst.string());
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(r.output, "FAIL attn_qat_small: " + e.error + "\n");
  }
}

}  // namespace
}  // namespace fastwan
