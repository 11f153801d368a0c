// The C interface of libfastwan_mp4.so, the MP4 writer module. The fastwan binary dlopen()s it at run time so
// that the binary itself does not depend on libav: a machine without libav runs everything but MP4 output.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FASTWAN_MP4_API_VERSION 2
#define FASTWAN_MP4_API_SYMBOL "fastwan_mp4_api"

extern "C" {

struct FastwanMp4Options {
  int width;   // even (H.264 yuv420p)
  int height;  // even
  int fps;     // frames per second
  int crf;     // x264 constant rate factor, 0 .. 51
  // Metadata tags: key, value, key, value, ..., NULL (UTF-8); NULL for none. Written as MP4 "mdta" tags,
  // which ffprobe and libav-based tools list.
  const char* const* metadata;
};

struct FastwanMp4Api {
  int version;  // FASTWAN_MP4_API_VERSION
  // Creates `path` (an MP4, written from scratch). Returns a handle, or NULL with the reason in err.
  void* (*open)(const char* path, const FastwanMp4Options* options, char* err, size_t err_size);
  // Encodes one frame: width * height * 3 bytes of RGB. Returns 0, or -1 with the reason in err.
  int (*write_rgb)(void* handle, const uint8_t* rgb, char* err, size_t err_size);
  // Flushes the encoder, writes the trailer and closes the file. Returns 0, or -1 with the reason in err.
  int (*finish)(void* handle, char* err, size_t err_size);
  // Frees the handle (after finish, or to abandon the file).
  void (*destroy)(void* handle);
  // Reads the metadata tags of an MP4 into out as key\0value\0 pairs. Returns the bytes written, or -1 with
  // the reason in err (also when out is too small).
  long (*read_metadata)(const char* path, char* out, size_t out_size, char* err, size_t err_size);
};

typedef const FastwanMp4Api* (*FastwanMp4ApiFn)(void);
const FastwanMp4Api* fastwan_mp4_api(void);
}
