// Corrupt and randomly mutated GGUF files: each gives its one-line error naming the file (and the tensor), or
// a valid file whose tensors all decode inside the mapping (ASan checks the reads in the sanitizer build).
#include "common/test_util.h"
#include "core/random.h"
#include "fuzz/gguf_files.h"
#include "io/gguf.h"

namespace fastwan {
namespace {

using test::TempDir;

TEST(Gguf, CorruptFilesGiveOneLineErrorsNamingFileAndTensor) {
  TempDir dir;
  for (const auto& c : test::corrupt_gguf_files()) {
    test::write_file(dir.file("bad.gguf"), c.bytes);
    auto f = GgufFile::open(dir.file("bad.gguf"));
    ASSERT_FALSE(f.ok()) << c.name;
    const std::string& m = f.error().message();
    EXPECT_NE(m.find(c.expected_error), std::string::npos) << c.name << ": got '" << m << "'";
    EXPECT_EQ(m.rfind(dir.file("bad.gguf") + ": ", 0), 0u) << c.name << ": " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << c.name;
  }
  test::write_file(dir.file("ok.gguf"), test::valid_gguf_image());
  ASSERT_OK(GgufFile::open(dir.file("ok.gguf")));
}

TEST(Gguf, SeededMutationsNeverCrash) {
  TempDir dir;
  std::vector<std::string> seeds = {test::valid_gguf_image()};
  for (const auto& c : test::corrupt_gguf_files()) seeds.push_back(c.bytes);
  SplitMix64 rng(7);
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s = seeds[rng.next() % seeds.size()];
    for (int m = 0, n = 1 + static_cast<int>(rng.next() % 4); m < n && !s.empty(); ++m) {
      const size_t pos = rng.next() % s.size();
      if (rng.next() % 3 == 0)
        s.resize(pos);
      else
        s[pos] = static_cast<char>(rng.next());
    }
    test::write_file(dir.file("fuzz.gguf"), s);
    auto f = GgufFile::open(dir.file("fuzz.gguf"));
    if (!f.ok()) {
      ++errors;
      ASSERT_EQ(f.error().message().find('\n'), std::string::npos);
      continue;
    }
    for (const auto& t : (*f)->header().tensors) {
      const Tensor x = (*f)->tensor(t);
      volatile float sink = 0;
      for (int64_t j = 0; j < x.numel(); ++j) sink = sink + x.item_f32(j);
    }
  }
  EXPECT_GT(errors, 1000);
}

}  // namespace
}  // namespace fastwan
