#include "video/partial_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace fastwan {
namespace fs = std::filesystem;
namespace {

// The interrupt list: slots a signal handler reads without locks or allocation (unlink is
// async-signal-safe).
constexpr int kSlots = 256;
std::atomic<char*> g_paths[kSlots];

extern "C" void remove_and_reraise(int sig) {
  for (auto& slot : g_paths)
    if (char* path = slot.load()) ::unlink(path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_handlers() {
  static const bool installed = [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old = {};
      ::sigaction(sig, nullptr, &old);
      if (old.sa_handler == SIG_IGN) continue;  // nohup, or a background job of a shell: stay immune
      struct sigaction action = {};
      action.sa_handler = remove_and_reraise;
      sigemptyset(&action.sa_mask);
      ::sigaction(sig, &action, nullptr);
    }
    return true;
  }();
  (void)installed;
}

}  // namespace

int remove_on_interrupt(const std::string& path) {
  install_handlers();
  char* copy = ::strdup(path.c_str());
  for (int i = 0; i < kSlots; ++i) {
    char* expected = nullptr;
    if (g_paths[i].compare_exchange_strong(expected, copy)) return i;
  }
  std::free(copy);
  return -1;
}

void forget_on_interrupt(int slot) {
  if (slot < 0) return;
  std::free(g_paths[slot].exchange(nullptr));
}

Expected<PartialFile> PartialFile::create(const std::string& destination) {
  const fs::path dest(destination);
  const fs::path folder = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  std::string name = ".";  // built in steps: GCC 12 warns falsely (-Wrestrict) about "." + string
  name += dest.filename().string();
  name += ".partial-XXXXXX";
  std::string tmpl = (folder / name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    return Error(destination + ": cannot create a file in " + folder.string() + ": " + std::strerror(errno));
  // mkstemp makes the file private (0600); the finished file gets the usual permissions (0666 less the
  // umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  ::close(fd);
  return PartialFile(tmpl, destination);
}

PartialFile::PartialFile(PartialFile&& other) noexcept
    : temp_(std::move(other.temp_)),
      destination_(std::move(other.destination_)),
      slot_(other.slot_),
      done_(other.done_) {
  other.done_ = true;
  other.slot_ = -1;
}

PartialFile::~PartialFile() {
  if (!done_) std::remove(temp_.c_str());
  forget_on_interrupt(slot_);
}

Status PartialFile::commit() {
  std::error_code ec;
  fs::rename(temp_, destination_, ec);
  if (ec) return Error(destination_ + ": cannot move the finished file into place: " + ec.message());
  done_ = true;
  forget_on_interrupt(slot_);
  slot_ = -1;
  return Status::Ok();
}

}  // namespace fastwan
