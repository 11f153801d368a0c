#include "video/decode_latents.h"

#include <cmath>
#include <filesystem>

#include "io/weight_store.h"
#include "models/taehv/taehv.h"
#include "models/wan_vae/decoder.h"
#include "video/rgb.h"

namespace fastwan {
namespace fs = std::filesystem;

Expected<DecoderKind> parse_decoder_kind(const std::string& name) {
  if (name == "taehv") return DecoderKind::taehv;
  if (name == "wan-vae") return DecoderKind::wan_vae;
  return Error("--decoder: unknown decoder '" + name + "' (expected taehv or wan-vae)");
}

Expected<Tensor> load_latents(const std::string& path, int64_t channels) {
  FW_ASSIGN_OR_RETURN(WeightStore store, WeightStore::open(path));
  if (!store.contains("latents")) {
    std::string names;
    for (const auto& n : store.names()) names += (names.empty() ? "" : ", ") + n;
    return Error(path + ": no tensor named 'latents' (found: " + (names.empty() ? "none" : names) + ")");
  }
  FW_ASSIGN_OR_RETURN(Tensor t, store.get("latents"));
  const std::string what = path + ": latents " + t.describe();
  if (!dtype_is_float(t.dtype())) return Error(what + ": expected a float tensor (f32, bf16 or f16)");
  if (t.ndim() != 5 || t.dim(0) != 1)
    return Error(what + ": expected [1, " + std::to_string(channels) +
                 ", T, H, W] (batch, channels, frames, height, width)");
  if (t.dim(1) != channels)
    return Error(what + ": has " + std::to_string(t.dim(1)) +
                 " channels (dimension 1 of [1, C, T, H, W]), the " + "decoder expects " +
                 std::to_string(channels));
  if (t.dim(2) < 1 || t.dim(3) < 2 || t.dim(4) < 2) return Error(what + ": T must be >= 1, H and W >= 2");
  if (t.dim(3) % 2 || t.dim(4) % 2)
    return Error(what + ": height " + std::to_string(t.dim(3)) + " and width " + std::to_string(t.dim(4)) +
                 " must be even (the Wan DiT makes latents in 2x2 patches)");
  Tensor f = t.to_f32();
  const float* p = f.f32();
  for (int64_t i = 0; i < f.numel(); ++i)
    if (!std::isfinite(p[i])) return Error(what + ": holds NaN or infinite values");
  return f;
}

Expected<std::unique_ptr<VideoDecoder>> load_video_decoder(const DecodeOptions& o) {
  std::error_code ec;
  if (o.decoder == DecoderKind::taehv) {
    std::string path = o.taehv_path;
    if (path.empty() && !o.model_dir.empty()) path = (fs::path(o.model_dir) / "taew2_1.safetensors").string();
    if (path.empty())
      return Error("--taehv: the TAEHV weights (taew2_1.safetensors) are required for --decoder taehv");
    FW_ASSIGN_OR_RETURN(TaehvDecoder d, TaehvDecoder::load(path));
    return std::unique_ptr<VideoDecoder>(new TaehvDecoder(std::move(d)));
  }
  if (!o.taehv_path.empty())
    return Error("--taehv: only used with --decoder taehv, not with --decoder wan-vae");
  if (o.model_dir.empty())
    return Error("--model: the model folder (with vae/) is required for --decoder wan-vae");
  const fs::path vae = fs::is_directory(fs::path(o.model_dir) / "vae", ec) ? fs::path(o.model_dir) / "vae"
                                                                           : fs::path(o.model_dir);
  auto d = WanVaeDecoder::load(vae.string());
  if (!d) return d.error().with_context("Wan VAE");
  return std::unique_ptr<VideoDecoder>(new WanVaeDecoder(std::move(*d)));
}

Expected<DecodeResult> write_decoded_video(const VideoDecoder& decoder, const Tensor& latents,
                                           const VideoOutput& output, const DecodeProgress& progress) {
  const int64_t scale = decoder.spatial_scale();
  const int64_t total = decoder.frames_for(latents.dim(2));
  const int64_t width = latents.dim(4) * scale, height = latents.dim(3) * scale;
  FW_ASSIGN_OR_RETURN(std::unique_ptr<FrameSink> sink, open_video_output(output, width, height));
  int64_t done = 0;
  // 8-bit frames straight from the decoder: a GPU decoder converts on the device and overlaps its copies
  // with the writer.
  auto write_frame = [&](const uint8_t* rgb) -> Status {
    if (done == 0 && output.first_frame) FW_RETURN_IF_ERROR(output.first_frame(rgb, width, height));
    FW_RETURN_IF_ERROR(sink->write(rgb));
    ++done;
    if (progress) progress(done, total);
    return Status::Ok();
  };
  FW_RETURN_IF_ERROR(decoder.decode_rgb8(latents, write_frame));
  if (done != total)
    return Error("decoder " + decoder.name() + " produced " + std::to_string(done) + " frames, expected " +
                 std::to_string(total));
  FW_RETURN_IF_ERROR(sink->finish());
  return DecodeResult{sink->describe(), done, width, height};
}

Expected<DecodeResult> decode_latents_to_video(const DecodeOptions& o, const DecodeProgress& progress) {
  FW_ASSIGN_OR_RETURN(VideoOutput output, check_video_output(o.output));
  FW_ASSIGN_OR_RETURN(std::unique_ptr<VideoDecoder> decoder, load_video_decoder(o));
  FW_ASSIGN_OR_RETURN(Tensor latents, load_latents(o.latents_path, decoder->latent_channels()));
  return write_decoded_video(*decoder, latents, output, progress);
}

}  // namespace fastwan
