// The CUDA stages behind the pipeline's backend interfaces: the UMT5 encoder, the DiT (one CUDA graph per
// forward) and both decoders on the GPU. The DiT's velocity function takes device latents and answers on
// the device, so the dmd and euler loops keep the latents on the GPU (their arithmetic runs as the kernels of
// ops/cuda/sampler.h, installed here) and hand them to the decoder there. Tokenizing, the token-embedding
// lookup, the noise draws (uploaded once per video), UniPC's arithmetic, classifier-free guidance and the
// video writer stay on the host. Each stage holds its weights on the GPU only while it is loaded.
#include "pipeline/cuda/cuda_backend.h"

#include "core/log.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "models/taehv/cuda/taehv_cuda.h"
#include "models/umt5/cuda/umt5_cuda.h"
#include "models/wan_dit/cuda/wan_dit_cuda.h"
#include "models/wan_vae/cuda/wan_vae_cuda.h"
#include "sampler/cuda/sampler_cuda.h"
#include "sampler/guidance.h"

namespace fastwan {
namespace {

class CudaTextEncoder : public TextEncoderStage {
 public:
  CudaTextEncoder(WanTextEncoder host, std::unique_ptr<cuda::Umt5EncoderCuda> gpu)
      : host_(std::move(host)), gpu_(std::move(gpu)) {}

  Expected<PromptEmbedding> encode(std::string_view prompt) override {
    return host_.encode(prompt, [this](std::span<const int32_t> ids) -> Expected<Tensor> {
      FW_ASSIGN_OR_RETURN(Tensor rows, host_.encoder().embed(ids));  // the 2.1 GB table stays mmapped
      FW_ASSIGN_OR_RETURN(Tensor hidden, gpu_->forward(rows));
      return cuda::to_host(hidden.contiguous()).to_f32();
    });
  }

 private:
  WanTextEncoder host_;  // tokenizer and embedding table
  std::unique_ptr<cuda::Umt5EncoderCuda> gpu_;
};

class CudaDenoiser : public Denoiser {
 public:
  explicit CudaDenoiser(std::unique_ptr<cuda::WanDitCuda> dit) : dit_(std::move(dit)) {
    cuda::install_sampler_ops();  // the loops' steps on device latents
  }

  Device latent_device() const override { return Device::cuda; }

  Expected<VelocityFn> velocity(const DenoiseRequest& r) override {
    const WanDitConfig& c = dit_->config();
    const Shape& s = r.latent_shape;
    if (s.size() != 5 || s[0] != 1 || s[1] != c.in_channels)
      return Error("transformer: latents " + shape_string(s) + " do not fit, expected [1, " +
                   std::to_string(c.in_channels) + ", T, H, W]");
    const Tensor& pos = r.positive->embeds;
    FW_RETURN_IF_ERROR(dit_->prepare(s[2], s[3], s[4], pos.dim(1)));
    // With guidance the two prompts take turns as the DiT's context (set_context rewrites the cross K/V that
    // the captured graph reads); without it the context is set once here.
    auto bind = [this](const PromptEmbedding* p, bool switch_context) -> VelocityFn {
      if (!p) return nullptr;
      const Tensor context = p->embeds.reshape({p->embeds.dim(1), p->embeds.dim(2)});
      return [this, context, switch_context](const Tensor& x, const SamplerStep& step) -> Expected<Tensor> {
        const Tensor latents = dit_->latents();
        if (x.numel() != latents.numel())
          return Error("transformer: latents " + x.describe() + " changed shape since the request");
        if (x.device() == Device::cuda) return device_step(x, step, switch_context);
        if (switch_context) FW_RETURN_IF_ERROR(dit_->set_context(context));
        const Tensor in = x.dtype() == DType::f32 ? x.contiguous() : x.to_f32();
        FW_CUDA_CHECK(cudaMemcpy(latents.raw(), in.raw(), in.nbytes(), cudaMemcpyHostToDevice));
        dit_->forward(step.timestep);
        return cuda::to_host(dit_->velocity()).reshape(x.shape());
      };
    };
    const bool guided = r.negative != nullptr && r.cfg_scale != 1.0;
    if (!guided) FW_RETURN_IF_ERROR(dit_->set_context(pos.reshape({pos.dim(1), pos.dim(2)})));
    return guided_velocity(bind(r.positive, guided), bind(guided ? r.negative : nullptr, guided),
                           r.cfg_scale);
  }

 private:
  // Device latents in, the device velocity out: a device-to-device copy into the buffer the captured graph
  // reads (8 MB at 480p, microseconds), the forward, and v as a view on the DiT's output buffer, valid until
  // the next forward overwrites it. Guidance combines two velocities on the host (guidance.h), and the
  // second forward would overwrite the first here, so device latents are refused with it.
  Expected<Tensor> device_step(const Tensor& x, const SamplerStep& step, bool guided) {
    if (guided)
      return Error("transformer: classifier-free guidance takes host latents (it runs on the host)");
    if (x.dtype() != DType::f32 || !x.is_contiguous())
      return Error("transformer: device latents must be contiguous f32, got " + x.describe());
    const Tensor latents = dit_->latents();
    const cudaStream_t stream = dit_->stream();
    if (x.raw() != latents.raw())
      FW_CUDA_CHECK(cudaMemcpyAsync(latents.raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, stream));
    dit_->forward(step.timestep);
    // Waiting for the step keeps progress and cancellation per step honest; the host has nothing else to
    // do meanwhile, and the sampler's kernels queue behind the forward anyway.
    FW_CUDA_CHECK(cudaStreamSynchronize(stream));
    return dit_->velocity().reshape(x.shape());
  }

  std::unique_ptr<cuda::WanDitCuda> dit_;
};

}  // namespace

Backend cuda_backend() {
  Backend b;
  b.name = "cuda";
  // The GPU, its architecture and the kernel set --kernels auto picks there; an Error when the binary has no
  // code for it or its architecture is older than the kernels need.
  b.probe = []() -> Expected<std::string> {
    FW_ASSIGN_OR_RETURN(auto info, cuda::device_info());
    const quant::ComputeCapability cc{info.major, info.minor};
    FW_ASSIGN_OR_RETURN(quant::KernelSet set,
                        quant::resolve_kernel_set(quant::KernelChoice::automatic, cc, info.name));
    FW_RETURN_IF_ERROR(cuda::check_device_code(info));
    return info.name + ", sm_" + std::to_string(cc.sm()) + ", " + std::string(quant::kernel_set_name(set)) +
           " kernels";
  };
  // The modes the chosen kernel set computes on this GPU (every one on Hopper; quant/kernel_sets.h).
  b.runs = [](const quant::ModelOptions& options) { return cuda::kernel_set_for(options).ok(); };
  b.use_device = [](int index) { return cuda::use_device(index); };
  b.current_device = [] { return cuda::resolve_device(cuda::kCurrentDevice); };
  b.loads_beside_denoise = true;
  b.load_text_encoder = [](const ModelFolder& f) -> Expected<std::unique_ptr<TextEncoderStage>> {
    FW_ASSIGN_OR_RETURN(WanTextEncoder host, WanTextEncoder::load(f.text_encoder, f.spiece_model));
    FW_ASSIGN_OR_RETURN(WeightStore store, open_text_encoder_weights(f));
    auto weights = cuda::upload_umt5_weights(host.encoder().config(), store);
    if (!weights) return weights.error().with_context("text encoder " + f.text_encoder);
    auto gpu = std::make_unique<cuda::Umt5EncoderCuda>(cuda::DeviceContext::create(), host.encoder().config(),
                                                       std::move(*weights));
    // One token through the encoder loads the GPU code (cuBLASLt kernels load lazily on first use), so the
    // text stage times the prompt, not the process start.
    FW_ASSIGN_OR_RETURN(Tensor row, host.encoder().embed(std::vector<int32_t>{1}));
    FW_RETURN_IF_ERROR(gpu->forward(row));
    return std::unique_ptr<TextEncoderStage>(new CudaTextEncoder(std::move(host), std::move(gpu)));
  };
  b.load_denoiser = [](const ModelFolder& f,
                       const quant::ModelOptions& options) -> Expected<std::unique_ptr<Denoiser>> {
    FW_ASSIGN_OR_RETURN(WeightStore store, open_transformer_weights(f));
    FW_ASSIGN_OR_RETURN(auto ctx, cuda::context_for(options));
    log_info("DiT: " + options.describe() + " on the " + std::string(quant::kernel_set_name(ctx->kernels())) +
             " kernels (sm_" + std::to_string(ctx->capability().sm()) + ")");
    auto weights = cuda::upload_dit_weights(*ctx, f.dit, store, options.linear);
    if (!weights) return weights.error().with_context("transformer " + f.transformer);
    return std::unique_ptr<Denoiser>(new CudaDenoiser(
        std::make_unique<cuda::WanDitCuda>(std::move(ctx), f.dit, std::move(*weights), options.attention)));
  };
  b.load_decoder = [](const ModelFolder& f, DecoderKind kind) -> Expected<std::unique_ptr<VideoDecoder>> {
    if (kind == DecoderKind::taehv) {
      FW_ASSIGN_OR_RETURN(TaehvDecoder cpu, TaehvDecoder::load(f.taehv));
      FW_ASSIGN_OR_RETURN(cuda::TaehvDecoderCuda gpu,
                          cuda::TaehvDecoderCuda::create(cpu, cuda::DeviceContext::create()));
      gpu.set_chunk(3);  // 12 frames at a time: as fast as all at once, 2.4 GB instead of 16 at 480p
      return std::unique_ptr<VideoDecoder>(new cuda::TaehvDecoderCuda(std::move(gpu)));
    }
    FW_ASSIGN_OR_RETURN(WanVaeDecoder cpu, WanVaeDecoder::load(f.vae));
    FW_ASSIGN_OR_RETURN(auto gpu, cuda::WanVaeDecoderCuda::create(cpu, cuda::DeviceContext::create()));
    return std::unique_ptr<VideoDecoder>(std::move(gpu));
  };
  b.peak_device_bytes = [] { return static_cast<int64_t>(cuda::peak_allocated_bytes()); };
  return b;
}

void register_cuda_backend() {
  register_backend(Device::cuda, cuda_backend());
}

}  // namespace fastwan
