#include "pipeline/cuda/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/log.h"
#include "cuda/check.h"
#include "cuda/device.h"
#include "models/taehv/cuda/taehv_cuda.h"
#include "models/umt5/cuda/umt5_cuda.h"
#include "models/wan_dit/cuda/wan_dit_cuda.h"
#include "models/wan_vae/cuda/wan_vae_cuda.h"
#include "ops/cuda/random.h"
#include "synth/synth.h"
#include "video/frame_sink.h"

namespace fastwan {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Device memory this process holds now (all allocations), in GB.
double used_gb() {
  size_t free_b = 0, total = 0;
  FW_CUDA_CHECK(cudaMemGetInfo(&free_b, &total));
  return static_cast<double>(total - free_b) / 1e9;
}

// Times `fn` (CUDA events, after one warm-up call) `runs` times; returns the median in ms.
Expected<double> timed(int runs, const std::function<Status()>& fn) {
  cuda::Timer timer;
  std::vector<double> ms;
  for (int r = 0; r <= runs; ++r) {
    timer.start();
    FW_RETURN_IF_ERROR(fn());
    const double t = timer.stop_ms();
    if (r > 0) ms.push_back(t);
  }
  return median(ms);
}

std::string fmt_gb(double gb) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f GB", gb);
  return b;
}

// The decoders: TAEHV from a synthesized taew2_1 file (22 MB, random weights) in three schedules, and the Wan
// VAE (real geometry, random weights synthesized into a temporary folder). Frames end as uint8 on the host,
// the writer's input; the writer is timed on its own.
Status bench_decoders(const BenchOptions& o, const Shape& latent_shape, BenchReport& report) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "fastwan-bench-decoders";
  FW_RETURN_IF_ERROR(synthesize_vae(dir.string(), SynthPreset::wan21_1_3b, 9));
  FW_RETURN_IF_ERROR(synthesize_taehv((dir / "taew2_1.safetensors").string(), 7));
  auto taehv_cpu = TaehvDecoder::load((dir / "taew2_1.safetensors").string());
  auto vae_cpu = WanVaeDecoder::load((dir / "vae").string());
  std::filesystem::remove_all(dir);
  if (!taehv_cpu) return taehv_cpu.error();
  if (!vae_cpu) return vae_cpu.error();
  Tensor latents = Tensor::empty(latent_shape, DType::f32, Device::cuda);
  cuda::fill_normal(latents.raw(), DType::f32, latents.numel(), 8, 0.0f, 1.0f, nullptr);
  int64_t frames = 0;
  auto count = [&](const uint8_t*) {
    ++frames;
    return Status::Ok();
  };
  for (int chunk : {0, 3, 1}) {
    const double before = used_gb();
    FW_ASSIGN_OR_RETURN(cuda::TaehvDecoderCuda gpu,
                        cuda::TaehvDecoderCuda::create(*taehv_cpu, cuda::DeviceContext::create()));
    gpu.set_chunk(chunk);
    FW_ASSIGN_OR_RETURN(double ms, timed(o.runs, [&] {
                          frames = 0;
                          return gpu.decode_rgb8(latents, count);
                        }));
    const std::string name =
        chunk == 0 ? "decode TAEHV (all latents)" : "decode TAEHV (chunks of " + std::to_string(chunk) + ")";
    report.stages.push_back({name, ms, used_gb() - before,
                             std::to_string(frames) + " frames, activations " +
                                 fmt_gb(static_cast<double>(gpu.peak_activation_bytes()) / 1e9)});
  }
  {
    const double before = used_gb();
    FW_ASSIGN_OR_RETURN(auto gpu, cuda::WanVaeDecoderCuda::create(*vae_cpu, cuda::DeviceContext::create()));
    FW_ASSIGN_OR_RETURN(double ms, timed(std::min(o.runs, 2), [&] {
                          frames = 0;
                          return gpu->decode_rgb8(latents, count);
                        }));
    report.stages.push_back({"decode Wan VAE", ms, used_gb() - before,
                             std::to_string(frames) + " frames, buffers " +
                                 fmt_gb(static_cast<double>(gpu->activation_bytes()) / 1e9)});
  }
  // The writer on the host (the pipeline overlaps it with decoding): 81 frames to a Y4M file.
  const int64_t h = latent_shape[3] * 8, w = latent_shape[4] * 8;
  std::vector<uint8_t> rgb(static_cast<size_t>(h * w * 3));
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
  VideoOutputOptions vo;
  vo.path = (std::filesystem::temp_directory_path() / "fastwan-bench.y4m").string();
  FW_ASSIGN_OR_RETURN(VideoOutput output, check_video_output(vo));
  const auto start = std::chrono::steady_clock::now();
  {
    FW_ASSIGN_OR_RETURN(auto sink, open_video_output(output, w, h));
    for (int64_t f = 0; f < frames; ++f) FW_RETURN_IF_ERROR(sink->write(rgb.data()));
    FW_RETURN_IF_ERROR(sink->finish());
  }
  const double write_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::filesystem::remove(vo.path);
  report.stages.push_back(
      {"write (Y4M, host)", write_ms, 0,
       std::to_string(frames) + " frames " + std::to_string(w) + "x" + std::to_string(h)});
  return Status::Ok();
}

}  // namespace

std::string BenchReport::table() const {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-30s %10s %9s  %s\n", "stage", "ms", "peak GB", "note");
  os << "device: " << device << "\n" << line;
  for (const auto& s : stages) {
    std::snprintf(line, sizeof line, "%-30s %10.1f %9.2f  %s\n", s.name.c_str(), s.ms, s.peak_gb,
                  s.note.c_str());
    os << line;
  }
  return os.str();
}

std::string BenchReport::json() const {
  nlohmann::json j = {{"device", device}, {"stages", nlohmann::json::array()}};
  for (const auto& s : stages)
    j["stages"].push_back({{"name", s.name}, {"ms", s.ms}, {"peak_gb", s.peak_gb}, {"note", s.note}});
  return j.dump(2);
}

Expected<BenchReport> run_bench(const BenchOptions& o) {
  if (o.preset != "wan2.1-1.3b")
    return Error("--preset: unknown preset '" + o.preset + "' (expected wan2.1-1.3b)");
  if (o.runs < 1) return Error("--runs must be >= 1");
  FW_ASSIGN_OR_RETURN(auto info, cuda::device_info());
  cuda::install_device_allocator();
  BenchReport report;
  report.device = info.name;

  {  // Text encoder: UMT5-XXL on a full prompt, released before the DiT is made (as the pipeline does).
    const double before = used_gb();
    const Umt5Config tc = Umt5Config::umt5_xxl();
    log_info("bench: synthesizing UMT5-XXL weights on the GPU (" + std::to_string(tc.num_layers) +
             " layers)");
    cuda::Umt5EncoderCuda encoder(cuda::DeviceContext::create(), tc, cuda::random_umt5_weights(tc, 4),
                                  o.text_tokens);
    Tensor rows = Tensor::empty({o.text_tokens, tc.d_model}, DType::bf16, Device::cuda);
    cuda::fill_normal(rows.raw(), DType::bf16, rows.numel(), 5, 0.0f, 1.0f, nullptr);
    FW_ASSIGN_OR_RETURN(double ms, timed(o.runs, [&]() -> Status {
                          FW_RETURN_IF_ERROR(encoder.forward(rows));
                          return Status::Ok();
                        }));
    report.stages.push_back(
        {"text encoder (UMT5-XXL)", ms, used_gb() - before,
         std::to_string(o.text_tokens) + " tokens; the embedding table stays on the host"});
  }

  const WanDitConfig config = WanDitConfig::wan21_1_3b();
  const int64_t lt = (o.frames - 1) / 4 + 1, lh = o.height / 8, lw = o.width / 8;
  {
    const double before = used_gb();
    log_info("bench: synthesizing real-size DiT weights on the GPU (" + std::to_string(config.num_layers) +
             " layers)");
    FW_ASSIGN_OR_RETURN(auto ctx, cuda::context_for(o.modes));
    log_info("bench: DiT on the " + std::string(quant::kernel_set_name(ctx->kernels())) + " kernels");
    auto weights = cuda::random_dit_weights(*ctx, config, 1, o.modes.linear);
    cuda::WanDitCuda dit(std::move(ctx), config, std::move(weights), o.modes.attention);
    FW_RETURN_IF_ERROR(dit.prepare(lt, lh, lw, o.text_tokens));
    Tensor context = Tensor::empty({o.text_tokens, config.text_dim}, DType::f32, Device::cuda);
    cuda::fill_normal(context.raw(), DType::f32, context.numel(), 2, 0.0f, 1.0f, nullptr);
    cuda::fill_normal(dit.latents().raw(), DType::f32, dit.latents().numel(), 3, 0.0f, 1.0f, nullptr);
    const int timesteps[3] = {1000, 757, 522};
    cuda::Timer timer;
    std::vector<double> ctx_ms;
    std::vector<std::vector<double>> step_ms(o.steps);
    for (int r = 0; r <= o.runs; ++r) {  // run 0 is the warm-up (eager pass + graph capture)
      timer.start();
      FW_RETURN_IF_ERROR(dit.set_context(context));
      if (r > 0) ctx_ms.push_back(timer.stop_ms());
      for (int st = 0; st < o.steps; ++st) {
        timer.start();
        dit.forward(static_cast<float>(timesteps[st % 3]));
        const double f = timer.stop_ms();
        if (r > 0) step_ms[st].push_back(f);
      }
    }
    const double peak = used_gb() - before;
    report.stages.push_back({"text conditioning", median(ctx_ms), peak, "text_embedder + 30 cross K/V"});
    for (int st = 0; st < o.steps; ++st) {
      char note[160];
      std::snprintf(note, sizeof note, "t=%d, %s; weights %.2f GB + activations %.2f GB, %lld tokens",
                    timesteps[st % 3], o.modes.describe().c_str(),
                    static_cast<double>(dit.weights().bytes()) / 1e9,
                    static_cast<double>(dit.activation_bytes()) / 1e9,
                    static_cast<long long>(lt * (lh / 2) * (lw / 2)));
      report.stages.push_back({"DiT step " + std::to_string(st + 1), median(step_ms[st]), peak, note});
    }
  }
  FW_RETURN_IF_ERROR(bench_decoders(o, {1, 16, lt, lh, lw}, report));

  // Totals of one run: text + conditioning + steps + decode (+ write). Peak: the largest stage, since each
  // stage's weights are released before the next one loads.
  auto total = [&](const std::string& name, const std::string& decoder, bool write) {
    double ms = 0, peak = 0;
    for (const auto& st : report.stages) {
      const bool core = st.name.starts_with("text") || st.name.starts_with("DiT step") || st.name == decoder;
      if (core || (write && st.name.starts_with("write"))) {
        ms += st.ms;
        peak = std::max(peak, st.peak_gb);
      }
    }
    report.stages.push_back({name, ms, peak, "sum of the stages above"});
  };
  total("total, TAEHV", "decode TAEHV (chunks of 3)", false);
  total("total, TAEHV + write", "decode TAEHV (chunks of 3)", true);
  total("total, Wan VAE", "decode Wan VAE", false);
  return report;
}

}  // namespace fastwan
