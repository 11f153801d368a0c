// MP4 output through libfastwan_mp4.so, loaded with dlopen() from beside the executable (or lib/ there, or
// ../lib), so that the fastwan binary starts on machines without libav. FASTWAN_MP4_MODULE overrides the
// path.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "video/metadata.h"
#include "video/mp4/mp4_module_api.h"
#include "video/partial_file.h"
#include "video/sinks.h"

namespace fastwan {
namespace fs = std::filesystem;
namespace {

constexpr const char* kModuleName = "libfastwan_mp4.so";
constexpr const char* kFallback = "; use --format png or --format y4m instead";

std::vector<fs::path> module_candidates() {
  if (const char* env = std::getenv("FASTWAN_MP4_MODULE"); env && *env) return {fs::path(env)};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path dir = ec ? fs::current_path() : exe.parent_path();
  return {dir / kModuleName, dir / "lib" / kModuleName, dir.parent_path() / "lib" / kModuleName};
}

Expected<const FastwanMp4Api*> load_module() {
  std::string looked;
  for (const fs::path& candidate : module_candidates()) {
    looked += (looked.empty() ? "" : ", ") + candidate.string();
    std::error_code ec;
    if (!fs::exists(candidate, ec)) continue;
    void* handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      return Error("MP4 output is not available: cannot load " + candidate.string() + " (" +
                   (why ? why : "?") + "); install FFmpeg's libavcodec, libavformat and libswscale" +
                   kFallback);
    }
    auto api_fn = reinterpret_cast<FastwanMp4ApiFn>(::dlsym(handle, FASTWAN_MP4_API_SYMBOL));
    const FastwanMp4Api* api = api_fn ? api_fn() : nullptr;
    if (!api || api->version != FASTWAN_MP4_API_VERSION)
      return Error("MP4 output is not available: " + candidate.string() +
                   " is not a matching fastwan MP4 module" + kFallback);
    return api;  // the module stays loaded for the life of the process
  }
  return Error("MP4 output is not available: " + std::string(kModuleName) +
               " (built only where libav is found) is not installed (looked at " + looked + ")" + kFallback);
}

Expected<const FastwanMp4Api*> module_api() {
  static std::once_flag once;
  static Expected<const FastwanMp4Api*> api = Error("not loaded");
  std::call_once(once, [] { api = load_module(); });
  return api;
}

class Mp4Sink : public FrameSink {
 public:
  Mp4Sink(const FastwanMp4Api* api, void* handle, PartialFile file)
      : api_(api), handle_(handle), file_(std::move(file)) {}
  ~Mp4Sink() override { api_->destroy(handle_); }

  Status write(const uint8_t* rgb) override {
    char err[512] = {};
    if (api_->write_rgb(handle_, rgb, err, sizeof err) != 0) return Error(file_.destination() + ": " + err);
    return Status::Ok();
  }

  Status finish() override {
    char err[512] = {};
    if (api_->finish(handle_, err, sizeof err) != 0) return Error(file_.destination() + ": " + err);
    return file_.commit();
  }

  std::string describe() const override { return file_.destination(); }

 private:
  const FastwanMp4Api* api_;
  void* handle_;
  PartialFile file_;
};

}  // namespace

Status mp4_available() {
  auto api = module_api();
  if (!api) return api.error();
  return Status::Ok();
}

Expected<std::unique_ptr<FrameSink>> open_mp4_sink(const VideoOutput& output, int64_t width, int64_t height) {
  FW_ASSIGN_OR_RETURN(const FastwanMp4Api* api, module_api());
  if (width % 2 || height % 2)
    return Error(output.options.path + ": MP4 (H.264 yuv420p) needs an even frame size, got " +
                 std::to_string(width) + "x" + std::to_string(height) + kFallback);
  FW_ASSIGN_OR_RETURN(PartialFile file, PartialFile::create(output.options.path));
  std::vector<const char*> tags;
  for (const auto& [key, value] : output.options.metadata) {
    tags.push_back(key.c_str());
    tags.push_back(value.c_str());
  }
  tags.push_back(nullptr);
  const FastwanMp4Options options{static_cast<int>(width), static_cast<int>(height), output.options.fps,
                                  output.options.crf, tags.data()};
  char err[512] = {};
  void* handle = api->open(file.temp_path().c_str(), &options, err, sizeof err);
  if (!handle) return Error(output.options.path + ": " + err);
  return std::unique_ptr<FrameSink>(new Mp4Sink(api, handle, std::move(file)));
}

Expected<VideoMetadata> read_mp4_metadata(const std::string& path) {
  auto api = module_api();
  if (!api) return api.error().with_context(path);
  std::string pairs(1 << 20, '\0');  // prompts and settings are a few kilobytes
  char err[512] = {};
  const long size = (*api)->read_metadata(path.c_str(), pairs.data(), pairs.size(), err, sizeof err);
  if (size < 0) return Error(path + ": " + err);
  pairs.resize(static_cast<size_t>(size));
  VideoMetadata out;
  for (size_t at = 0; at < pairs.size();) {
    const size_t key_end = pairs.find('\0', at);
    const size_t value_end = key_end == std::string::npos ? key_end : pairs.find('\0', key_end + 1);
    if (value_end == std::string::npos) return Error(path + ": the MP4 module gave malformed metadata");
    out.emplace_back(pairs.substr(at, key_end - at), pairs.substr(key_end + 1, value_end - key_end - 1));
    at = value_end + 1;
  }
  return out;
}

}  // namespace fastwan
