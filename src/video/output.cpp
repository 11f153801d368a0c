// Checking -o / --format before any decoding, and opening the writer.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "video/frame_sink.h"
#include "video/partial_file.h"
#include "video/png_names.h"
#include "video/sinks.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

std::string lower_extension(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

std::optional<VideoFormat> format_of_extension(const std::string& ext) {
  if (ext == ".mp4") return VideoFormat::mp4;
  if (ext == ".y4m") return VideoFormat::y4m;
  if (ext == ".png") return VideoFormat::png;
  return std::nullopt;
}

// Creates (and removes) a file in the folder: permission bits alone do not tell (root, read-only mounts).
Status check_writable_folder(const fs::path& folder, const std::string& flag_value) {
  const fs::path f = folder.empty() ? fs::path(".") : folder;
  std::error_code ec;
  if (!fs::is_directory(f, ec))
    return Error("-o " + flag_value + ": " + f.string() +
                 (fs::exists(f, ec) ? " is not a folder" : " does not exist (create the folder first)"));
  auto probe = PartialFile::create((f / "fastwan-write-test").string());
  if (!probe) return Error("-o " + flag_value + ": folder " + f.string() + " is not writable");
  return Status::Ok();
}

// PNG: a pattern (frame_%05d.png) or a folder that gets frame_00000.png, frame_00001.png, ...
Status resolve_png(VideoOutput& out) {
  const std::string& path = out.options.path;
  const fs::path p(path);
  std::error_code ec;
  if (path.find('%') != std::string::npos) {
    if (lower_extension(p) != ".png") return Error("-o " + path + ": a PNG frame pattern must end in .png");
    if (Status s = check_png_pattern(p.filename().string()); !s)
      return Error("-o " + path + ": " + s.error().message());
    if (p.parent_path().string().find('%') != std::string::npos)
      return Error("-o " + path + ": the %d field belongs in the file name, not the folder");
    out.png_pattern = path;
    return check_writable_folder(p.parent_path(), path);
  }
  if (lower_extension(p) == ".png")
    return Error("-o " + path +
                 ": PNG output is one file per frame; give a folder (frames/) or a pattern such as " +
                 "frame_%05d.png");
  fs::path folder = p.lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();  // "frames/" names the folder "frames"
  out.png_pattern = (folder / "frame_%05d.png").string();
  if (fs::exists(folder, ec)) {
    if (!fs::is_directory(folder, ec)) return Error("-o " + path + ": exists and is not a folder");
    return check_writable_folder(folder, path);
  }
  out.png_make_folder = true;
  const fs::path parent = folder.has_parent_path() ? folder.parent_path() : fs::path(".");
  return check_writable_folder(parent, path);
}

}  // namespace

std::string video_format_name(VideoFormat format) {
  switch (format) {
    case VideoFormat::mp4:
      return "mp4";
    case VideoFormat::png:
      return "png";
    case VideoFormat::y4m:
      return "y4m";
  }
  return "?";
}

Expected<VideoFormat> parse_video_format(const std::string& name) {
  if (name == "mp4") return VideoFormat::mp4;
  if (name == "png") return VideoFormat::png;
  if (name == "y4m") return VideoFormat::y4m;
  return Error("--format: unknown format '" + name + "' (expected mp4, png or y4m)");
}

Expected<VideoOutput> check_video_output(const VideoOutputOptions& o) {
  if (o.path.empty()) return Error("-o: an output path is required");
  if (o.fps < 1 || o.fps > 240) return Error("--fps: expected 1 to 240, got " + std::to_string(o.fps));
  if (o.crf < 0 || o.crf > 51)
    return Error("--crf: expected 0 (lossless) to 51, got " + std::to_string(o.crf));
  VideoOutput out;
  out.options = o;
  if (o.path == "-") {  // a pipe into ffmpeg or mpv: Y4M is the one format that streams without seeking
    if (o.format && *o.format != VideoFormat::y4m)
      return Error("-o -: stdout takes Y4M only, not --format " + video_format_name(*o.format));
    if (::isatty(STDOUT_FILENO))
      return Error("-o -: stdout is a terminal; pipe it into a program (| mpv -, | ffmpeg -i - out.webm)");
    out.format = VideoFormat::y4m;
    return out;
  }
  const fs::path p(o.path);
  std::error_code ec;
  const bool is_folder = fs::is_directory(p, ec) || o.path.back() == '/';
  const std::optional<VideoFormat> by_extension = format_of_extension(lower_extension(p));
  if (o.format && by_extension && *o.format != *by_extension)
    return Error("-o " + o.path + ": the extension says " + video_format_name(*by_extension) +
                 " but --format is " + video_format_name(*o.format));
  if (o.format)
    out.format = *o.format;
  else if (by_extension)
    out.format = *by_extension;
  else if (is_folder)
    out.format = VideoFormat::png;
  else
    return Error("-o " + o.path +
                 ": cannot tell the format; end the name in .mp4 or .y4m, give a folder for PNG " +
                 "frames, or pass --format mp4|png|y4m");

  if (out.format == VideoFormat::png) {
    FW_RETURN_IF_ERROR(resolve_png(out));
    return out;
  }
  if (is_folder)
    return Error("-o " + o.path + ": is a folder; expected a file name such as out." +
                 video_format_name(out.format));
  FW_RETURN_IF_ERROR(check_writable_folder(p.parent_path(), o.path));
  if (out.format == VideoFormat::mp4) FW_RETURN_IF_ERROR(mp4_available());
  return out;
}

Expected<std::unique_ptr<FrameSink>> open_video_output(const VideoOutput& output, int64_t width,
                                                       int64_t height) {
  if (width < 1 || height < 1 || width > 16384 || height > 16384)
    return Error(output.options.path + ": frame size " + std::to_string(width) + "x" +
                 std::to_string(height) + " is out of range (1 to 16384)");
  switch (output.format) {
    case VideoFormat::mp4:
      return open_mp4_sink(output, width, height);
    case VideoFormat::png:
      return open_png_sink(output, width, height);
    case VideoFormat::y4m:
      return open_y4m_sink(output, width, height);
  }
  return Error("unknown video format");
}

}  // namespace fastwan
