#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fastwan {

Expected<std::shared_ptr<Storage>> map_file(const std::string& path) {
  auto fail = [&](const std::string& why) { return Error(path + ": " + why); };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  auto storage = std::make_shared<Storage>();
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return storage;
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return fail(std::string("mmap failed: ") + std::strerror(errno));
  storage->data = p;
  storage->bytes = size;
  storage->owner = std::shared_ptr<void>(p, [size](void* q) { ::munmap(q, size); });
  return storage;
}

}  // namespace fastwan
