// GGUF: every block layout decoded against values packed here from the format's description (not from the
// decoder), and tensors read through a WeightStore. Corrupt files: fuzz/gguf_mutation_test.cpp.
#include <cstring>
#include <functional>

#include "common/test_util.h"
#include "core/random.h"
#include "fuzz/gguf_files.h"
#include "io/gguf.h"

namespace fastwan {
namespace {

using test::TempDir;

// A block under construction and the values it must decode to.
struct Block {
  std::string bytes;
  std::vector<float> expected;
};

void put_half(std::string& b, size_t at, float v) {
  const uint16_t h = float_to_f16(v);
  std::memcpy(&b[at], &h, 2);
}

// Small random numbers in [0, n).
struct Draw {
  SplitMix64 rng{42};
  int operator()(int n) { return static_cast<int>(rng.next() % static_cast<uint64_t>(n)); }
};

// Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0: one scale d (and a minimum m), 32 values.
Block legacy_block(uint32_t type, Draw& draw) {
  const float d = 0.5f + static_cast<float>(draw(8)) / 16, m = -1.25f;
  const bool has_min = type == 3 || type == 7, five = type == 6 || type == 7;
  std::vector<int> q(32);
  Block b;
  if (type == 8) {
    b.bytes.assign(34, '\0');
    put_half(b.bytes, 0, d);
    for (int j = 0; j < 32; ++j) {
      const int v = draw(256) - 128;
      b.bytes[2 + j] = static_cast<char>(v);
      b.expected.push_back(d * static_cast<float>(v));
    }
    return b;
  }
  const size_t header = has_min ? 4 : 2, qh_at = header, qs_at = header + (five ? 4 : 0);
  b.bytes.assign(qs_at + 16, '\0');
  put_half(b.bytes, 0, d);
  if (has_min) put_half(b.bytes, 2, m);
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) {
    q[j] = draw(five ? 32 : 16);
    if (five) qh |= static_cast<uint32_t>(q[j] >> 4) << j;
  }
  if (five) std::memcpy(&b.bytes[qh_at], &qh, 4);
  for (int j = 0; j < 16; ++j) b.bytes[qs_at + j] = static_cast<char>((q[j] & 15) | (q[j + 16] & 15) << 4);
  const int offset = has_min ? 0 : (five ? 16 : 8);
  for (int j = 0; j < 32; ++j)
    b.expected.push_back(d * static_cast<float>(q[j] - offset) + (has_min ? m : 0.0f));
  return b;
}

// Q4_K / Q5_K: d, dmin, eight 6-bit (scale, min) pairs packed in 12 bytes, 32 values per sub-block.
Block k4_k5_block(bool five, Draw& draw) {
  const float d = 0.03125f, dmin = 0.0625f;
  Block b;
  b.bytes.assign(five ? 176 : 144, '\0');
  put_half(b.bytes, 0, d);
  put_half(b.bytes, 2, dmin);
  int sc[8], mn[8];
  for (int j = 0; j < 8; ++j) sc[j] = draw(64), mn[j] = draw(64);
  auto* scales = reinterpret_cast<uint8_t*>(&b.bytes[4]);
  for (int j = 0; j < 4; ++j) {
    scales[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    scales[j + 4] = static_cast<uint8_t>(mn[j] | (mn[j + 4] >> 4) << 6);
    scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
  }
  auto* qh = reinterpret_cast<uint8_t*>(&b.bytes[16]);
  auto* qs = reinterpret_cast<uint8_t*>(&b.bytes[five ? 48 : 16]);
  b.expected.resize(256);
  for (int i = 0; i < 256; ++i) {
    const int q = draw(five ? 32 : 16), sub = i / 32, pair = i / 64, l = i % 32, high = sub % 2;
    qs[pair * 32 + l] |= static_cast<uint8_t>((q & 15) << (4 * high));
    if (five && q >= 16) qh[l] |= static_cast<uint8_t>(1 << sub);
    b.expected[i] = d * static_cast<float>(sc[sub] * q) - dmin * static_cast<float>(mn[sub]);
  }
  return b;
}

// Q6_K: 6-bit values (4 low bits in ql, 2 high in qh), sixteen int8 scales, d last.
Block q6_k_block(Draw& draw) {
  const float d = 0.015625f;
  Block b;
  b.bytes.assign(210, '\0');
  put_half(b.bytes, 208, d);
  auto* ql = reinterpret_cast<uint8_t*>(&b.bytes[0]);
  auto* qh = reinterpret_cast<uint8_t*>(&b.bytes[128]);
  auto* sc = reinterpret_cast<int8_t*>(&b.bytes[192]);
  for (int j = 0; j < 16; ++j) sc[j] = static_cast<int8_t>(draw(256) - 128);
  b.expected.resize(256);
  for (int i = 0; i < 256; ++i) {
    const int q = draw(64), half = i / 128, r = i % 128, l = r % 32, quarter = r / 32;
    ql[half * 64 + l + 32 * (quarter % 2)] |= static_cast<uint8_t>((q & 15) << (4 * (quarter / 2)));
    qh[half * 32 + l] |= static_cast<uint8_t>((q >> 4) << (2 * quarter));
    b.expected[i] = d * static_cast<float>(sc[half * 8 + r / 16] * (q - 32));
  }
  return b;
}

// Q2_K: 2-bit values, sixteen (scale, min) nibble pairs, d and dmin last.
Block q2_k_block(Draw& draw) {
  const float d = 0.125f, dmin = 0.25f;
  Block b;
  b.bytes.assign(84, '\0');
  put_half(b.bytes, 80, d);
  put_half(b.bytes, 82, dmin);
  auto* scales = reinterpret_cast<uint8_t*>(&b.bytes[0]);
  auto* qs = reinterpret_cast<uint8_t*>(&b.bytes[16]);
  for (int j = 0; j < 16; ++j) scales[j] = static_cast<uint8_t>(draw(256));
  b.expected.resize(256);
  for (int i = 0; i < 256; ++i) {
    const int q = draw(4), half = i / 128, r = i % 128, shift = r / 32, m = r % 32;
    qs[half * 32 + m] |= static_cast<uint8_t>(q << (2 * shift));
    const uint8_t s = scales[half * 8 + 2 * shift + m / 16];
    b.expected[i] = d * static_cast<float>((s & 15) * q) - dmin * static_cast<float>(s >> 4);
  }
  return b;
}

// Q3_K: 3-bit values (2 low bits in qs, the third in hmask), sixteen 6-bit scales stored + 32, d last.
Block q3_k_block(Draw& draw) {
  const float d = 0.0625f;
  Block b;
  b.bytes.assign(110, '\0');
  put_half(b.bytes, 108, d);
  auto* hmask = reinterpret_cast<uint8_t*>(&b.bytes[0]);
  auto* qs = reinterpret_cast<uint8_t*>(&b.bytes[32]);
  auto* scales = reinterpret_cast<uint8_t*>(&b.bytes[96]);
  int sc[16];
  for (int j = 0; j < 16; ++j) {
    sc[j] = draw(64);
    scales[j % 8] |= static_cast<uint8_t>((sc[j] & 15) << (j < 8 ? 0 : 4));
    scales[8 + j % 4] |= static_cast<uint8_t>((sc[j] >> 4) << (2 * (j / 4)));
  }
  b.expected.resize(256);
  for (int i = 0; i < 256; ++i) {
    const int q = draw(8), half = i / 128, r = i % 128, shift = r / 32, m = r % 32;
    qs[half * 32 + m] |= static_cast<uint8_t>((q & 3) << (2 * shift));
    if (q & 4) hmask[i % 32] |= static_cast<uint8_t>(1 << (i / 32));
    b.expected[i] = d * static_cast<float>((sc[half * 8 + 2 * shift + m / 16] - 32) * (q - 4));
  }
  return b;
}

TEST(Gguf, EveryBlockLayoutDecodesToItsValues) {
  Draw draw;
  const std::vector<std::pair<uint32_t, std::function<Block()>>> cases = {
      {2, [&] { return legacy_block(2, draw); }},    {3, [&] { return legacy_block(3, draw); }},
      {6, [&] { return legacy_block(6, draw); }},    {7, [&] { return legacy_block(7, draw); }},
      {8, [&] { return legacy_block(8, draw); }},    {10, [&] { return q2_k_block(draw); }},
      {11, [&] { return q3_k_block(draw); }},        {12, [&] { return k4_k5_block(false, draw); }},
      {13, [&] { return k4_k5_block(true, draw); }}, {14, [&] { return q6_k_block(draw); }},
  };
  for (const auto& [id, make] : cases) {
    const GgmlType* type = ggml_type(id);
    ASSERT_NE(type, nullptr) << id;
    SCOPED_TRACE(type->name);
    for (int rep = 0; rep < 4; ++rep) {
      const Block b = make();
      ASSERT_EQ(static_cast<int64_t>(b.bytes.size()), type->block_bytes);
      std::vector<float> got(static_cast<size_t>(type->block_elems));
      type->dequantize(reinterpret_cast<const uint8_t*>(b.bytes.data()), got.data());
      for (size_t i = 0; i < got.size(); ++i) ASSERT_FLOAT_EQ(got[i], b.expected[i]) << "value " << i;
    }
  }
  EXPECT_EQ(ggml_type(99), nullptr);
}

TEST(Gguf, TensorsComeThroughAWeightStore) {
  TempDir dir;
  Draw draw;
  const Block q8 = legacy_block(8, draw), q4k = k4_k5_block(false, draw);
  std::string f32(4 * 6, '\0');
  for (int i = 0; i < 6; ++i) {
    const float v = static_cast<float>(i) - 2.5f;
    std::memcpy(&f32[4 * i], &v, 4);
  }
  test::write_file(dir.file("m.gguf"), test::gguf_image({{"plain", 0, {2, 3}, f32},
                                                         {"q8", 8, {1, 32}, q8.bytes},
                                                         {"q4k", 12, {256}, q4k.bytes}},
                                                        {{"general.architecture", "wan"}}));
  ASSERT_OK_AND_ASSIGN(auto store, WeightStore::open(dir.file("m.gguf")));
  EXPECT_EQ(store.layout(), "GGUF");
  ASSERT_OK_AND_ASSIGN(Tensor plain, store.get("plain", {2, 3}));
  EXPECT_EQ(plain.dtype(), DType::f32);
  EXPECT_EQ(plain.item_f32(5), 2.5f);
  ASSERT_OK_AND_ASSIGN(Tensor q, store.get("q8", {1, 32}));
  EXPECT_EQ(q.dtype(), DType::bf16);  // quantized types come as bf16, the weights' working type
  for (int i = 0; i < 32; ++i) EXPECT_EQ(q.item_f32(i), round_to_bf16(q8.expected[static_cast<size_t>(i)]));
  ASSERT_OK_AND_ASSIGN(Tensor k, store.get("q4k", {256}));
  for (int i = 0; i < 256; ++i) EXPECT_EQ(k.item_f32(i), round_to_bf16(q4k.expected[static_cast<size_t>(i)]));
  ASSERT_OK_AND_ASSIGN(auto file, GgufFile::open(dir.file("m.gguf")));
  EXPECT_EQ(file->header().metadata.at("general.architecture"), "wan");
}

}  // namespace
}  // namespace fastwan
