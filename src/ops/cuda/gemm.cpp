#include "ops/cuda/gemm.h"

#include <cublasLt.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "cuda/check.h"
#include "ops/cuda/gemm_epilogue.h"

namespace fastwan::cuda {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;
constexpr size_t kScratchFloats = 16u << 20;  // 64 MiB: the per-row path's fp32 products, a block of rows

struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int, bool, int, int, bool, int, int>;

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::bf16:
      return CUDA_R_16BF;
    case DType::f32:
      return CUDA_R_32F;
    case DType::fp8_e4m3:
      return CUDA_R_8F_E4M3;
    default:
      FW_CHECK(false, "gemm: unsupported operand type " + std::string(dtype_name(t)));
      return CUDA_R_32F;
  }
}

}  // namespace

class GemmEngine {
 public:
  GemmEngine() {
    FW_CUBLAS_CHECK(cublasLtCreate(&handle_));
    FW_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
  }
  ~GemmEngine() {
    for (auto& [key, plan] : plans_) {
      cublasLtMatrixLayoutDestroy(plan.a);
      cublasLtMatrixLayoutDestroy(plan.b);
      cublasLtMatrixLayoutDestroy(plan.d);
      cublasLtMatmulDescDestroy(plan.op);
    }
    cudaFree(workspace_);
    cudaFree(scratch_);
    cublasLtDestroy(handle_);
  }

  // The per-row path's fp32 scratch (kScratchFloats), allocated on first use: only that path needs it.
  float* scratch() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!scratch_) FW_CUDA_CHECK(cudaMalloc(&scratch_, kScratchFloats * sizeof(float)));
    return scratch_;
  }

  void run(const GemmParams& p, cudaStream_t stream) {
    const Plan& plan = plan_for(p);
    // Pointers are per call (plans are shared by every layer of the same shape). cuBLAS's A is our B.
    if (p.epilogue != Epilogue::none)
      FW_CUBLAS_CHECK(
          cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof p.bias));
    if (p.scaling != GemmScaling::none) {
      FW_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                                     &p.b_scale, sizeof p.b_scale));
      FW_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                                                     &p.a_scale, sizeof p.a_scale));
    }
    FW_CUBLAS_CHECK(cublasLtMatmul(handle_, plan.op, &p.alpha, p.b, plan.a, p.a, plan.b, &p.beta, p.d, plan.d,
                                   p.d, plan.d, &plan.algo, workspace_, kWorkspaceBytes, stream));
  }

 private:
  // Row-major D = A.B^T is column-major D^T = B.A^T: cuBLAS's "A" is our B and its "B" is our A.
  const Plan& plan_for(const GemmParams& p) {
    const PlanKey key{p.m,
                      p.n,
                      p.k,
                      p.lda,
                      p.ldb,
                      p.ldd,
                      p.stride_a,
                      p.stride_b,
                      p.stride_d,
                      p.batch,
                      p.b_transposed,
                      static_cast<int>(p.epilogue),
                      static_cast<int>(p.d_type),
                      p.beta != 0.0f,
                      static_cast<int>(p.a_type),
                      static_cast<int>(p.scaling)};
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;

    Plan plan;
    const cudaDataType_t d_type = p.d_type == DType::f32 ? CUDA_R_32F : CUDA_R_16BF;
    FW_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t trans_a = p.b_transposed ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
    FW_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof trans_a));
    FW_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof trans_b));
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (p.epilogue == Epilogue::bias) epi = CUBLASLT_EPILOGUE_BIAS;
    if (p.epilogue == Epilogue::gelu_bias) epi = CUBLASLT_EPILOGUE_GELU_BIAS;
    FW_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (p.epilogue != Epilogue::none) {
      const cudaDataType_t bias_type = d_type;
      FW_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
                                                     sizeof bias_type));
    }
    const cudaDataType_t a_type = cuda_type(p.a_type), b_type = cuda_type(p.b_type);
    if (p.b_transposed) {
      FW_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.a, b_type, p.k, p.n, p.ldb));
    } else {
      FW_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.a, b_type, p.n, p.k, p.ldb));
    }
    FW_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.b, a_type, p.k, p.m, p.lda));
    FW_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.d, d_type, p.n, p.m, p.ldd));
    if (p.batch > 1) {
      auto set_batch = [&](cublasLtMatrixLayout_t l, int64_t stride) {
        FW_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &p.batch,
                                                         sizeof p.batch));
        FW_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                         &stride, sizeof stride));
      };
      set_batch(plan.a, p.stride_b);
      set_batch(plan.b, p.stride_a);
      set_batch(plan.d, p.stride_d);
    }

    cublasLtMatmulPreference_t pref;
    FW_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    FW_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                         &kWorkspaceBytes, sizeof kWorkspaceBytes));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    FW_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, plan.op, plan.a, plan.b, plan.d, plan.d, pref, 1,
                                                   &result, &found));
    cublasLtMatmulPreferenceDestroy(pref);
    FW_CHECK(found > 0, "cuBLASLt has no algorithm for a " + std::to_string(p.m) + "x" + std::to_string(p.n) +
                            "x" + std::to_string(p.k) + " " + std::string(dtype_name(p.a_type)) + " GEMM");
    plan.algo = result.algo;
    return plans_.emplace(key, plan).first->second;
  }

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  float* scratch_ = nullptr;
  std::mutex mu_;
  std::map<PlanKey, Plan> plans_;
};

GemmEngine* new_gemm_engine() {
  return new GemmEngine();
}

void delete_gemm_engine(GemmEngine* engine) {
  delete engine;
}

namespace {

// cuBLASLt 13.0 rejects its outer-vector scale mode (CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F) for FP8 on
// sm_90: the heuristic answers NOT_SUPPORTED for every shape (H100, 2026-12-07). So per-row scales are
// applied by our epilogue: the unscaled FP8 product into the engine's fp32 scratch, a block of rows at a time
// (the FFN's 32,760 x 8,960 product alone would need 1.2 GB), then row_scaled_epilogue. It costs an fp32
// write and read of the product that the per-tensor mode does not pay.
void gemm_per_row(DeviceContext& ctx, const GemmParams& p) {
  GemmEngine& engine = ctx.gemms();
  float* scratch = engine.scratch();
  const int64_t block = std::max<int64_t>(1, std::min<int64_t>(p.m, kScratchFloats / p.n));
  for (int64_t r0 = 0; r0 < p.m; r0 += block) {
    const int64_t rows = std::min(block, p.m - r0);
    GemmParams product = p;
    product.a = static_cast<const uint8_t*>(p.a) + r0 * p.lda;  // e4m3: a byte per element
    product.m = rows;
    product.scaling = GemmScaling::none;  // unit scales
    product.a_scale = product.b_scale = nullptr;
    product.d = scratch;
    product.ldd = p.n;
    product.d_type = DType::f32;
    product.bias = nullptr;
    product.epilogue = Epilogue::none;
    product.alpha = 1.0f;
    product.beta = 0.0f;
    engine.run(product, ctx.stream());
    RowScaledEpilogueParams e;
    e.acc = scratch;
    e.ld_acc = p.n;
    e.row_scale = p.a_scale + r0;
    e.col_scale = p.b_scale;
    e.bias = p.epilogue == Epilogue::none ? nullptr : p.bias;
    e.gelu = p.epilogue == Epilogue::gelu_bias;
    e.d = static_cast<char*>(p.d) + r0 * p.ldd * dtype_size(p.d_type);
    e.ldd = p.ldd;
    e.d_type = p.d_type;
    e.alpha = p.alpha;
    e.beta = p.beta;
    e.rows = rows;
    e.n = p.n;
    row_scaled_epilogue(e, ctx.stream());
  }
}

}  // namespace

void gemm(DeviceContext& ctx, const GemmParams& p) {
  FW_CHECK(p.m > 0 && p.n > 0 && p.k > 0, "gemm: empty shape");
  FW_CHECK(p.epilogue == Epilogue::none || p.bias != nullptr, "gemm: bias epilogue without a bias");
  const bool fp8 = p.a_type == DType::fp8_e4m3;
  FW_CHECK(fp8 == (p.b_type == DType::fp8_e4m3), "gemm: FP8 needs both operands in e4m3");
  FW_CHECK(fp8 == (p.scaling != GemmScaling::none) && (!fp8 || (p.a_scale && p.b_scale)),
           "gemm: FP8 operands need their scales (and bf16 operands none)");
  FW_CHECK(!fp8 || (p.b_transposed && p.batch == 1 && p.k % 16 == 0 && p.lda % 16 == 0 && p.ldb % 16 == 0),
           "gemm: FP8 needs a transposed B, one batch and 16-element aligned K and rows");
  if (p.scaling == GemmScaling::per_row)
    gemm_per_row(ctx, p);
  else
    ctx.gemms().run(p, ctx.stream());
}

}  // namespace fastwan::cuda
