#include "core/tensor.h"
#include "common/test_util.h"
#include "core/check.h"

namespace fastwan {
namespace {

TEST(Tensor, ShapeStridesAndViews) {
  Tensor t = Tensor::from_floats({2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.strides(), (Shape{3, 1}));
  EXPECT_EQ(t.dim(-1), 3);
  EXPECT_TRUE(t.is_contiguous());
  Tensor tr = t.permute({1, 0});
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.item_f32(1), 3.0f);  // [0][1] of the transpose = t[1][0]
  Tensor c = tr.contiguous();
  EXPECT_EQ(c.shape(), (Shape{3, 2}));
  EXPECT_EQ(c.f32()[1], 3.0f);
  Tensor row = t.select(0, 1);
  EXPECT_EQ(row.shape(), (Shape{3}));
  EXPECT_EQ(row.item_f32(2), 5.0f);
  Tensor col = t.slice(1, 1, 3);
  EXPECT_EQ(col.shape(), (Shape{2, 2}));
  EXPECT_EQ(col.item_f32(3), 5.0f);
  EXPECT_EQ(t.reshape({3, -1}).shape(), (Shape{3, 2}));
  // Views share storage.
  t.reshape({6}).f32()[0] = 42.0f;
  EXPECT_EQ(t.f32()[0], 42.0f);
  EXPECT_EQ(t.describe(), "f32[2, 3]");
}

// Large enough that clone splits the rows over the thread pool, with every chunk starting mid-odometer: each
// permute (channels last as the Wan VAE's filters, a leading-axes swap that keeps rows, a sliced view) equals
// the element-by-element read of the view.
TEST(Tensor, CloneOfAPermutedViewEqualsItsElements) {
  const Shape shape = {61, 41, 3, 3, 7};  // 157,563 values: 3 chunks of rows at the pool's grain
  std::vector<float> values(static_cast<size_t>(61 * 41 * 3 * 3 * 7));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  const Tensor t = Tensor::from_floats(shape, values);
  const Tensor views[] = {t.permute({0, 2, 3, 4, 1}), t.permute({1, 0, 2, 3, 4}), t.permute({4, 3, 2, 1, 0}),
                          t.slice(1, 3, 20).permute({2, 0, 1, 3, 4}),
                          t.to(DType::bf16).permute({1, 4, 0, 2, 3})};
  // Rows of two bf16 values (4 bytes) and of one (2 bytes), and of two f32 (8 bytes).
  std::vector<float> pairs(400 * 300 * 2);
  for (size_t i = 0; i < pairs.size(); ++i) pairs[i] = static_cast<float>(i % 251);
  const Tensor p = Tensor::from_floats({400, 300, 2}, pairs);
  const Tensor more[] = {p.to(DType::bf16).permute({1, 0, 2}),
                         p.to(DType::bf16).slice(2, 0, 1).permute({1, 0, 2}), p.permute({1, 0, 2})};
  std::vector<Tensor> all(std::begin(views), std::end(views));
  all.insert(all.end(), std::begin(more), std::end(more));
  for (const Tensor& v : all) {
    ASSERT_FALSE(v.is_contiguous());
    const Tensor c = v.contiguous();
    ASSERT_TRUE(c.is_contiguous());
    ASSERT_EQ(c.shape(), v.shape());
    int64_t wrong = 0;
    for (int64_t i = 0; i < v.numel(); ++i) wrong += c.item_f32(i) != v.item_f32(i);
    EXPECT_EQ(wrong, 0) << v.describe();
  }
}

TEST(Tensor, InvalidViewsThrowInternalErrors) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_THROW(t.reshape({4, 2}), InternalError);
  EXPECT_THROW(t.slice(1, 2, 5), InternalError);
  EXPECT_THROW(t.permute({0, 0}), InternalError);
  EXPECT_THROW(t.permute({1, 0}).reshape({6}), InternalError);
  EXPECT_THROW(t.to(DType::bf16).f32(), InternalError);
}

TEST(Tensor, DtypeConversionRoundsToNearestEven) {
  Tensor t = Tensor::from_floats({3}, {1.0f, 1.00390625f, 3.0f});
  Tensor b = t.to(DType::bf16);
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_EQ(b.item_f32(1), 1.0f);  // halfway: ties to even
  EXPECT_EQ(b.to_f32().f32()[2], 3.0f);
}

}  // namespace
}  // namespace fastwan
