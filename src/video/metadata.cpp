#include "video/metadata.h"

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

#include "video/sinks.h"

namespace fastwan {
namespace {

constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";
constexpr size_t kSignatureSize = 8;

uint32_t crc32(const std::string& bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::string big_endian(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

uint32_t read_big_endian(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// iTXt: keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, text.
std::string itxt_chunk(const std::string& key, const std::string& text) {
  const std::string body = "iTXt" + key + std::string("\0\0\0\0\0", 5) + text;
  return big_endian(static_cast<uint32_t>(body.size() - 4)) + body + big_endian(crc32(body));
}

}  // namespace

Expected<std::string> png_with_text(const std::string& png, const VideoMetadata& metadata) {
  // The signature, then IHDR (length 13): 8 + 4 + 4 + 13 + 4 bytes.
  constexpr size_t kAfterHeader = kSignatureSize + 25;
  if (png.size() < kAfterHeader || png.compare(0, kSignatureSize, kSignature, kSignatureSize) != 0 ||
      png.compare(12, 4, "IHDR") != 0)
    return Error("PNG encoder gave no IHDR chunk");
  std::string chunks;
  for (const auto& [key, value] : metadata) chunks += itxt_chunk(key, value);
  return png.substr(0, kAfterHeader) + chunks + png.substr(kAfterHeader);
}

Expected<VideoMetadata> png_text(const std::string& png, const std::string& path) {
  if (png.size() < kSignatureSize || png.compare(0, kSignatureSize, kSignature, kSignatureSize) != 0)
    return Error(path + ": not a PNG file (no PNG signature)");
  VideoMetadata out;
  for (size_t at = kSignatureSize; at + 12 <= png.size();) {
    const size_t length = read_big_endian(png, at);
    if (length > png.size() - at - 12)
      return Error(path + ": truncated PNG chunk at byte " + std::to_string(at));
    const std::string type = png.substr(at + 4, 4);
    const std::string data = png.substr(at + 8, length);
    at += 12 + length;
    const size_t key_end = data.find('\0');
    if (key_end == std::string::npos) continue;
    const std::string key = data.substr(0, key_end);
    if (type == "tEXt") {
      out.emplace_back(key, data.substr(key_end + 1));
    } else if (type == "iTXt" && key_end + 2 < data.size() && data[key_end + 1] == 0) {
      // Skip the compression bytes, the language tag and the translated keyword.
      const size_t language_end = data.find('\0', key_end + 3);
      const size_t translated_end =
          language_end == std::string::npos ? std::string::npos : data.find('\0', language_end + 1);
      if (translated_end != std::string::npos) out.emplace_back(key, data.substr(translated_end + 1));
    }
    if (type == "IEND") break;
  }
  return out;
}

Expected<VideoMetadata> read_video_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot read it");
  std::string head(kSignatureSize, '\0');
  in.read(head.data(), static_cast<std::streamsize>(kSignatureSize));
  if (head == std::string(kSignature, kSignatureSize)) {
    std::ostringstream all;
    all << head << in.rdbuf();
    return png_text(all.str(), path);
  }
  return read_mp4_metadata(path);
}

}  // namespace fastwan
