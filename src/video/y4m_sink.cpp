// YUV4MPEG2 (.y4m): a text header, then "FRAME\n" and the planar Y'CbCr 4:2:0 bytes of each frame.
#include <cstdio>
#include <optional>
#include <vector>

#include "video/partial_file.h"
#include "video/rgb.h"
#include "video/sinks.h"

namespace fastwan {
namespace {

// Writes to a PartialFile, or to stdout (-o -) without one: a stream cannot be taken back, so a failure there
// leaves the frames already sent.
class Y4mSink : public FrameSink {
 public:
  Y4mSink(std::optional<PartialFile> file, std::FILE* out, int64_t width, int64_t height)
      : file_(std::move(file)), out_(out), width_(width), height_(height) {}
  ~Y4mSink() override {
    if (out_ && file_) std::fclose(out_);
  }

  Status write(const uint8_t* rgb) override {
    rgb8_to_yuv420(rgb, width_, height_, yuv_);
    if (std::fputs("FRAME\n", out_) < 0 || std::fwrite(yuv_.data(), 1, yuv_.size(), out_) != yuv_.size())
      return Error(describe() + ": write failed (disk full or closed pipe?)");
    return Status::Ok();
  }

  Status finish() override {
    const bool ok = file_ ? std::fclose(out_) == 0 : std::fflush(out_) == 0;
    out_ = nullptr;
    if (!ok) return Error(describe() + ": write failed (disk full or closed pipe?)");
    return file_ ? file_->commit() : Status::Ok();
  }

  std::string describe() const override { return file_ ? file_->destination() : "stdout"; }

 private:
  std::optional<PartialFile> file_;
  std::FILE* out_;
  int64_t width_, height_;
  std::vector<uint8_t> yuv_;
};

}  // namespace

Expected<std::unique_ptr<FrameSink>> open_y4m_sink(const VideoOutput& output, int64_t width, int64_t height) {
  std::optional<PartialFile> file;
  std::FILE* out = stdout;
  if (output.options.path != "-") {
    auto created = PartialFile::create(output.options.path);
    if (!created) return created.error();
    file.emplace(std::move(*created));
    out = std::fopen(file->temp_path().c_str(), "wb");
    if (!out) return Error(output.options.path + ": cannot open for writing");
  }
  // C420jpeg: 4:2:0 with centred chroma (the 2x2 means); progressive, square pixels.
  if (std::fprintf(out, "YUV4MPEG2 W%lld H%lld F%d:1 Ip A1:1 C420jpeg\n", static_cast<long long>(width),
                   static_cast<long long>(height), output.options.fps) < 0) {
    if (file) std::fclose(out);
    return Error(output.options.path + ": write failed");
  }
  return std::unique_ptr<FrameSink>(new Y4mSink(std::move(file), out, width, height));
}

}  // namespace fastwan
