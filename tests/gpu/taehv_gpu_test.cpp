// The GPU TAEHV decoder against the CPU reference: the golden case, and a real 480 x 832 frame size (two
// latent frames -> five frames), in both schedules, plus the uint8 path against the host conversion.
#include <vector>

#include "gpu/gpu_test_util.h"
#include "models/taehv/cuda/taehv_cuda.h"
#include "models/taehv/parameters.h"
#include "ops/ops.h"
#include "verify/cuda/cuda_verifiers.h"
#include "video/rgb.h"

namespace fastwan {
namespace {

TEST(TaehvGpu, GoldenCase) {
  FW_REQUIRE_GPU();
  ASSERT_OK_AND_ASSIGN(auto gc, GoldenCase::load(test::golden_case("taehv_taew2_1")));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, verify_taehv_cuda(gc, {}));
  std::printf("%s", report.table().c_str());
  EXPECT_TRUE(report.passed()) << report.first_failure();
}

TEST(TaehvGpu, RealFrameSizeMatchesCpuInBothSchedules) {
  FW_REQUIRE_GPU();
  ASSERT_OK_AND_ASSIGN(TaehvDecoder cpu,
                       TaehvDecoder::load(test::golden_case("taehv_taew2_1") + "/taew2_1.safetensors"));
  ASSERT_OK_AND_ASSIGN(cuda::TaehvDecoderCuda gpu, cuda::TaehvDecoderCuda::create(cpu, test::new_context()));
  const Tensor latents = test::random_tensor({1, 16, 2, 60, 104}, 3);
  const Tensor ref = test::decode_all(cpu, latents);
  ASSERT_EQ(ref.shape(), (Shape{5, 3, 480, 832}));
  for (int chunk : {0, 1}) {
    gpu.set_chunk(chunk);
    const Tensor got = test::decode_all(gpu, latents);
    ASSERT_EQ(got.shape(), ref.shape());
    const auto d = ops::compare(got, ref);
    std::printf("TAEHV 480x832, chunk %d: max abs %.3e, rel L2 %.3e\n", chunk, d.max_abs, d.rel_l2);
    EXPECT_FALSE(d.has_nan);
    EXPECT_LT(d.max_abs, 2e-2);
  }
  // The uint8 frames (converted on the GPU) against the host conversion of the CPU frames.
  gpu.set_chunk(1);
  std::vector<uint8_t> got8;
  ASSERT_OK(gpu.decode_rgb8(latents, [&](const uint8_t* rgb) {
    got8.insert(got8.end(), rgb, rgb + 480 * 832 * 3);
    return Status::Ok();
  }));
  ASSERT_EQ(got8.size(), size_t{5} * 480 * 832 * 3);
  std::vector<uint8_t> frame;
  int64_t off_by_more_than_3 = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(frame_to_rgb8(ref.select(0, i).contiguous(), frame));
    for (size_t j = 0; j < frame.size(); ++j)
      off_by_more_than_3 += std::abs(int(frame[j]) - int(got8[i * frame.size() + j])) > 3;
  }
  EXPECT_LT(off_by_more_than_3, static_cast<int64_t>(got8.size() / 1000));
}

// The warm-up (one chunk of zeros, run beside the DiT's loop) leaves nothing behind that a decode sees: the
// frames after it are those of a decoder that never warmed up, byte for byte.
TEST(TaehvGpu, WarmUpChangesNoFrame) {
  FW_REQUIRE_GPU();
  ASSERT_OK_AND_ASSIGN(TaehvDecoder cpu,
                       TaehvDecoder::load(test::golden_case("taehv_taew2_1") + "/taew2_1.safetensors"));
  const Tensor latents = test::random_tensor({1, 16, 5, 12, 20}, 9);
  auto frames = [&](bool warm) -> std::vector<uint8_t> {
    auto gpu = cuda::TaehvDecoderCuda::create(cpu, test::new_context());
    EXPECT_TRUE(gpu.ok());
    gpu->set_chunk(2);  // chunks of 2, 2 and 1: the warm-up's chunk is not the last one's size
    if (warm) EXPECT_TRUE(gpu->warm_up(latents.shape()).ok());
    std::vector<uint8_t> out;
    EXPECT_TRUE(gpu->decode_rgb8(latents,
                                 [&](const uint8_t* rgb) {
                                   out.insert(out.end(), rgb, rgb + 96 * 160 * 3);
                                   return Status::Ok();
                                 })
                    .ok());
    return out;
  };
  const std::vector<uint8_t> cold = frames(false), warm = frames(true);
  ASSERT_EQ(cold.size(), size_t{17} * 96 * 160 * 3);
  EXPECT_TRUE(cold == warm);
  ASSERT_OK_AND_ASSIGN(auto gpu, cuda::TaehvDecoderCuda::create(cpu, test::new_context()));
  EXPECT_FALSE(gpu.warm_up({1, 16, 5}).ok());  // not a latent shape
}

}  // namespace
}  // namespace fastwan
