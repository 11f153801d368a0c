// libfastwan_mp4.so: H.264 (libx264 when libavcodec has it) in an MP4 through libavformat; RGB frames are
// converted to yuv420p (BT.601, limited range) by libswscale. Built only when libav is found.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <cstdio>
#include <cstring>
#include <string>

#include "video/mp4/mp4_module_api.h"

namespace {

struct Writer {
  AVFormatContext* format = nullptr;
  AVCodecContext* encoder = nullptr;
  AVStream* stream = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  int64_t next_pts = 0;
  bool file_open = false;
};

// Puts the reason (and libav's words for `code`) into err; returns false for `return fail(...)`.
bool fail(char* err, size_t size, const std::string& what, int code = 0) {
  std::string msg = what;
  if (code < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    msg += std::string(": ") + buf;
  }
  if (size > 0) std::snprintf(err, size, "%s", msg.c_str());
  return false;
}

void destroy(void* handle) {
  auto* w = static_cast<Writer*>(handle);
  if (!w) return;
  if (w->file_open) avio_closep(&w->format->pb);
  sws_freeContext(w->sws);
  av_frame_free(&w->frame);
  av_packet_free(&w->packet);
  avcodec_free_context(&w->encoder);
  avformat_free_context(w->format);
  delete w;
}

// Sends a frame (or NULL to flush) and writes every packet the encoder has ready.
int encode(Writer* w, AVFrame* frame, char* err, size_t err_size) {
  int rc = avcodec_send_frame(w->encoder, frame);
  if (rc < 0) {
    fail(err, err_size, "H.264 encoder rejected a frame", rc);
    return -1;
  }
  for (;;) {
    rc = avcodec_receive_packet(w->encoder, w->packet);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
    if (rc < 0) {
      fail(err, err_size, "H.264 encoding failed", rc);
      return -1;
    }
    av_packet_rescale_ts(w->packet, w->encoder->time_base, w->stream->time_base);
    w->packet->stream_index = w->stream->index;
    rc = av_interleaved_write_frame(w->format, w->packet);  // takes the packet's data
    if (rc < 0) {
      fail(err, err_size, "writing the MP4 failed", rc);
      return -1;
    }
  }
}

bool setup(Writer* w, const char* path, const FastwanMp4Options* o, char* err, size_t err_size) {
  int rc = avformat_alloc_output_context2(&w->format, nullptr, "mp4", path);
  if (rc < 0 || !w->format) return fail(err, err_size, "libavformat has no MP4 muxer", rc);
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (!codec) return fail(err, err_size, "libavcodec has no H.264 encoder");
  w->stream = avformat_new_stream(w->format, nullptr);
  w->encoder = avcodec_alloc_context3(codec);
  w->frame = av_frame_alloc();
  w->packet = av_packet_alloc();
  if (!w->stream || !w->encoder || !w->frame || !w->packet) return fail(err, err_size, "out of memory");

  AVCodecContext* e = w->encoder;
  e->width = o->width;
  e->height = o->height;
  e->pix_fmt = AV_PIX_FMT_YUV420P;
  e->time_base = AVRational{1, o->fps};
  e->framerate = AVRational{o->fps, 1};
  e->color_range = AVCOL_RANGE_MPEG;  // what libswscale's RGB -> YUV writes
  e->colorspace = AVCOL_SPC_SMPTE170M;
  e->color_primaries = AVCOL_PRI_SMPTE170M;
  e->color_trc = AVCOL_TRC_SMPTE170M;
  if (w->format->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* codec_options = nullptr;
  av_dict_set_int(&codec_options, "crf", o->crf, 0);
  av_dict_set(&codec_options, "preset", "medium", 0);
  rc = avcodec_open2(e, codec, &codec_options);
  av_dict_free(&codec_options);
  if (rc < 0) return fail(err, err_size, std::string("cannot open the H.264 encoder ") + codec->name, rc);
  rc = avcodec_parameters_from_context(w->stream->codecpar, e);
  if (rc < 0) return fail(err, err_size, "cannot set the stream parameters", rc);
  w->stream->time_base = e->time_base;
  w->stream->avg_frame_rate = e->framerate;

  rc = avio_open(&w->format->pb, path, AVIO_FLAG_WRITE);
  if (rc < 0) return fail(err, err_size, std::string("cannot open ") + path, rc);
  w->file_open = true;
  for (const char* const* kv = o->metadata; kv && kv[0] && kv[1]; kv += 2)
    av_dict_set(&w->format->metadata, kv[0], kv[1], 0);
  AVDictionary* mux_options = nullptr;
  // Index first (playable while downloading); any metadata key, not only the few QuickTime knows.
  av_dict_set(&mux_options, "movflags", "+faststart+use_metadata_tags", 0);
  rc = avformat_write_header(w->format, &mux_options);
  av_dict_free(&mux_options);
  if (rc < 0) return fail(err, err_size, "cannot write the MP4 header", rc);

  w->sws = sws_getContext(o->width, o->height, AV_PIX_FMT_RGB24, o->width, o->height, AV_PIX_FMT_YUV420P,
                          SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr);
  w->frame->format = AV_PIX_FMT_YUV420P;
  w->frame->width = o->width;
  w->frame->height = o->height;
  if (!w->sws || av_frame_get_buffer(w->frame, 0) < 0) return fail(err, err_size, "out of memory");
  return true;
}

void* open(const char* path, const FastwanMp4Options* o, char* err, size_t err_size) {
  av_log_set_level(AV_LOG_QUIET);  // errors come back as one line through `err`
  if (o->width <= 0 || o->height <= 0 || o->width % 2 || o->height % 2) {
    fail(err, err_size,
         "H.264 yuv420p needs an even width and height, got " + std::to_string(o->width) + "x" +
             std::to_string(o->height));
    return nullptr;
  }
  if (o->fps <= 0 || o->crf < 0 || o->crf > 51) {
    fail(err, err_size, "fps must be > 0 and crf in 0 .. 51");
    return nullptr;
  }
  auto* w = new Writer;
  if (!setup(w, path, o, err, err_size)) {
    destroy(w);
    return nullptr;
  }
  return w;
}

int write_rgb(void* handle, const uint8_t* rgb, char* err, size_t err_size) {
  auto* w = static_cast<Writer*>(handle);
  const int rc = av_frame_make_writable(w->frame);
  if (rc < 0) {
    fail(err, err_size, "out of memory", rc);
    return -1;
  }
  const uint8_t* src[1] = {rgb};
  const int stride[1] = {3 * w->encoder->width};
  sws_scale(w->sws, src, stride, 0, w->encoder->height, w->frame->data, w->frame->linesize);
  w->frame->pts = w->next_pts++;
  return encode(w, w->frame, err, err_size);
}

int finish(void* handle, char* err, size_t err_size) {
  auto* w = static_cast<Writer*>(handle);
  if (encode(w, nullptr, err, err_size) != 0) return -1;
  int rc = av_write_trailer(w->format);
  if (rc < 0) {
    fail(err, err_size, "cannot write the MP4 index", rc);
    return -1;
  }
  w->file_open = false;
  rc = avio_closep(&w->format->pb);
  if (rc < 0) {
    fail(err, err_size, "closing the MP4 failed (disk full?)", rc);
    return -1;
  }
  return 0;
}

long read_metadata(const char* path, char* out, size_t out_size, char* err, size_t err_size) {
  av_log_set_level(AV_LOG_QUIET);
  AVFormatContext* format = nullptr;
  const int rc = avformat_open_input(&format, path, nullptr, nullptr);
  if (rc < 0) {
    fail(err, err_size, "cannot open it as a video", rc);
    return -1;
  }
  std::string pairs;
  const AVDictionaryEntry* tag = nullptr;
  while ((tag = av_dict_get(format->metadata, "", tag, AV_DICT_IGNORE_SUFFIX)))
    pairs += std::string(tag->key) + '\0' + tag->value + '\0';
  avformat_close_input(&format);
  if (pairs.size() > out_size) {
    fail(err, err_size, "metadata larger than " + std::to_string(out_size) + " bytes");
    return -1;
  }
  std::memcpy(out, pairs.data(), pairs.size());
  return static_cast<long>(pairs.size());
}

const FastwanMp4Api kApi = {FASTWAN_MP4_API_VERSION, open, write_rgb, finish, destroy, read_metadata};

}  // namespace

extern "C" __attribute__((visibility("default"))) const FastwanMp4Api* fastwan_mp4_api(void) {
  return &kApi;
}
