// A file written under a temporary name in its destination's folder and renamed into place on commit, so that
// readers never see a half-written file and a failure leaves nothing behind, also when the process is
// interrupted (SIGINT, SIGTERM, SIGHUP: the temporary files are removed before it ends).
#pragma once

#include <string>

#include "fastwan/status.h"

namespace fastwan {

// Files removed if the process is interrupted before they are dropped from the list again (written PNG frames
// of an unfinished video). Installs the signal handlers on first use. Returns a slot for forget_on_interrupt,
// or -1 when the list is full (the file then stays behind after an interrupt, as before).
int remove_on_interrupt(const std::string& path);
void forget_on_interrupt(int slot);

class PartialFile {
 public:
  // Creates `<folder>/.<name>.partial-XXXXXX` (an empty file) for `destination`.
  static Expected<PartialFile> create(const std::string& destination);

  PartialFile(PartialFile&& other) noexcept;
  PartialFile& operator=(PartialFile&& other) = delete;
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
  ~PartialFile();  // removes the temporary file unless committed

  const std::string& temp_path() const { return temp_; }
  const std::string& destination() const { return destination_; }
  // Renames the temporary file to the destination (replacing an existing file).
  Status commit();

 private:
  PartialFile(std::string temp, std::string destination)
      : temp_(std::move(temp)), destination_(std::move(destination)), slot_(remove_on_interrupt(temp_)) {}
  std::string temp_;
  std::string destination_;
  int slot_ = -1;  // remove_on_interrupt's
  bool done_ = false;
};

}  // namespace fastwan
