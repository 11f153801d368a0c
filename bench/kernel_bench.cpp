// Kernel benchmarks at the Wan2.1-1.3B 480p shapes (S = 32,760 tokens, 1536 wide, 12 heads x 128, 512 text
// rows): CUDA events, warm-up, median of repeats, random (never zero) inputs. Prints one table:
// kernel | ms | TFLOP/s | GB/s. Not a test: numbers go to docs/performance.md.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "gpu/reference_kernels.h"
#include "models/common/cuda/linear.h"
#include "ops/cuda/attention.h"
#include "ops/cuda/norm.h"
#include "ops/cuda/random.h"
#include "ops/cuda/sage_quant.h"
#include "ops/ops.h"

namespace fastwan {
namespace {

struct Row {
  std::string name;
  double ms, tflops, gbps;
  double err = -1;  // rel L2 vs the CPU on identical (quantized) inputs; < 0: not measured
};

// The dequantized operand a linear reads, on the host: bf16 values, or e4m3 codes times their scales.
Tensor host_operand(const void* data, DType dtype, const float* scales, int64_t rows, int64_t cols,
                    int64_t ld, int64_t scale_rows, int64_t scale_groups, int64_t scale_stride = 1) {
  const size_t esize = dtype_size(dtype);
  Tensor raw = Tensor::empty({rows, ld}, dtype);
  FW_CUDA_CHECK(cudaMemcpy(raw.raw(), data, raw.nbytes(), cudaMemcpyDeviceToHost));
  std::vector<float> s(static_cast<size_t>(scale_rows * scale_stride), 1.0f);
  if (scales) FW_CUDA_CHECK(cudaMemcpy(s.data(), scales, s.size() * 4, cudaMemcpyDeviceToHost));
  Tensor out = Tensor::empty({rows, cols}, DType::f32);
  for (int64_t r = 0; r < rows; ++r) {
    // scale_groups > 1: equal row groups share one scale (the parts of a stacked per-tensor weight).
    const float sc = scale_rows == rows ? s[r] : s[r / (rows / scale_groups) * scale_stride];
    convert_to_f32(static_cast<const char*>(raw.raw()) + r * ld * esize, dtype, out.f32() + r * cols, cols);
    for (int64_t c = 0; c < cols; ++c) out.f32()[r * cols + c] *= sc;
  }
  return out;
}

// rel L2 of a linear's output rows (every 257th) against the CPU product of the identical operands (NVFP4:
// the bf16 values code * SF the GPU made, the weight's times each part's alpha).
double linear_error(const cuda::Linear& lin, const cuda::LinearInput& x, const Tensor& out, int64_t rows,
                    int64_t k, int64_t n, bool gelu, const Tensor& a_bf16, const Tensor& bias) {
  FW_CUDA_CHECK(cudaDeviceSynchronize());
  const bool fp8 = lin.mode() == quant::LinearMode::fp8 || lin.mode() == quant::LinearMode::fp8_row;
  const bool per_row = lin.mode() == quant::LinearMode::fp8_row;
  const Tensor a = fp8 ? host_operand(x.data, DType::fp8_e4m3, x.scale, rows, k, k, per_row ? rows : 1, 1)
                       : host_operand(x.data ? x.data : a_bf16.raw(), DType::bf16, nullptr, rows, k, k, 1, 1);
  const int64_t parts = fp8 && !per_row ? lin.parts() : 1;
  Tensor w =
      host_operand(lin.weight().raw(), lin.weight().dtype(), fp8 ? lin.scales().data<float>() : nullptr, n, k,
                   k, per_row ? n : parts, parts, per_row ? 1 : cuda::Linear::kScaleSlot);
  for (int64_t r = 0; r < n; ++r)  // alpha: 1 but in nvfp4
    for (int64_t c = 0; c < k; ++c) w.f32()[r * k + c] *= lin.alpha(static_cast<int>(r / (n / lin.parts())));
  const Tensor b = cuda::to_host(bias).to_f32();
  const Tensor got = cuda::to_host(out).to_f32();
  std::vector<float> sel_a, sel_got;
  for (int64_t r = 0; r < rows; r += 257) {
    sel_a.insert(sel_a.end(), a.f32() + r * k, a.f32() + (r + 1) * k);
    sel_got.insert(sel_got.end(), got.f32() + r * n, got.f32() + (r + 1) * n);
  }
  const int64_t m = static_cast<int64_t>(sel_a.size()) / k;
  Tensor ref = ops::linear(Tensor::from_floats({m, k}, sel_a), w, b);
  if (gelu) ops::gelu_tanh_(ref);
  return ops::compare(Tensor::from_floats({m, n}, sel_got), ref).rel_l2;
}

Tensor random_bf16(const Shape& shape, uint64_t seed, float std = 1.0f) {
  Tensor t = Tensor::empty(shape, DType::bf16, Device::cuda);
  test::fill_random_bf16(t, seed, std);
  return t;
}

int run() {
  auto info = cuda::device_info();
  if (!info) {
    std::fprintf(stderr, "kernel_bench: %s\n", info.error().message().c_str());
    return 1;
  }
  std::printf("device: %s, %d SMs\n", info->name.c_str(), info->sm_count);
  auto context = cuda::DeviceContext::create();
  cuda::DeviceContext& ctx = *context;
  const cudaStream_t stream = ctx.stream();
  const int s = 32760, h = 12, d = 1536, ffn = 8960, text = 512;
  // Each row is printed as soon as it is measured, so a run cut short still reports what it measured.
  std::printf("\n%-52s %9s %9s %9s %11s\n", "kernel", "ms", "TFLOP/s", "GB/s", "rel L2 CPU");
  auto add = [](const Row& r) {
    char err[32] = "";
    if (r.err >= 0) std::snprintf(err, sizeof err, "%.2e", r.err);
    std::printf("%-52s %9.3f %9.1f %9.0f %11s\n", r.name.c_str(), r.ms, r.tflops, r.gbps, err);
    std::fflush(stdout);
  };

  {  // attention
    Tensor q = random_bf16({h, s, 128}, 1, 2.0f), k = random_bf16({h, s, 128}, 2, 2.0f),
           vt = random_bf16({h, 128, s}, 3);
    Tensor out = Tensor::empty({s, d}, DType::bf16, Device::cuda);
    cuda::AttentionParams p{q.raw(), k.raw(), vt.raw(), out.raw(), h, s, s, s, d, 0.08838834764831845f};
    const double ms = median_ms([&] { cuda::flash_attention(ctx, p); });
    add({"self-attention S=32760 H=12", ms, cuda::attention_flops(p) / ms / 1e9, 0});
    Tensor kt = random_bf16({h, text, 128}, 4, 2.0f), vtt = random_bf16({h, 128, text}, 5);
    cuda::AttentionParams c{q.raw(), kt.raw(), vtt.raw(), out.raw(), h,
                            s,       text,     text,      d,         0.08838834764831845f};
    const double ms2 = median_ms([&] { cuda::flash_attention(ctx, c); });
    add({"cross-attention 32760 x 512", ms2, cuda::attention_flops(c) / ms2 / 1e9, 0});
    cuda::AttentionParams p4 =
        p;  // FP4 emulated: the same operands read as NVFP4 values, P quantized per 16 keys
    p4.operands = cuda::AttentionOperands::fp4;
    const double ms4 = median_ms([&] { cuda::flash_attention(ctx, p4); });
    add({"self-attention fp4 (emulated) S=32760 H=12", ms4, cuda::attention_flops(p4) / ms4 / 1e9, 0});

    // Self-attention as the DiT runs it, from the qkv projection's output: bf16 (q/k norm+RoPE, V transpose,
    // kernel) against sage8 (the same norms writing INT8 Q and K's channel sums, K and V quantized, kernel).
    Tensor qkv = random_bf16({s, 3 * d}, 14), norm_w = random_bf16({d}, 15);
    Tensor cos32 = Tensor::empty({s, 64}, DType::f32, Device::cuda),
           sin32 = Tensor::empty({s, 64}, DType::f32, Device::cuda);
    cuda::fill_normal(cos32.raw(), DType::f32, cos32.numel(), 16, 0.0f, 0.7f, stream);
    cuda::fill_normal(sin32.raw(), DType::f32, sin32.numel(), 17, 0.0f, 0.7f, stream);
    const char* base = static_cast<const char*>(qkv.raw());
    cuda::QkNormRopeParams qn{
        s, h, 1e-6f, base, 3 * d, norm_w.raw(), cos32.data<float>(), sin32.data<float>(), q.raw()};
    cuda::QkNormRopeParams kn = qn;
    kn.src = base + d * 2;
    kn.dst = k.raw();
    auto bf16_prep = [&] {
      cuda::qk_norm_rope(qn, stream);
      cuda::qk_norm_rope(kn, stream);
      cuda::transpose_heads({s, h, base + 2 * d * 2, 3 * d, vt.raw(), s}, stream);
    };
    const double bf16_prep_ms = median_ms(bf16_prep);
    add({"self-attention bf16 pre-processing (q/k norm, V^T)", bf16_prep_ms, 0, 0});
    add({"self-attention bf16 incl. pre-processing", ms + bf16_prep_ms,
         cuda::attention_flops(p) / (ms + bf16_prep_ms) / 1e9, 0});

    Tensor q8 = Tensor::empty({h, s, 128}, DType::i8, Device::cuda),
           k8 = Tensor::empty({h, s, 128}, DType::i8, Device::cuda);
    Tensor vt8 = Tensor::empty({h, 128, cuda::sage_vt_stride(s)}, DType::u8, Device::cuda);
    Tensor qs = Tensor::empty({h, cuda::sage_q_scale_count(s)}, DType::f32, Device::cuda);
    Tensor ks = Tensor::empty({h, cuda::sage_k_scale_count(s)}, DType::f32, Device::cuda);
    Tensor vs = Tensor::empty({h, 128}, DType::f32, Device::cuda);
    Tensor partials = Tensor::empty({cuda::sage_k_partial_rows(s), d}, DType::f32, Device::cuda);
    Tensor mean = Tensor::empty({d}, DType::f32, Device::cuda),
           vamax = Tensor::empty({d}, DType::f32, Device::cuda);
    cuda::QkNormRopeParams qn8 = qn, kn8 = kn;
    qn8.dst = q8.raw();
    qn8.int8_scale = qs.data<float>();
    kn8.channel_partials = partials.data<float>();
    auto sage_prep = [&] {
      cuda::qk_norm_rope(qn8, stream);
      cuda::qk_norm_rope(kn8, stream);
      cuda::sage_quantize_k(
          {s, h, k.raw(), partials.data<float>(), mean.data<float>(), k8.raw(), ks.data<float>()}, stream);
      cuda::sage_quantize_v({s, h, base + 2 * d * 2, 3 * d, vamax.data<float>(), vt8.raw(),
                             cuda::sage_vt_stride(s), vs.data<float>()},
                            stream);
    };
    const double sage_prep_ms = median_ms(sage_prep);
    cuda::AttentionParams p8{q8.raw(),  k8.raw(),
                             vt8.raw(), out.raw(),
                             h,         s,
                             s,         static_cast<int>(cuda::sage_vt_stride(s)),
                             d,         0.08838834764831845f};
    p8.operands = cuda::AttentionOperands::sage8;
    p8.q_scale = qs.data<float>();
    p8.k_scale = ks.data<float>();
    p8.v_scale = vs.data<float>();
    const double ms8 = median_ms([&] { cuda::flash_attention(ctx, p8); });
    add({"self-attention sage8 S=32760 H=12 (kernel)", ms8, cuda::attention_flops(p8) / ms8 / 1e9, 0});
    add({"self-attention sage8 pre-processing (quantizing)", sage_prep_ms, 0, 0});
    add({"self-attention sage8 incl. pre-processing", ms8 + sage_prep_ms,
         cuda::attention_flops(p8) / (ms8 + sage_prep_ms) / 1e9, 0});

    // The portable kernel set (mma.sync, what GPUs other than sm_90 run) on the same operands.
    auto portable = cuda::DeviceContext::create(0, quant::KernelSet::portable);
    const struct {
      const char* name;
      const cuda::AttentionParams& params;
      int min_sm;
    } portable_rows[] = {{"portable: self-attention bf16 S=32760 H=12", p, 80},
                         {"portable: cross-attention 32760 x 512", c, 80},
                         {"portable: self-attention fp4 (emulated)", p4, 80},
                         {"portable: self-attention sage8 (kernel)", p8, 89}};
    for (const auto& row : portable_rows) {
      if (portable->capability().sm() < row.min_sm) continue;
      const double t = median_ms([&] { cuda::flash_attention(*portable, row.params); });
      add({row.name, t, cuda::attention_flops(row.params) / t / 1e9, 0});
    }
  }
  {  // The six GEMMs of a block in each linear mode, with the activation quantization they need.
    struct G {
      const char* name;
      int n, k, parts;
      bool gelu, measured;  // measured: the input's amax is a pass of its own (the GELU output)
      int count;            // per block
    } gs[] = {{"qkv 1536->4608", 3 * d, d, 3, false, false, 1},
              {"proj 1536->1536 (x3: to_out, attn2 q, o)", d, d, 1, false, false, 3},
              {"ffn-up 1536->8960 +gelu", ffn, d, 1, true, false, 1},
              {"ffn-down 8960->1536", d, ffn, 1, false, true, 1}};
    for (quant::LinearMode mode : {quant::LinearMode::bf16, quant::LinearMode::fp8,
                                   quant::LinearMode::fp8_row, quant::LinearMode::nvfp4}) {
      const std::string tag(quant::linear_mode_name(mode));
      double block_ms = 0, block_flop = 0;
      for (const auto& g : gs) {
        Tensor a = random_bf16({s, g.k}, 6), w = random_bf16({g.n, g.k}, 7, 0.02f), b = random_bf16({g.n}, 8);
        Tensor out = Tensor::empty({s, g.n}, DType::bf16, Device::cuda);
        const cuda::Linear lin = cuda::Linear::create(ctx, w, b, mode, g.parts);
        cuda::Arena counting = cuda::Arena::counting();
        cuda::QuantizedInput q;
        q.layout(counting, s, g.k, mode);
        cuda::Arena arena(std::max<size_t>(counting.used(), 256));
        q.layout(arena, s, g.k, mode);
        cuda::LinearInput x{a.raw(), g.k, nullptr};
        // Per tensor, the producer folds the amax in for free, except for the GELU output (a pass of its
        // own).
        auto quantize = [&] {
          q.reset_amax(ctx);
          if (g.measured || mode == quant::LinearMode::fp8) q.measure(ctx, a.raw(), g.k, s, g.k);
          x = q.quantize(ctx, a.raw(), g.k, s, g.k);
        };
        auto run = [&] { lin.forward(ctx, x, s, {out.raw(), g.n, g.gelu}); };
        quantize();
        const double gemm_ms = median_ms(run);
        const double flop = 2.0 * s * g.n * g.k;
        const double err = linear_error(lin, x, out, s, g.k, g.n, g.gelu, a, b);
        add({"gemm " + std::string(g.name) + " " + tag, gemm_ms, flop / gemm_ms / 1e9, 0, err});
        double quant_ms = 0;
        if (q.enabled()) {
          // Charged per block only where the amax is not fused into the producer.
          quant_ms = median_ms([&] {
            q.reset_amax(ctx);
            if (g.measured) q.measure(ctx, a.raw(), g.k, s, g.k);
            x = q.quantize(ctx, a.raw(), g.k, s, g.k);
          });
          // Bytes an element: 2 read + 1 written (e4m3 codes) or 2 + 2 (NVFP4's bf16 values).
          const double bytes = mode == quant::LinearMode::nvfp4 ? 4.0 : 3.0;
          add({"  quantize input " + std::to_string(s) + "x" + std::to_string(g.k) + " " + tag, quant_ms, 0,
               bytes * s * g.k / quant_ms / 1e6, -1});
        }
        // qkv and the three projections read two distinct quantized inputs per block besides the FFN's.
        const int quantized_inputs = g.count == 3 ? 2 : 1;
        block_ms += g.count * gemm_ms + quantized_inputs * quant_ms;
        block_flop += g.count * flop;
      }
      add({"six GEMMs of a block + quantization " + tag, block_ms, block_flop / block_ms / 1e9, 0, -1});
    }
  }
  {  // memory-bound glue
    Tensor x = random_bf16({s, d}, 9), y = random_bf16({s, d}, 10),
           out = Tensor::empty({s, d}, DType::bf16, Device::cuda);
    Tensor vec = Tensor::empty({6, d}, DType::f32, Device::cuda);
    FW_CUDA_CHECK(cudaMemset(vec.raw(), 0, vec.nbytes()));
    Tensor w = random_bf16({d}, 11), b = random_bf16({d}, 12);
    cuda::RowNormParams p;
    p.rows = s;
    p.dim = d;
    p.x = x.raw();
    p.y = y.raw();
    p.out = out.raw();
    p.scale = vec.data<float>();
    p.shift = vec.data<float>() + d;
    p.gate = vec.data<float>() + 2 * d;
    p.weight = w.raw();
    p.bias = b.raw();
    const double bytes = 2.0 * s * d;
    double ms = median_ms([&] { cuda::modulated_layer_norm(p, stream); });
    add({"modulated layer norm", ms, 0, 2 * bytes / ms / 1e6});
    ms = median_ms([&] { cuda::gated_residual_norm(p, stream); });
    add({"gated residual + affine LN", ms, 0, 4 * bytes / ms / 1e6});
    ms = median_ms([&] { cuda::residual_norm_modulate(p, stream); });
    add({"residual + LN + modulate", ms, 0, 4 * bytes / ms / 1e6});
    ms = median_ms([&] { cuda::gated_residual(p, stream); });
    add({"gated residual", ms, 0, 3 * bytes / ms / 1e6});
    Tensor qkv = random_bf16({s, 3 * d}, 13), heads = Tensor::empty({h, s, 128}, DType::bf16, Device::cuda);
    Tensor angles = Tensor::empty({s, 64}, DType::f32, Device::cuda);
    FW_CUDA_CHECK(cudaMemset(angles.raw(), 0, angles.nbytes()));
    cuda::QkNormRopeParams q{
        s, h, 1e-6f, qkv.raw(), 3 * d, w.raw(), angles.data<float>(), angles.data<float>(), heads.raw()};
    ms = median_ms([&] { cuda::qk_norm_rope(q, stream); });
    add({"qk rmsnorm + rope + relayout", ms, 0, 2 * bytes / ms / 1e6});
    Tensor vt = Tensor::empty({h, 128, s}, DType::bf16, Device::cuda);
    ms = median_ms([&] { cuda::transpose_heads({s, h, qkv.raw(), 3 * d, vt.raw(), s}, stream); });
    add({"v transpose to head-major", ms, 0, 2 * bytes / ms / 1e6});
  }

  return 0;
}

}  // namespace
}  // namespace fastwan

int main() {
  try {
    return fastwan::run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kernel_bench: %s\n", e.what());
    return 1;
  }
}
