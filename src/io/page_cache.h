// The kernel's page cache and the files of a model: how much of them is in memory, and dropping them from it,
// so that `fastwan bench --e2e --cold` times loading as a first read from the disk (without root: the pages
// of a file that nothing maps or dirties can be dropped by any reader, posix_fadvise(POSIX_FADV_DONTNEED)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fastwan/status.h"

namespace fastwan {

struct PageCacheUsage {
  int64_t files = 0;
  int64_t bytes = 0;     // the files' sizes
  int64_t resident = 0;  // of which in the page cache (pages counted whole)
};

// The regular files under each path (a file, or a folder searched recursively; symbolic links followed, each
// file counted once): their size and how much of it is resident. A path that does not exist is an error.
Expected<PageCacheUsage> page_cache_usage(const std::vector<std::string>& paths);

// Writes back those files' dirty pages, then asks the kernel to drop their pages. Pages that are mapped stay:
// page_cache_usage() after it says how much that was (on tmpfs, everything: there the page cache is the
// storage).
Status evict_from_page_cache(const std::vector<std::string>& paths);

}  // namespace fastwan
