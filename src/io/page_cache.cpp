#include "io/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <set>

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

struct OpenFile {
  int fd = -1;
  int64_t size = 0;
  explicit OpenFile(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd >= 0) size = ::lseek(fd, 0, SEEK_END);
  }
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
};

// Resident bytes of an open file: mincore() on a mapping of it (mapping faults nothing in).
int64_t resident_bytes(const OpenFile& f) {
  if (f.size <= 0) return 0;
  void* m = ::mmap(nullptr, static_cast<size_t>(f.size), PROT_READ, MAP_SHARED, f.fd, 0);
  if (m == MAP_FAILED) return 0;
  const int64_t page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> in_core(static_cast<size_t>((f.size + page - 1) / page));
  int64_t resident = 0;
  if (::mincore(m, static_cast<size_t>(f.size), in_core.data()) == 0)
    for (unsigned char c : in_core) resident += (c & 1) ? page : 0;
  ::munmap(m, static_cast<size_t>(f.size));
  return std::min(resident, f.size);
}

}  // namespace

Expected<PageCacheUsage> page_cache_usage(const std::vector<std::string>& paths) {
  FW_ASSIGN_OR_RETURN(auto files, regular_files(paths));
  PageCacheUsage u;
  for (const auto& path : files) {
    const OpenFile f(path);
    if (f.fd < 0) return Error(path + ": cannot open");
    ++u.files;
    u.bytes += f.size;
    u.resident += resident_bytes(f);
  }
  return u;
}

Status evict_from_page_cache(const std::vector<std::string>& paths) {
  FW_ASSIGN_OR_RETURN(auto files, regular_files(paths));
  for (const auto& path : files) {
    const OpenFile f(path);
    if (f.fd < 0) return Error(path + ": cannot open");
    ::fdatasync(f.fd);  // a file written a moment ago (fastwan synth) has dirty pages, which cannot be dropped
    if (const int err = ::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED))
      return Error(path + ": cannot drop it from the page cache (posix_fadvise error " + std::to_string(err) +
                   ")");
  }
  return Status::Ok();
}

}  // namespace fastwan
