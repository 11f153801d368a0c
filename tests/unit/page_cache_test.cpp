// io/page_cache.h: how much of a file is in the page cache, and dropping it (what `bench --e2e --cold` does).
#include "io/page_cache.h"

#include <sys/vfs.h>

#include <filesystem>
#include <fstream>

#include "common/test_util.h"

namespace fastwan {
namespace {

constexpr int64_t kBytes = int64_t{4} << 20;

void write_four_megabytes(const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  const std::string block(1 << 20, 'x');
  for (int64_t i = 0; i < kBytes; i += static_cast<int64_t>(block.size())) f << block;
}

TEST(PageCache, CountsFilesOfAFolderOnceAndDropsThemFromTheCache) {
  test::TempDir dir;
  write_four_megabytes(dir.file("a.bin"));
  std::filesystem::create_directory(dir.file("sub"));
  write_four_megabytes(dir.file("sub/b.bin"));
  // The folder and one of its files again: two files, counted once each.
  auto before = page_cache_usage({dir.path().string(), dir.file("a.bin")});
  ASSERT_TRUE(before.ok()) << before.error().message();
  EXPECT_EQ(before->files, 2);
  EXPECT_EQ(before->bytes, 2 * kBytes);
  EXPECT_GT(before->resident, 0);  // just written
  EXPECT_LE(before->resident, before->bytes);
  // Just written, so dirty: evicting writes them back first (clean pages only can be dropped).
  ASSERT_TRUE(evict_from_page_cache({dir.path().string()}).ok());
  auto after = page_cache_usage({dir.path().string()});
  ASSERT_TRUE(after.ok());
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  constexpr long kTmpfsMagic = 0x01021994;  // there the page cache is the storage: nothing can be dropped
  if (fs.f_type == kTmpfsMagic) GTEST_SKIP() << "tmpfs: pages cannot leave the page cache";
  EXPECT_LT(after->resident, before->resident / 4);
}

TEST(PageCache, AMissingPathIsAnErrorNamingIt) {
  auto u = page_cache_usage({"/nonexistent/model"});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().message(), "/nonexistent/model: no such file or folder");
  EXPECT_FALSE(evict_from_page_cache({"/nonexistent/model"}).ok());
}

}  // namespace
}  // namespace fastwan
