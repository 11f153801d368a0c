// libfastwan_attn_qat.so: the C interface of include/fastwan/attn_qat.h over the CUDA kernels
// (ops/cuda/attn_qat/) and the double-precision reference (quant/attn_qat.h). Every entry validates its
// arguments, catches every exception and turns it into a return code and a one-line message, so a caller
// in another language never sees a C++ exception cross the boundary.
#include "fastwan/attn_qat.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

#include "core/check.h"
#include "core/tensor.h"
#include "quant/attn_qat.h"

#if FASTWAN_HAVE_CUDA
#include "cuda/check.h"
#include "ops/cuda/attn_qat/attn_qat.h"
#endif

#define FW_EXPORT extern "C" __attribute__((visibility("default")))

namespace fastwan {
namespace {

constexpr int kBlockN = 64;  // the forward kernel's key tile (ops/cuda/attn_qat/attn_qat.h)
#if FASTWAN_HAVE_CUDA
static_assert(kBlockN == cuda::attn_qat::kBlockN);
#endif

thread_local std::string last_error;

// Runs fn, and returns 0, or -1 with the message of what it threw.
template <class Fn>
int guarded(const char* entry, Fn&& fn) {
  try {
    fn();
    last_error.clear();
    return 0;
  } catch (const std::exception& e) {
    last_error = std::string(entry) + ": " + e.what();
  } catch (...) {
    last_error = std::string(entry) + ": unknown error";
  }
  return -1;
}

void check_params(const fastwan_attn_qat_params* p, bool cuda) {
  FW_CHECK(p != nullptr, "params is NULL");
  FW_CHECK(p->batch > 0 && p->heads > 0 && p->seq_q > 0 && p->seq_k > 0,
           "batch, heads, seq_q and seq_k must be positive (got " + std::to_string(p->batch) + ", " +
               std::to_string(p->heads) + ", " + std::to_string(p->seq_q) + ", " + std::to_string(p->seq_k) +
               ")");
  if (cuda)
    FW_CHECK(p->head_dim == 64 || p->head_dim == 128,
             "head_dim must be 64 or 128 for the CUDA kernels (got " + std::to_string(p->head_dim) + ")");
  else
    FW_CHECK(p->head_dim > 0 && p->head_dim % 16 == 0,
             "head_dim must be a positive multiple of 16 (got " + std::to_string(p->head_dim) + ")");
  FW_CHECK(std::isfinite(p->sm_scale) && p->sm_scale >= 0.0f,
           "sm_scale must be finite and >= 0 (0: 1/sqrt(D))");
  FW_CHECK(p->v_axis == FASTWAN_QAT_V_TOKENS || p->v_axis == FASTWAN_QAT_V_HEAD_DIM, "v_axis must be 0 or 1");
  FW_CHECK(p->d_from == FASTWAN_QAT_D_FROM_O_PRIME || p->d_from == FASTWAN_QAT_D_FROM_O,
           "d_from must be 0 or 1");
  FW_CHECK(p->dv_p >= FASTWAN_QAT_DV_FQ_NORMALIZED && p->dv_p <= FASTWAN_QAT_DV_EXACT,
           "dv_p must be 0, 1 or 2");
  if (cuda) {
    FW_CHECK(static_cast<int64_t>(p->batch) * p->heads <= 65535, "batch x heads must be at most 65535");
    FW_CHECK(p->seq_k <= 16 * 65535, "seq_k must be at most 1048560");
  }
}

float sm_scale_of(const fastwan_attn_qat_params& p) {
  return p.sm_scale > 0.0f ? p.sm_scale : 1.0f / std::sqrt(static_cast<float>(p.head_dim));
}

void check_pointer(const void* ptr, const char* name) {
  FW_CHECK(ptr != nullptr, std::string(name) + " is NULL");
  FW_CHECK(reinterpret_cast<uintptr_t>(ptr) % 16 == 0, std::string(name) + " must be 16-byte aligned");
}

quant::AttnQatParams reference_params(const fastwan_attn_qat_params& p) {
  quant::AttnQatParams r;
  r.sm_scale = sm_scale_of(p);
  r.causal = p.causal != 0;
  r.block_n = kBlockN;
  r.v_axis = p.v_axis == FASTWAN_QAT_V_TOKENS ? quant::QatVAxis::tokens : quant::QatVAxis::head_dim;
  r.d_from = p.d_from == FASTWAN_QAT_D_FROM_O_PRIME ? quant::QatDFrom::o_prime : quant::QatDFrom::o;
  r.dv_p = p.dv_p == FASTWAN_QAT_DV_FQ_NORMALIZED ? quant::QatDvP::fq_normalized
           : p.dv_p == FASTWAN_QAT_DV_FQ_ROW_MAX  ? quant::QatDvP::fq_row_max
                                                  : quant::QatDvP::exact;
  r.quantize_qkv = p.quantize_qkv != 0;
  r.quantize_p = p.quantize_p != 0;
  return r;
}

// Batch b of a [batch, heads, tokens, D] float array as the reference's [tokens, heads, D] (and back).
Tensor batch_slice(const float* x, const fastwan_attn_qat_params& p, int tokens, int b) {
  const int64_t h = p.heads, d = p.head_dim;
  Tensor t = Tensor::empty({tokens, h, d});
  float* dst = t.f32();
  for (int64_t hh = 0; hh < h; ++hh)
    for (int64_t n = 0; n < tokens; ++n)
      std::memcpy(dst + (n * h + hh) * d, x + ((static_cast<int64_t>(b) * h + hh) * tokens + n) * d,
                  sizeof(float) * d);
  return t;
}
void store_slice(const Tensor& t, float* x, const fastwan_attn_qat_params& p, int tokens, int b) {
  const int64_t h = p.heads, d = p.head_dim, inner = t.ndim() == 3 ? d : 1;
  const double* src = t.data<double>();
  for (int64_t hh = 0; hh < h; ++hh)
    for (int64_t n = 0; n < tokens; ++n)
      for (int64_t c = 0; c < inner; ++c)
        x[((static_cast<int64_t>(b) * h + hh) * tokens + n) * inner + c] =
            static_cast<float>(src[(n * h + hh) * inner + c]);
}

#if FASTWAN_HAVE_CUDA
cuda::attn_qat::Problem problem_of(const fastwan_attn_qat_params& p) {
  cuda::attn_qat::Problem pb;
  pb.batch_heads = p.batch * p.heads;
  pb.seq_q = p.seq_q;
  pb.seq_k = p.seq_k;
  pb.head_dim = p.head_dim;
  pb.sm_scale = sm_scale_of(p);
  pb.causal = p.causal != 0;
  pb.quantize_p = p.quantize_p != 0;
  return pb;
}
const __nv_bfloat16* bf16(const void* x) {
  return static_cast<const __nv_bfloat16*>(x);
}
__nv_bfloat16* bf16(void* x) {
  return static_cast<__nv_bfloat16*>(x);
}
#else
[[noreturn]] void no_cuda() {
  throw InternalError("this libfastwan_attn_qat was built without CUDA (no nvcc at build time)");
}
#endif

}  // namespace
}  // namespace fastwan

using namespace fastwan;  // NOLINT: the entries below are the C interface of this namespace's code

FW_EXPORT fastwan_attn_qat_params fastwan_attn_qat_default_params(int batch, int heads, int seq_q, int seq_k,
                                                                  int head_dim) {
  fastwan_attn_qat_params p{};
  p.batch = batch;
  p.heads = heads;
  p.seq_q = seq_q;
  p.seq_k = seq_k;
  p.head_dim = head_dim;
  p.quantize_qkv = 1;
  p.quantize_p = 1;
  return p;
}

FW_EXPORT int fastwan_attn_qat_block_n(void) {
  return kBlockN;
}

FW_EXPORT const char* fastwan_attn_qat_last_error(void) {
  return last_error.c_str();
}

FW_EXPORT int fastwan_attn_qat_quantize(const fastwan_attn_qat_params* p, const void* q, const void* k,
                                        const void* v, void* q_hat, void* k_hat, void* v_hat, void* stream) {
  return guarded("fastwan_attn_qat_quantize", [&] {
    check_params(p, true);
    for (auto [ptr, name] : {std::pair<const void*, const char*>{q, "q"},
                             {k, "k"},
                             {v, "v"},
                             {q_hat, "q_hat"},
                             {k_hat, "k_hat"},
                             {v_hat, "v_hat"}})
      check_pointer(ptr, name);
#if FASTWAN_HAVE_CUDA
    const auto s = static_cast<cudaStream_t>(stream);
    if (!p->quantize_qkv) {  // the identity: copies, so the caller's buffers are the same either way
      const size_t q_bytes = size_t{2} * p->batch * p->heads * p->seq_q * p->head_dim;
      const size_t kv_bytes = size_t{2} * p->batch * p->heads * p->seq_k * p->head_dim;
      FW_CUDA_CHECK(cudaMemcpyAsync(q_hat, q, q_bytes, cudaMemcpyDeviceToDevice, s));
      FW_CUDA_CHECK(cudaMemcpyAsync(k_hat, k, kv_bytes, cudaMemcpyDeviceToDevice, s));
      FW_CUDA_CHECK(cudaMemcpyAsync(v_hat, v, kv_bytes, cudaMemcpyDeviceToDevice, s));
      return;
    }
    cuda::attn_qat::QuantizeParams qp;
    qp.problem = problem_of(*p);
    qp.v_axis =
        p->v_axis == FASTWAN_QAT_V_TOKENS ? cuda::attn_qat::VAxis::tokens : cuda::attn_qat::VAxis::head_dim;
    qp.q = bf16(q), qp.k = bf16(k), qp.v = bf16(v);
    qp.q_hat = bf16(q_hat), qp.k_hat = bf16(k_hat), qp.v_hat = bf16(v_hat);
    cuda::attn_qat::quantize(qp, s);
#else
    (void)stream;
    no_cuda();
#endif
  });
}

FW_EXPORT int fastwan_attn_qat_forward(const fastwan_attn_qat_params* p, const void* q_hat, const void* k_hat,
                                       const void* v_hat, void* o, void* o_prime, float* lse, float* row_max,
                                       void* stream) {
  return guarded("fastwan_attn_qat_forward", [&] {
    check_params(p, true);
    for (auto [ptr, name] : {std::pair<const void*, const char*>{q_hat, "q_hat"},
                             {k_hat, "k_hat"},
                             {v_hat, "v_hat"},
                             {o, "o"},
                             {o_prime, "o_prime"}})
      check_pointer(ptr, name);
    FW_CHECK(lse != nullptr && row_max != nullptr, "lse and row_max must not be NULL");
#if FASTWAN_HAVE_CUDA
    cuda::attn_qat::ForwardParams fp;
    fp.problem = problem_of(*p);
    fp.q = bf16(q_hat), fp.k = bf16(k_hat), fp.v = bf16(v_hat);
    fp.o = bf16(o), fp.o_prime = bf16(o_prime), fp.lse = lse, fp.row_max = row_max;
    cuda::attn_qat::forward(fp, static_cast<cudaStream_t>(stream));
#else
    (void)stream;
    no_cuda();
#endif
  });
}

FW_EXPORT size_t fastwan_attn_qat_backward_workspace(const fastwan_attn_qat_params* p) {
  if (!p || p->batch <= 0 || p->heads <= 0 || p->seq_q <= 0 || p->head_dim <= 0) return 0;
  const size_t rows = static_cast<size_t>(p->batch) * p->heads * p->seq_q;
  return sizeof(float) * rows * (static_cast<size_t>(p->head_dim) + 1);
}

FW_EXPORT int fastwan_attn_qat_backward(const fastwan_attn_qat_params* p, const void* q_hat,
                                        const void* k_hat, const void* v_hat, const void* o_for_d,
                                        const float* lse, const float* row_max, const void* d_o, void* dq,
                                        void* dk, void* dv, void* workspace, void* stream) {
  return guarded("fastwan_attn_qat_backward", [&] {
    check_params(p, true);
    for (auto [ptr, name] : {std::pair<const void*, const char*>{q_hat, "q_hat"},
                             {k_hat, "k_hat"},
                             {v_hat, "v_hat"},
                             {o_for_d, "o_for_d"},
                             {d_o, "d_o"},
                             {dq, "dq"},
                             {dk, "dk"},
                             {dv, "dv"},
                             {workspace, "workspace"}})
      check_pointer(ptr, name);
    FW_CHECK(lse != nullptr, "lse must not be NULL");
    const int dv_p = p->quantize_p ? p->dv_p : FASTWAN_QAT_DV_EXACT;  // P^ = P: dV from P
    FW_CHECK(dv_p != FASTWAN_QAT_DV_FQ_ROW_MAX || row_max != nullptr,
             "row_max must not be NULL for dv_p row max");
#if FASTWAN_HAVE_CUDA
    cuda::attn_qat::BackwardParams bp;
    bp.problem = problem_of(*p);
    bp.dv_p = dv_p == FASTWAN_QAT_DV_FQ_NORMALIZED ? cuda::attn_qat::DvP::fq_normalized
              : dv_p == FASTWAN_QAT_DV_FQ_ROW_MAX  ? cuda::attn_qat::DvP::fq_row_max
                                                   : cuda::attn_qat::DvP::exact;
    bp.q = bf16(q_hat), bp.k = bf16(k_hat), bp.v = bf16(v_hat);
    bp.o_for_d = bf16(o_for_d), bp.d_o = bf16(d_o), bp.lse = lse, bp.row_max = row_max;
    bp.dq = bf16(dq), bp.dk = bf16(dk), bp.dv = bf16(dv);
    bp.workspace = static_cast<float*>(workspace);
    FW_CHECK(fastwan_attn_qat_backward_workspace(p) ==
                 sizeof(float) * static_cast<size_t>(cuda::attn_qat::backward_workspace_floats(bp.problem)),
             "internal: workspace size mismatch");
    cuda::attn_qat::backward(bp, static_cast<cudaStream_t>(stream));
#else
    (void)stream;
    no_cuda();
#endif
  });
}

FW_EXPORT int fastwan_attn_qat_reference_forward(const fastwan_attn_qat_params* p, const float* q,
                                                 const float* k, const float* v, float* o, float* o_prime,
                                                 float* lse) {
  return guarded("fastwan_attn_qat_reference_forward", [&] {
    check_params(p, false);
    FW_CHECK(q && k && v && o && o_prime && lse, "a tensor pointer is NULL");
    const quant::AttnQatParams rp = reference_params(*p);
    for (int b = 0; b < p->batch; ++b) {
      const auto f = quant::attn_qat_forward(batch_slice(q, *p, p->seq_q, b), batch_slice(k, *p, p->seq_k, b),
                                             batch_slice(v, *p, p->seq_k, b), rp);
      store_slice(f.o, o, *p, p->seq_q, b);
      store_slice(f.o_prime, o_prime, *p, p->seq_q, b);
      store_slice(f.lse, lse, *p, p->seq_q, b);
    }
  });
}

FW_EXPORT int fastwan_attn_qat_reference_backward(const fastwan_attn_qat_params* p, const float* q,
                                                  const float* k, const float* v, const float* o,
                                                  const float* o_prime, const float* lse, const float* d_o,
                                                  float* dq, float* dk, float* dv) {
  return guarded("fastwan_attn_qat_reference_backward", [&] {
    check_params(p, false);
    FW_CHECK(q && k && v && o && o_prime && lse && d_o && dq && dk && dv, "a tensor pointer is NULL");
    const quant::AttnQatParams rp = reference_params(*p);
    for (int b = 0; b < p->batch; ++b) {
      // lse [batch, heads, seq_q] as the reference's [seq_q, heads].
      Tensor lse_b = Tensor::empty({p->seq_q, p->heads});
      for (int h = 0; h < p->heads; ++h)
        for (int n = 0; n < p->seq_q; ++n)
          lse_b.f32()[n * p->heads + h] = lse[(static_cast<int64_t>(b) * p->heads + h) * p->seq_q + n];
      const auto g = quant::attn_qat_backward(
          batch_slice(q, *p, p->seq_q, b), batch_slice(k, *p, p->seq_k, b), batch_slice(v, *p, p->seq_k, b),
          batch_slice(o, *p, p->seq_q, b), batch_slice(o_prime, *p, p->seq_q, b), lse_b,
          batch_slice(d_o, *p, p->seq_q, b), rp);
      store_slice(g.dq, dq, *p, p->seq_q, b);
      store_slice(g.dk, dk, *p, p->seq_k, b);
      store_slice(g.dv, dv, *p, p->seq_k, b);
    }
  });
}
