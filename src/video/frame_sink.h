// Video files from decoded frames: MP4 (H.264 yuv420p through libav, loaded at run time), PNG frames, Y4M.
// A decoder hands frames over in order as uint8 RGB [H, W, 3], one at a time, so nothing holds the whole
// video.
//
// Nothing is left half-written: a file is written under a temporary name beside its destination and renamed
// into place by finish(); a sink destroyed without finish() removes what it wrote.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fastwan/status.h"

namespace fastwan {

enum class VideoFormat { mp4, png, y4m };

std::string video_format_name(VideoFormat format);
Expected<VideoFormat> parse_video_format(const std::string& name);  // "mp4", "png", "y4m"

struct VideoOutputOptions {
  std::string path;  // -o: out.mp4, out.y4m, a folder or a pattern like frame_%05d.png for PNG
  std::optional<VideoFormat> format;  // --format; else taken from the path's extension
  int fps = 16;                       // Wan2.1 / FastWan's native frame rate
  int crf = 18;                       // MP4 quality: x264 constant rate factor, 0 (lossless) .. 51
  // How the video was made (video/metadata.h): MP4 tags, PNG text chunks; Y4M has no place for it.
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Where and how frames will be written, checked before any decoding work.
struct VideoOutput {
  VideoOutputOptions options;
  VideoFormat format = VideoFormat::mp4;
  std::string png_pattern;  // PNG: printf pattern of the frame files (folder/frame_%05d.png or the one given)
  bool png_make_folder = false;  // PNG: the folder does not exist yet and is created on open
  // Also given the first frame (rgb, width, height) as it is written: the server's thumbnail.
  std::function<Status(const uint8_t*, int64_t, int64_t)> first_frame;
};

// Checks -o and --format: the extension agrees with the format, the destination folder exists and is
// writable, the options are in range, and for MP4 that the MP4 module can be loaded. The error names the
// flag.
Expected<VideoOutput> check_video_output(const VideoOutputOptions& options);

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // One frame, rgb = height * width * 3 bytes (row-major, RGB interleaved), frames in order.
  virtual Status write(const uint8_t* rgb) = 0;
  // Completes the output and moves it into place. Without it, the destructor removes what was written.
  virtual Status finish() = 0;
  // The files written (after finish()): the video file, or the PNG frames.
  virtual std::string describe() const = 0;
};

// Opens the output for frames of width x height (creates the temporary file or the PNG folder).
Expected<std::unique_ptr<FrameSink>> open_video_output(const VideoOutput& output, int64_t width,
                                                       int64_t height);

}  // namespace fastwan
