// cuda::Uploader against Tensor::to on the host: every element bit-identical, for each source and device
// dtype, for tensors smaller than, equal to and spanning several staging chunks (so both pinned buffers are
// reused).
#include <cstring>

#include "cuda/upload.h"
#include "cuda/weight_source.h"
#include "gpu/gpu_test_util.h"
#include "io/safetensors.h"

namespace fastwan {
namespace {

TEST(UploaderGpu, ConvertsLikeTheHostAcrossChunks) {
  FW_REQUIRE_GPU();
  cuda::install_device_allocator();
  const size_t chunk = 4096;  // bytes: a few thousand values per chunk
  cuda::Uploader up(nullptr, chunk);
  for (DType from : {DType::f32, DType::f16, DType::bf16}) {
    for (DType to : {DType::bf16, DType::f16, DType::f32}) {
      for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{2048}, int64_t{10007}}) {
        SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)) + ", " +
                     std::to_string(n));
        const Tensor host = test::random_tensor({n}, 7 + n).to(from);
        const Tensor expected = host.to(to);
        Tensor device = test::poisoned({n + 3}, to);  // 3 more: nothing is written past the end
        up.upload(host, device.raw(), to);
        up.finish();
        const Tensor back = cuda::to_host(device);
        EXPECT_EQ(std::memcmp(back.raw(), expected.raw(), expected.nbytes()), 0);
        const auto* tail = static_cast<const unsigned char*>(back.raw()) + expected.nbytes();
        for (size_t i = 0; i < 3 * dtype_size(to); ++i) EXPECT_EQ(tail[i], 0xFF);
      }
    }
  }
}

// Several tensors in flight before one finish(): each lands at its own offset.
TEST(UploaderGpu, ManyUploadsBeforeFinish) {
  FW_REQUIRE_GPU();
  cuda::install_device_allocator();
  cuda::Uploader up(nullptr, 1024);
  std::vector<Tensor> parts;
  for (int i = 0; i < 9; ++i) parts.push_back(test::random_tensor({300 + 97 * i}, i).to(DType::bf16));
  int64_t total = 0;
  for (const auto& p : parts) total += p.numel();
  Tensor device = test::poisoned({total}, DType::bf16);
  int64_t offset = 0;
  for (const auto& p : parts) {
    up.upload(p, static_cast<char*>(device.raw()) + offset * 2, DType::bf16);
    offset += p.numel();
  }
  up.finish();
  const Tensor back = cuda::to_host(device);
  offset = 0;
  for (const auto& p : parts) {
    EXPECT_EQ(std::memcmp(static_cast<const char*>(back.raw()) + offset * 2, p.raw(), p.nbytes()), 0);
    offset += p.numel();
  }
}

// CheckpointSource queues every copy on the caller's stream and waits for none: weights staged one after the
// other in its reused buffer (growing, then smaller) are each copied out by work queued on that stream right
// after get_staged(), as a quantizing linear does, and every copy holds its own weight; kept tensors (get)
// and stacked names land whole. The stream does other work between, so nothing is complete before finish().
TEST(CheckpointSourceGpu, StagedWeightsAreReadInStreamOrder) {
  FW_REQUIRE_GPU();
  cuda::install_device_allocator();
  test::TempDir dir;
  std::map<std::string, Tensor> tensors;
  const std::vector<int64_t> rows = {64, 4096, 512, 8192, 8, 3000};
  for (size_t i = 0; i < rows.size(); ++i) {
    tensors["w" + std::to_string(i)] = test::random_tensor({rows[i], 96}, 40 + i).to(DType::bf16);
    tensors["b" + std::to_string(i)] = test::random_tensor({rows[i]}, 80 + i);  // f32: converted on the way
  }
  for (const char* n : {"q", "k", "v"}) tensors[n] = test::random_tensor({32, 96}, n[0]).to(DType::bf16);
  const std::string file = dir.file("weights.safetensors");
  ASSERT_OK(write_safetensors(file, tensors));
  ASSERT_OK_AND_ASSIGN(WeightStore store, WeightStore::open(file));
  auto ctx = cuda::DeviceContext::create();
  const cudaStream_t stream = ctx->stream();
  std::vector<Tensor> copies, biases;
  Tensor stacked, stacked_copy;
  {
    cuda::CheckpointSource src(store, stream);
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::string n = std::to_string(i);
      ASSERT_OK_AND_ASSIGN(Tensor staged, src.get_staged("w" + n, {rows[i], 96}));
      Tensor copy = test::poisoned({rows[i], 96}, DType::bf16);
      ASSERT_EQ(cudaMemcpyAsync(copy.raw(), staged.raw(), staged.nbytes(), cudaMemcpyDeviceToDevice, stream),
                cudaSuccess);
      copies.push_back(copy);
      ASSERT_OK_AND_ASSIGN(Tensor bias, src.get("b" + n, {rows[i]}));
      biases.push_back(bias);
    }
    ASSERT_OK_AND_ASSIGN(stacked, src.get_staged({"q", "k", "v"}, {32, 96}));
    stacked_copy = test::poisoned({96, 96}, DType::bf16);
    ASSERT_EQ(cudaMemcpyAsync(stacked_copy.raw(), stacked.raw(), stacked.nbytes(), cudaMemcpyDeviceToDevice,
                              stream),
              cudaSuccess);
    EXPECT_FALSE(src.get_staged("w0", {64, 95}).ok());  // a wrong shape is an error, not a copy
    src.finish();
  }
  const Tensor qkv = cuda::to_host(stacked_copy, stream);
  for (int i = 0; i < 3; ++i) {
    const Tensor& part = tensors[std::string(1, "qkv"[i])];
    EXPECT_EQ(std::memcmp(static_cast<const char*>(qkv.raw()) + i * part.nbytes(), part.raw(), part.nbytes()),
              0)
        << "qkv"[i];
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string n = std::to_string(i);
    const Tensor w = cuda::to_host(copies[i], stream), b = cuda::to_host(biases[i], stream);
    EXPECT_EQ(std::memcmp(w.raw(), tensors["w" + n].raw(), w.nbytes()), 0) << "w" << n;
    const Tensor expected_b = tensors["b" + n].to(DType::bf16);
    EXPECT_EQ(std::memcmp(b.raw(), expected_b.raw(), b.nbytes()), 0) << "b" << n;
  }
}

// A size that cannot fit is one plain line naming the bytes asked for and the GPU's free and total memory,
// and the device stays usable after it.
TEST(DeviceMemoryGpu, TooLargeAnAllocationNamesFreeAndNeededMemory) {
  FW_REQUIRE_GPU();
  cuda::install_device_allocator();
  const int64_t elements = int64_t{1} << 50;  // 2 PB of bf16
  try {
    Tensor t = Tensor::empty({elements}, DType::bf16, Device::cuda);
    FAIL() << "a 2 PB allocation succeeded";
  } catch (const cuda::DeviceMemoryError& e) {
    const std::string m = e.what();
    std::printf("%s\n", m.c_str());
    EXPECT_EQ(m.rfind("GPU memory: 2251799.81 GB more are needed, ", 0), 0u) << m;
    EXPECT_NE(m.find(" are free of "), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
  Tensor small = test::poisoned({1024}, DType::bf16);  // still usable
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace
}  // namespace fastwan
