// The writers behind open_video_output (one file each).
#pragma once

#include "video/frame_sink.h"
#include "video/metadata.h"

namespace fastwan {

Expected<std::unique_ptr<FrameSink>> open_png_sink(const VideoOutput& output, int64_t width, int64_t height);
Expected<std::unique_ptr<FrameSink>> open_y4m_sink(const VideoOutput& output, int64_t width, int64_t height);
Expected<std::unique_ptr<FrameSink>> open_mp4_sink(const VideoOutput& output, int64_t width, int64_t height);

// One RGB image as a PNG file (written under a temporary name, then renamed into place).
Status write_png(const std::string& path, const uint8_t* rgb, int64_t width, int64_t height);

// Loads the MP4 module (libfastwan_mp4.so) once; the error says what is missing and suggests png or y4m.
Status mp4_available();
// The metadata tags of an MP4 file, read through the MP4 module.
Expected<VideoMetadata> read_mp4_metadata(const std::string& path);

}  // namespace fastwan
