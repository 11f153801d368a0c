// PNG frames through stb_image_write (compiled in here, so there is no run-time dependency).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "video/metadata.h"
#include "video/partial_file.h"
#include "video/png_names.h"
#include "video/sinks.h"

namespace fastwan {
namespace {

class PngSink : public FrameSink {
 public:
  PngSink(const VideoOutput& output, int64_t width, int64_t height)
      : pattern_(output.png_pattern),
        metadata_(output.options.metadata),
        folder_created_(output.png_make_folder),
        width_(width),
        height_(height) {}
  ~PngSink() override {
    for (int slot : slots_) forget_on_interrupt(slot);
    if (finished_) return;
    for (const auto& f : written_) std::remove(f.c_str());
    std::error_code ec;  // the folder goes only if this sink made it (and it is empty again)
    if (folder_created_) std::filesystem::remove(std::filesystem::path(pattern_).parent_path(), ec);
  }

  Status write(const uint8_t* rgb) override {
    const std::string name = png_frame_name(pattern_, static_cast<int64_t>(written_.size()));
    FW_ASSIGN_OR_RETURN(PartialFile file, PartialFile::create(name));
    int size = 0;
    unsigned char* encoded = stbi_write_png_to_mem(
        rgb, static_cast<int>(3 * width_), static_cast<int>(width_), static_cast<int>(height_), 3, &size);
    if (!encoded) return Error(name + ": PNG encoding failed (out of memory?)");
    const std::string png(reinterpret_cast<const char*>(encoded), static_cast<size_t>(size));
    STBIW_FREE(encoded);
    FW_ASSIGN_OR_RETURN(std::string bytes, png_with_text(png, metadata_));
    std::ofstream out(file.temp_path(), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return Error(name + ": write failed (disk full?)");
    FW_RETURN_IF_ERROR(file.commit());
    written_.push_back(name);
    slots_.push_back(remove_on_interrupt(name));  // until the last frame is written
    return Status::Ok();
  }

  Status finish() override {
    finished_ = true;
    for (int slot : slots_) forget_on_interrupt(slot);
    slots_.clear();
    return Status::Ok();
  }

  std::string describe() const override {
    return written_.empty() ? pattern_ : written_.front() + " .. " + written_.back();
  }

 private:
  std::string pattern_;
  VideoMetadata metadata_;
  bool folder_created_;
  int64_t width_, height_;
  std::vector<std::string> written_;
  std::vector<int> slots_;
  bool finished_ = false;
};

}  // namespace

Status write_png(const std::string& path, const uint8_t* rgb, int64_t width, int64_t height) {
  FW_ASSIGN_OR_RETURN(PartialFile file, PartialFile::create(path));
  if (!stbi_write_png(file.temp_path().c_str(), static_cast<int>(width), static_cast<int>(height), 3, rgb,
                      static_cast<int>(3 * width)))
    return Error(path + ": write failed (disk full?)");
  return file.commit();
}

Expected<std::unique_ptr<FrameSink>> open_png_sink(const VideoOutput& output, int64_t width, int64_t height) {
  if (output.png_make_folder) {
    const std::filesystem::path folder = std::filesystem::path(output.png_pattern).parent_path();
    std::error_code ec;
    std::filesystem::create_directory(folder, ec);
    if (ec) return Error(folder.string() + ": cannot create folder: " + ec.message());
  }
  return std::unique_ptr<FrameSink>(new PngSink(output, width, height));
}

}  // namespace fastwan
