// How a video was made, kept in the file: MP4 metadata tags (through the MP4 module) and PNG iTXt chunks,
// the places other image and video tools use. Keys: "prompt", "negative_prompt", and "fastwan" (the settings
// as JSON, with the version that wrote them).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "fastwan/status.h"

namespace fastwan {

using VideoMetadata = std::vector<std::pair<std::string, std::string>>;

// A PNG file's bytes with an iTXt chunk (UTF-8 text) per entry inserted after its header chunk.
Expected<std::string> png_with_text(const std::string& png, const VideoMetadata& metadata);
// The tEXt and iTXt entries of PNG bytes (uncompressed ones; others are skipped).
Expected<VideoMetadata> png_text(const std::string& png, const std::string& path);

// The metadata of a file fastwan wrote: an .mp4 (needs the MP4 module) or a .png frame. The error names the
// file.
Expected<VideoMetadata> read_video_metadata(const std::string& path);

}  // namespace fastwan
