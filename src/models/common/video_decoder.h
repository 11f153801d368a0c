// What the decoders (TAEHV, the Wan VAE) have in common: normalized Wan latents in, RGB frames out, in order
// and as soon as each is ready, so that a writer can stream them to a file with bounded memory.
#pragma once

#include <functional>
#include <string>

#include "core/tensor.h"
#include "fastwan/status.h"

namespace fastwan {

// Receives one frame [3, H, W] f32 RGB in [0, 1]; an error stops the decoder and is returned by it.
using FrameCallback = std::function<Status(const Tensor& frame)>;
// Receives one frame as 8-bit RGB [H, W, 3] (what the writers take); valid during the call.
using Rgb8Callback = std::function<Status(const uint8_t* rgb)>;

class VideoDecoder {
 public:
  virtual ~VideoDecoder() = default;
  virtual std::string name() const = 0;
  virtual int64_t latent_channels() const = 0;
  virtual int64_t spatial_scale() const = 0;                    // frame size = latent size * this
  virtual int64_t frames_for(int64_t latent_frames) const = 0;  // number of frames decode() emits
  // latents: [1, latent_channels, T, H, W] f32, the normalized latents the DiT produces.
  virtual Status decode(const Tensor& latents, const FrameCallback& emit) const = 0;
  // The same frames as 8-bit RGB (truncated, as the reference converts). The default converts decode()'s
  // frames on the host; GPU decoders convert on the device and overlap the copies with decoding.
  virtual Status decode_rgb8(const Tensor& latents, const Rgb8Callback& emit) const;
  // Sets up now what the first decode of latents shaped `latent_shape` would (buffers, pinned staging,
  // convolution plans, the kernels' first-call costs), where that is hidden: beside the DiT's loop. The
  // default sets up nothing.
  virtual Status warm_up(const Shape& latent_shape) const {
    (void)latent_shape;
    return Status::Ok();
  }
};

}  // namespace fastwan
