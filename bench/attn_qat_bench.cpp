// Attn-QAT's training kernels (libfastwan_attn_qat, the C interface python/ calls) at issue 16's shapes:
// B=1, H=12, N=32,760, D=128 non-causal (a Wan2.1-1.3B 480p video) and B=8, H=32, N=4,096, D=128 causal.
// CUDA events, warm-up, median of repeats, random inputs. FLOPs as executed: forward 6 B H Nq Nk D (S, O and
// O'), backward 10 B H Nq Nk D (S, dP, dV, dK, dQ), halved for causal masks (the masked tiles are skipped).
// Not a test: the numbers go to docs/performance.md. Each pass runs with each kernel the GPU has ("forward
// wgmma" and "backward wgmma" on sm_90, "... mma.sync" everywhere; FASTWAN_ATTN_QAT_FORWARD and _BACKWARD
// pick them), the backward with the O' and LSE of the last forward.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "bench_util.h"
#include "cuda/check.h"
#include "cuda/device.h"
#include "fastwan/attn_qat.h"
#include "gpu/reference_kernels.h"

namespace fastwan {
namespace {

void check(int rc) {
  if (rc != 0) throw InternalError(fastwan_attn_qat_last_error());
}

Tensor device(int64_t elements, DType dtype, uint64_t seed = 0) {
  Tensor t = Tensor::empty({elements}, dtype, Device::cuda);
  if (seed) test::fill_random_bf16(t, seed, 1.0f);
  return t;
}

void bench(int batch, int heads, int n, int d, bool causal, bool hopper) {
  fastwan_attn_qat_params p = fastwan_attn_qat_default_params(batch, heads, n, n, d);
  p.causal = causal;
  const int64_t elements = int64_t{batch} * heads * n * d, rows = int64_t{batch} * heads * n;
  const Tensor q = device(elements, DType::bf16, 1), k = device(elements, DType::bf16, 2),
               v = device(elements, DType::bf16, 3), d_o = device(elements, DType::bf16, 4);
  const Tensor qh = device(elements, DType::bf16), kh = device(elements, DType::bf16),
               vh = device(elements, DType::bf16), o = device(elements, DType::bf16),
               op = device(elements, DType::bf16), dq = device(elements, DType::bf16),
               dk = device(elements, DType::bf16), dv = device(elements, DType::bf16);
  const Tensor lse = device(rows, DType::f32), row_max = device(rows, DType::f32);
  const Tensor ws = device(static_cast<int64_t>(fastwan_attn_qat_backward_workspace(&p)), DType::u8);
  const double pairs = double(batch) * heads * n * n * (causal ? 0.5 : 1.0) * d;
  char shape[96];
  std::snprintf(shape, sizeof shape, "B=%d H=%d N=%d D=%d%s", batch, heads, n, d, causal ? " causal" : "");
  auto row = [&](const char* what, double ms, double flops) {
    std::printf("%-16s %-36s %9.3f %9.1f\n", what, shape, ms, flops / ms / 1e9);
    std::fflush(stdout);
  };
  const double ms_q = median_ms([&] {
    check(fastwan_attn_qat_quantize(&p, q.raw(), k.raw(), v.raw(), qh.raw(), kh.raw(), vh.raw(), nullptr));
  });
  std::printf("%-16s %-36s %9.3f %9s\n", "quantize q,k,v", shape, ms_q, "-");
  struct Kernel {
    const char *label, *backward_label, *env;
  };
  std::vector<Kernel> kernels;
  if (hopper) kernels.push_back({"forward wgmma", "backward wgmma", "hopper"});
  kernels.push_back({"forward mma.sync", "backward mma.sync", "portable"});
  for (const Kernel& kernel : kernels) {
    setenv("FASTWAN_ATTN_QAT_FORWARD", kernel.env, 1);
    const double ms_f = median_ms([&] {
      check(fastwan_attn_qat_forward(&p, qh.raw(), kh.raw(), vh.raw(), o.raw(), op.raw(), lse.data<float>(),
                                     row_max.data<float>(), nullptr));
    });
    row(kernel.label, ms_f, 6 * pairs);
  }
  unsetenv("FASTWAN_ATTN_QAT_FORWARD");
  for (const Kernel& kernel : kernels) {
    setenv("FASTWAN_ATTN_QAT_BACKWARD", kernel.env, 1);
    const double ms_b = median_ms([&] {
      check(fastwan_attn_qat_backward(&p, qh.raw(), kh.raw(), vh.raw(), op.raw(), lse.data<float>(),
                                      row_max.data<float>(), d_o.raw(), dq.raw(), dk.raw(), dv.raw(),
                                      ws.raw(), nullptr));
    });
    row(kernel.backward_label, ms_b, 10 * pairs);
  }
  unsetenv("FASTWAN_ATTN_QAT_BACKWARD");
}

int run() {
  auto info = cuda::device_info();
  if (!info) {
    std::fprintf(stderr, "attn_qat_bench: %s\n", info.error().message().c_str());
    return 1;
  }
  cuda::install_device_allocator();  // the tensors below are allocated directly, not through to_device
  std::printf("device: %s, %d SMs\n\n%-16s %-36s %9s %9s\n", info->name.c_str(), info->sm_count, "pass",
              "shape", "ms", "TFLOP/s");
  const bool hopper = info->major == 9 && info->minor == 0;  // the wgmma kernels are sm_90a code
  bench(1, 12, 32760, 128, false, hopper);
  bench(8, 32, 4096, 128, true, hopper);
  return 0;
}

}  // namespace
}  // namespace fastwan

int main() {
  try {
    return fastwan::run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attn_qat_bench: %s\n", e.what());
    return 1;
  }
}
