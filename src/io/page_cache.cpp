#include "io/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "io/mapped_file.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;

// Every regular file under `paths`, canonical and once each.
Expected<std::vector<std::string>> regular_files(const std::vector<std::string>& paths) {
  std::set<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return Error(p + ": no such file or folder");
    if (fs::is_regular_file(p, ec)) {
      files.insert(fs::canonical(p, ec).string());
      continue;
    }
    for (fs::recursive_directory_iterator it(p, fs::directory_options::follow_directory_symlink, ec), end;
         !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec)) files.insert(fs::canonical(it->path(), ec).string());
    if (ec) return Error(p + ": cannot list the folder (" + ec.message() + ")");
  }
  return std::vector<std::string>(files.begin(), files.end());
}

// Resident bytes of a mapped file: mincore() on the mapping (mapping faults nothing in).
int64_t resident_bytes(const Storage& mapped) {
  if (mapped.bytes == 0) return 0;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((mapped.bytes + page - 1) / page);
  if (::mincore(mapped.data, mapped.bytes, in_core.data()) != 0) return 0;
  int64_t resident = 0;
  for (unsigned char c : in_core) resident += (c & 1) ? static_cast<int64_t>(page) : 0;
  return std::min(resident, static_cast<int64_t>(mapped.bytes));
}

}  // namespace

Expected<PageCacheUsage> page_cache_usage(const std::vector<std::string>& paths) {
  FW_ASSIGN_OR_RETURN(auto files, regular_files(paths));
  PageCacheUsage u;
  for (const auto& path : files) {
    FW_ASSIGN_OR_RETURN(auto mapped, map_file(path));  // io/mapped_file.h: maps without reading
    ++u.files;
    u.bytes += static_cast<int64_t>(mapped->bytes);
    u.resident += resident_bytes(*mapped);
  }
  return u;
}

Status evict_from_page_cache(const std::vector<std::string>& paths) {
  FW_ASSIGN_OR_RETURN(auto files, regular_files(paths));
  for (const auto& path : files) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error(path + ": cannot open");
    ::fdatasync(fd);  // a file written a moment ago (fastwan synth) has dirty pages, which cannot be dropped
    const int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    if (err)
      return Error(path + ": cannot drop it from the page cache (posix_fadvise error " + std::to_string(err) +
                   ")");
  }
  return Status::Ok();
}

}  // namespace fastwan
