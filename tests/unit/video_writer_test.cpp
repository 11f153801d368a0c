// The video writers, read back with ffprobe / ffmpeg: frame counts, sizes, rates, pixel formats, pixel
// values; output checks before decoding; no file left behind by an abandoned or failed write.
#include <cmath>
#include <filesystem>
#include <vector>

#include "common/test_util.h"
#include "video/frame_sink.h"
#include "video/media_probe.h"
#include "video/metadata.h"
#include "video/png_names.h"
#include "video/rgb.h"

namespace fastwan {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// A smooth picture that moves with t (video codecs keep such content close to the input).
std::vector<uint8_t> test_frame(int64_t w, int64_t h, int64_t t) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w * h * 3));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      uint8_t* p = &rgb[static_cast<size_t>(3 * (y * w + x))];
      p[0] = static_cast<uint8_t>((x * 255) / (w - 1));
      p[1] = static_cast<uint8_t>((y * 255) / (h - 1));
      p[2] = static_cast<uint8_t>((t * 40 + x + y) % 256);
    }
  return rgb;
}

Expected<std::unique_ptr<FrameSink>> open(const VideoOutputOptions& o, int64_t w, int64_t h) {
  FW_ASSIGN_OR_RETURN(VideoOutput out, check_video_output(o));
  return open_video_output(out, w, h);
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(VideoWriter, PngPatterns) {
  EXPECT_TRUE(check_png_pattern("f_%05d.png").ok());
  EXPECT_TRUE(check_png_pattern("%d.png").ok());
  for (const char* bad : {"f.png", "%s.png", "%05d_%d.png", "%00d.png", "%5d.png", "%0d.png", "100%.png"})
    EXPECT_FALSE(check_png_pattern(bad).ok()) << bad;
  EXPECT_EQ(png_frame_name("a/f_%05d.png", 12), "a/f_00012.png");
  EXPECT_EQ(png_frame_name("%d.png", 123), "123.png");
  EXPECT_EQ(png_frame_name("x%03dy.png", 12345), "x12345y.png");
}

TEST(VideoWriter, FramesBecomeBytesByTruncationLikeTheReference) {
  // [3, 1, 2]: R = {0, 0.5}, G = {0.999, 1.0}, B = {-0.2, 1.7}.
  const Tensor f = Tensor::from_floats({3, 1, 2}, {0.0f, 0.5f, 0.999f, 1.0f, -0.2f, 1.7f});
  std::vector<uint8_t> rgb;
  ASSERT_OK(frame_to_rgb8(f, rgb));
  EXPECT_EQ(rgb, (std::vector<uint8_t>{0, 254, 0, 127, 255, 255}));
  const Tensor nan = Tensor::from_floats({3, 1, 1}, {0.1f, NAN, 0.2f});
  EXPECT_FALSE(frame_to_rgb8(nan, rgb).ok());
}

TEST(VideoWriter, Bt601LimitedRangeYuv) {
  const std::vector<uint8_t> rgb = {255, 255, 255, 0,   0, 0,
                                    255, 0,   0,   255, 0, 0};  // 2x2: white, black, red, red
  std::vector<uint8_t> yuv;
  rgb8_to_yuv420(rgb.data(), 2, 2, yuv);
  ASSERT_EQ(yuv.size(), 6u);
  EXPECT_EQ(yuv[0], 235);  // white
  EXPECT_EQ(yuv[1], 16);   // black
  EXPECT_EQ(yuv[2], 81);   // red: 16 + 65.481
  // Chroma of the block mean (191.25, 63.75, 63.75).
  EXPECT_EQ(yuv[4],
            static_cast<uint8_t>(std::lround(128 + (-37.797 * 191.25 - 74.203 * 63.75 + 112 * 63.75) / 255)));
  EXPECT_EQ(yuv[5],
            static_cast<uint8_t>(std::lround(128 + (112 * 191.25 - 93.786 * 63.75 - 18.214 * 63.75) / 255)));
  rgb8_to_yuv420(test_frame(3, 3, 0).data(), 3, 3, yuv);  // odd sizes: chroma planes round up
  EXPECT_EQ(yuv.size(), 9u + 2 * 4u);
}

TEST(VideoWriter, Y4mHasTheFramesAndTheRate) {
  TempDir dir;
  VideoOutputOptions o;
  o.path = dir.file("out.y4m");
  o.fps = 24;
  ASSERT_OK_AND_ASSIGN(auto sink, open(o, 8, 6));
  for (int t = 0; t < 5; ++t) ASSERT_OK(sink->write(test_frame(8, 6, t).data()));
  ASSERT_OK(sink->finish());
  const std::string bytes = test::read_file(o.path);
  const std::string header = "YUV4MPEG2 W8 H6 F24:1 Ip A1:1 C420jpeg\n";
  EXPECT_EQ(bytes.substr(0, header.size()), header);
  EXPECT_EQ(bytes.size(), header.size() + 5 * (6 + 48 + 2 * 12));
  ASSERT_OK_AND_ASSIGN(auto probe, test::probe_video(o.path));
  EXPECT_EQ(probe.frames, 5);
  EXPECT_EQ(probe.width, 8);
  EXPECT_EQ(probe.height, 6);
  EXPECT_EQ(probe.r_frame_rate, "24/1");
  EXPECT_EQ(probe.pix_fmt, "yuv420p");
  EXPECT_EQ(files_in(dir.path()), 1u);  // no temporary file left
}

TEST(VideoWriter, PngFramesRoundTripExactly) {
  TempDir dir;
  VideoOutputOptions o;
  o.path = dir.file("frames");  // a new folder, created by the writer
  o.format = VideoFormat::png;  // a name without extension that does not exist yet says no format by itself
  ASSERT_OK_AND_ASSIGN(auto sink, open(o, 6, 4));
  std::vector<uint8_t> all;
  for (int t = 0; t < 3; ++t) {
    const auto f = test_frame(6, 4, t);
    all.insert(all.end(), f.begin(), f.end());
    ASSERT_OK(sink->write(f.data()));
  }
  ASSERT_OK(sink->finish());
  EXPECT_EQ(sink->describe(),
            dir.file("frames/frame_00000.png") + " .. " + dir.file("frames/frame_00002.png"));
  EXPECT_EQ(files_in(dir.path() / "frames"), 3u);
  ASSERT_OK_AND_ASSIGN(auto decoded, test::decode_to_rgb(dir.file("frames/frame_%05d.png")));
  EXPECT_EQ(decoded, all);
}

TEST(VideoWriter, PngFramesCarryTheMetadataAsTextChunks) {
  TempDir dir;
  VideoOutputOptions o;
  o.path = dir.file("f_%02d.png");
  o.metadata = {{"prompt",
                 "a r\xc3\xa4"
                 "ccoon\nin snow"},
                {"fastwan", "{\"seed\": 7}"}};
  ASSERT_OK_AND_ASSIGN(auto sink, open(o, 6, 4));
  const auto f = test_frame(6, 4, 0);
  ASSERT_OK(sink->write(f.data()));
  ASSERT_OK(sink->finish());
  ASSERT_OK_AND_ASSIGN(VideoMetadata m, read_video_metadata(dir.file("f_00.png")));
  EXPECT_EQ(m, o.metadata);
  // Still a valid PNG of the same pixels for an independent reader.
  ASSERT_OK_AND_ASSIGN(auto decoded, test::decode_to_rgb(dir.file("f_%02d.png")));
  EXPECT_EQ(decoded, f);
  // A truncated file is an error naming it, not a crash.
  const std::string png = test::read_file(dir.file("f_00.png"));
  auto cut = png_text(png.substr(0, 50), "cut.png");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message().find("cut.png: truncated PNG chunk"), std::string::npos)
      << cut.error().message();
  EXPECT_FALSE(png_text("not a png", "x.png").ok());
}

#if FASTWAN_TEST_MP4
TEST(VideoWriter, Mp4IsH264Yuv420pWithEveryFrame) {
  TempDir dir;
  VideoOutputOptions o;
  o.path = dir.file("out.mp4");
  o.crf = 0;  // lossless in Y'CbCr: what comes back differs only by the colour conversion and 4:2:0
  const int64_t w = 64, h = 48, frames = 10;
  ASSERT_OK_AND_ASSIGN(auto sink, open(o, w, h));
  std::vector<uint8_t> all;
  for (int t = 0; t < frames; ++t) {
    const auto f = test_frame(w, h, t);
    all.insert(all.end(), f.begin(), f.end());
    ASSERT_OK(sink->write(f.data()));
  }
  ASSERT_OK(sink->finish());
  ASSERT_OK_AND_ASSIGN(auto probe, test::probe_video(o.path));
  EXPECT_EQ(probe.codec, "h264");
  EXPECT_EQ(probe.pix_fmt, "yuv420p");
  EXPECT_EQ(probe.width, w);
  EXPECT_EQ(probe.height, h);
  EXPECT_EQ(probe.r_frame_rate, "16/1");
  EXPECT_EQ(probe.frames, frames);
  ASSERT_OK_AND_ASSIGN(auto decoded, test::decode_to_rgb(o.path));
  ASSERT_EQ(decoded.size(), all.size());
  double err = 0;
  for (size_t i = 0; i < all.size(); ++i)
    err += std::abs(static_cast<int>(decoded[i]) - static_cast<int>(all[i]));
  EXPECT_LT(err / static_cast<double>(all.size()), 3.0);  // channels in the right order, frames in order
  EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(VideoWriter, Mp4RefusesAnOddFrameSize) {
  TempDir dir;
  VideoOutputOptions o;
  o.path = dir.file("out.mp4");
  auto sink = open(o, 33, 24);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().message().find("even frame size, got 33x24"), std::string::npos)
      << sink.error().message();
  EXPECT_EQ(files_in(dir.path()), 0u);
}
#else
TEST(VideoWriter, Mp4WithoutLibavSuggestsPngOrY4m) {
  TempDir dir;
  VideoOutputOptions o;
  o.path = dir.file("out.mp4");
  auto out = check_video_output(o);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message().find("--format png or --format y4m"), std::string::npos);
}
#endif

TEST(VideoWriter, AbandonedOutputLeavesNothingBehind) {
  TempDir dir;
  test::write_file(dir.file("old.y4m"), "previous video");
  std::vector<VideoOutputOptions> outputs(3);
  outputs[0].path = dir.file("old.y4m");
  outputs[1].path = dir.file("new_frames/");
  outputs[2].path = dir.file("out.mp4");
  const size_t count = FASTWAN_TEST_MP4 ? 3 : 2;
  for (size_t i = 0; i < count; ++i) {
    ASSERT_OK_AND_ASSIGN(auto sink, open(outputs[i], 16, 16));
    ASSERT_OK(sink->write(test_frame(16, 16, 0).data()));
    ASSERT_OK(sink->write(test_frame(16, 16, 1).data()));
    // destroyed without finish(): an error happened while decoding
  }
  EXPECT_EQ(test::read_file(dir.file("old.y4m")), "previous video");
  EXPECT_EQ(files_in(dir.path()), 1u);  // no partial files, no new_frames/ folder
}

TEST(VideoWriter, OutputChecksNameTheFlag) {
  TempDir dir;
  test::write_file(dir.file("a_file"), "x");
  fs::create_directory(dir.path() / "existing");
  struct Case {
    std::string path;
    std::optional<VideoFormat> format;
    int fps, crf;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", std::nullopt, 16, 18, "-o: an output path is required"},
      {dir.file("x.avi"), std::nullopt, 16, 18, "cannot tell the format"},
      {dir.file("x.mp4"), VideoFormat::y4m, 16, 18, "the extension says mp4 but --format is y4m"},
      {dir.file("missing/x.y4m"), std::nullopt, 16, 18, "does not exist"},
      {dir.file("a_file/x.y4m"), std::nullopt, 16, 18, "is not a folder"},
      {"/proc/x.y4m", std::nullopt, 16, 18, "is not writable"},
      {dir.file("existing"), VideoFormat::y4m, 16, 18, "is a folder"},
      {dir.file("x.png"), std::nullopt, 16, 18, "one file per frame"},
      {dir.file("f_%s.png"), std::nullopt, 16, 18, "expected %d or %0Nd"},
      {dir.file("a_file"), VideoFormat::png, 16, 18, "exists and is not a folder"},
      {dir.file("x.y4m"), std::nullopt, 0, 18, "--fps: expected 1 to 240, got 0"},
      {dir.file("x.y4m"), std::nullopt, 16, 52, "--crf: expected 0 (lossless) to 51, got 52"},
  };
  for (const auto& c : cases) {
    VideoOutputOptions o;
    o.path = c.path;
    o.format = c.format;
    o.fps = c.fps;
    o.crf = c.crf;
    auto out = check_video_output(o);
    ASSERT_FALSE(out.ok()) << c.path;
    EXPECT_NE(out.error().message().find(c.expected), std::string::npos) << out.error().message();
  }
  VideoOutputOptions png;
  png.path = dir.file("existing");
  ASSERT_OK_AND_ASSIGN(auto out, check_video_output(png));
  EXPECT_EQ(out.format, VideoFormat::png);
  EXPECT_FALSE(out.png_make_folder);
  EXPECT_EQ(out.png_pattern, dir.file("existing/frame_%05d.png"));
  EXPECT_EQ(files_in(dir.path()), 2u);  // the checks wrote nothing
}

}  // namespace
}  // namespace fastwan
