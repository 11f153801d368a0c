// Scaled-FP8 files: both generations of ComfyUI's format multiply out to bf16 (per tensor and per row), the
// scales, input scales, markers and format records go, and formats other than FP8 are refused by name.
#include "io/scaled_fp8.h"
#include <cstring>

#include "common/test_util.h"

namespace fastwan {
namespace {

using test::TempDir;

// FP8 values that are exact in e4m3 and e5m2: 0, ±0.5, ±1, ±1.5, 2.
Tensor fp8_weight(DType dtype) {
  return Tensor::from_floats({3, 2}, {0.0f, 0.5f, -1.0f, 1.5f, 2.0f, -0.5f}).to(dtype);
}

Tensor json_bytes(const std::string& text) {
  Tensor t = Tensor::empty({static_cast<int64_t>(text.size())}, DType::u8);
  std::memcpy(t.raw(), text.data(), text.size());
  return t;
}

Expected<WeightStore> store_of(const TempDir& dir, const std::map<std::string, Tensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {}) {
  FW_RETURN_IF_ERROR(write_safetensors(dir.file("f.safetensors"), tensors, metadata));
  return WeightStore::open(dir.file("f.safetensors"));
}

TEST(ScaledFp8, MarkerAndScaleWeightMultiplyOut) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, store_of(dir, {{"scaled_fp8", Tensor::zeros({2}).to(DType::fp8_e4m3)},
                                                  {"lin.weight", fp8_weight(DType::fp8_e4m3)},
                                                  {"lin.scale_weight", Tensor::from_floats({}, {0.25f})},
                                                  {"lin.scale_input", Tensor::from_floats({}, {1.0f})},
                                                  {"lin.bias", Tensor::zeros({3}).to(DType::bf16)}}));
  ASSERT_OK_AND_ASSIGN(std::string what, dequantize_scaled_fp8(store));
  EXPECT_EQ(what, "scaled FP8 (fp8_e4m3), 1 layers");
  EXPECT_EQ(store.names(), (std::vector<std::string>{"lin.bias", "lin.weight"}));
  ASSERT_OK_AND_ASSIGN(Tensor w, store.get("lin.weight", {3, 2}));
  EXPECT_EQ(w.dtype(), DType::bf16);
  const float expected[] = {0.0f, 0.125f, -0.25f, 0.375f, 0.5f, -0.125f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(w.item_f32(i), expected[i]);
}

TEST(ScaledFp8, NewerNamesWithFormatRecordsAndPerRowScales) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(
      auto store, store_of(dir,
                           {{"a.weight", fp8_weight(DType::fp8_e4m3)},
                            {"a.weight_scale", Tensor::from_floats({3}, {1.0f, 2.0f, 4.0f})},
                            {"a.input_scale", Tensor::from_floats({}, {1.0f})},
                            {"a.comfy_quant", json_bytes(R"({"format": "float8_e4m3fn"})")},
                            {"b.weight", fp8_weight(DType::fp8_e5m2)},
                            {"b.weight_scale", Tensor::from_floats({}, {2.0f})}},
                           {{"_quantization_metadata",
                             R"({"format_version": "1.0", "layers": {"b": {"format": "float8_e5m2"}}})"}}));
  ASSERT_OK_AND_ASSIGN(std::string what, dequantize_scaled_fp8(store));
  EXPECT_EQ(what, "scaled FP8 (fp8_e5m2), 2 layers");
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a.weight", "b.weight"}));
  ASSERT_OK_AND_ASSIGN(Tensor a, store.get("a.weight", {3, 2}));
  const float row_scaled[] = {0.0f, 0.5f, -2.0f, 3.0f, 8.0f, -2.0f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.item_f32(i), row_scaled[i]);
  ASSERT_OK_AND_ASSIGN(Tensor b, store.get("b.weight", {3, 2}));
  EXPECT_EQ(b.item_f32(4), 4.0f);
}

TEST(ScaledFp8, OtherFormatsAndMisfitScalesAreOneLineErrors) {
  TempDir dir;
  auto error_of = [&](const std::map<std::string, Tensor>& tensors) {
    auto store = store_of(dir, tensors);
    EXPECT_TRUE(store.ok());
    auto r = dequantize_scaled_fp8(*store);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message();
  };
  EXPECT_NE(error_of({{"a.weight", fp8_weight(DType::fp8_e4m3)},
                      {"a.weight_scale", Tensor::from_floats({}, {1.0f})},
                      {"a.comfy_quant", json_bytes(R"({"format": "nvfp4"})")}})
                .find("layer 'a' in " + dir.file("f.safetensors") +
                      ": quantization format 'nvfp4' is not supported"),
            std::string::npos);
  EXPECT_NE(error_of({{"a.weight", Tensor::zeros({3, 2}).to(DType::bf16)},
                      {"a.scale_weight", Tensor::from_floats({}, {1.0f})}})
                .find("its weight is bf16 (expected an FP8 weight)"),
            std::string::npos);
  EXPECT_NE(error_of({{"a.weight", fp8_weight(DType::fp8_e4m3)}, {"a.scale_weight", Tensor::zeros({2})}})
                .find("a.scale_weight is f32[2], expected one float or one per row"),
            std::string::npos);
  EXPECT_NE(error_of({{"a.weight", fp8_weight(DType::fp8_e4m3)},
                      {"a.scale_weight", Tensor::from_floats({}, {1.0f})},
                      {"a.comfy_quant", json_bytes("{not json")}})
                .find("not valid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace fastwan
