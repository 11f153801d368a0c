// A whole file mapped read-only into memory (shared by the safetensors and GGUF readers).
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan {

// The mapping lives as long as the returned Storage (an empty file gives bytes == 0, data == nullptr).
// Errors name the path: cannot open, not a regular file, mmap failed.
Expected<std::shared_ptr<Storage>> map_file(const std::string& path);

}  // namespace fastwan
