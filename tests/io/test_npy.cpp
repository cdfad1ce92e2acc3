#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"
#include "support/skip.hpp"

using namespace lemmse;

namespace {
void write_bytes(const std::string& path, const std::vector<std::uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
// A hand-made .npy (as numpy writes it) with the given dtype/shape text and raw payload.
std::vector<std::uint8_t> make_npy(const std::string& descr, const std::string& shape, const std::vector<std::uint8_t>& payload) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  const std::string magic = "\x93NUMPY\x01";
  std::vector<std::uint8_t> b(magic.begin(), magic.end());
  b.push_back(0);
  b.push_back(std::uint8_t(h.size() & 255));
  b.push_back(std::uint8_t(h.size() >> 8));
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
}  // namespace

TEST_CASE("npy float64 and int64 round-trip exactly", "[io][npy]") {
  const std::string dir = lemmse_test::temp_dir("npy");
  std::vector<double> v = {0.0, -1.5, 1e-300, 3.141592653589793, INFINITY, -0.0};
  write_npy_f64(dir + "/a.npy", {2, 3}, v);
  NpyArray a = read_npy(dir + "/a.npy");
  CHECK(a.type == NpyType::f64);
  CHECK(a.shape == std::vector<std::size_t>{2, 3});
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(std::memcmp(&a.values[i], &v[i], 8) == 0);

  std::vector<std::int64_t> iv = {0, -7, 1ll << 52, 42};
  write_npy_i64(dir + "/i.npy", {4}, iv);
  NpyArray b = read_npy(dir + "/i.npy");
  CHECK(b.type == NpyType::i64);
  CHECK(b.shape == std::vector<std::size_t>{4});
  for (std::size_t i = 0; i < iv.size(); ++i) CHECK(b.values[i] == double(iv[i]));

  write_npy_f64(dir + "/s.npy", {}, {2.5});  // 0-d array
  CHECK(read_npy(dir + "/s.npy").values == std::vector<double>{2.5});
}

TEST_CASE("npy uint8 and float32 images in NCHW and NHWC", "[io][npy]") {
  // 1 image, 2×2, 3 channels, NHWC uint8: pixel p channel c = 10p + c
  std::vector<std::uint8_t> nhwc;
  for (int p = 0; p < 4; ++p)
    for (int c = 0; c < 3; ++c) nhwc.push_back(std::uint8_t(10 * p + c));
  Images im = npy_to_images(parse_npy(make_npy("|u1", "(1, 2, 2, 3)", nhwc), "t"), "t");
  REQUIRE(im.shape == (ImageShape{3, 2, 2}));
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 4; ++p) CHECK(im.data[c * 4 + p] == (10 * p + c) / 255.0);

  std::vector<float> f = {0.25f, 0.5f, 0.75f, 1.0f};
  std::vector<std::uint8_t> raw(16);
  std::memcpy(raw.data(), f.data(), 16);
  Images g = npy_to_images(parse_npy(make_npy("<f4", "(1, 1, 2, 2)", raw), "t"), "t");
  REQUIRE(g.shape == (ImageShape{1, 2, 2}));
  CHECK(g.data == std::vector<double>{0.25, 0.5, 0.75, 1.0});
}

TEST_CASE("npy rejects malformed files with clear errors", "[io][npy][errors]") {
  CHECK_THROWS_AS(parse_npy({1, 2, 3}, "x"), FormatError);
  CHECK_THROWS_WITH(parse_npy(std::vector<std::uint8_t>(20, 'A'), "x"), Catch::Contains("bad magic"));
  auto good = make_npy("<f8", "(4,)", std::vector<std::uint8_t>(32, 0));
  auto truncated = good;
  truncated.resize(truncated.size() - 8);
  CHECK_THROWS_WITH(parse_npy(truncated, "x"), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(parse_npy(make_npy(">f8", "(4,)", std::vector<std::uint8_t>(32, 0)), "x"), Catch::Contains("unsupported .npy dtype"));
  CHECK_THROWS_WITH(parse_npy(make_npy("<c16", "(1,)", std::vector<std::uint8_t>(16, 0)), "x"), Catch::Contains("unsupported"));
  auto header_cut = good;
  header_cut.resize(30);
  CHECK_THROWS_AS(parse_npy(header_cut, "x"), FormatError);
  std::string fortran = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }";
  auto fo = make_npy("<f8", "(2, 2)", std::vector<std::uint8_t>(32, 0));
  std::string s(fo.begin(), fo.end());
  s.replace(s.find("False"), 5, "True ");
  CHECK_THROWS_WITH(parse_npy(std::vector<std::uint8_t>(s.begin(), s.end()), "x"), Catch::Contains("Fortran"));
  CHECK_THROWS_AS(read_npy("/nonexistent/file.npy"), IoError);
  // 5-D is not an image batch; NaN images are rejected
  CHECK_THROWS_AS(npy_to_images(parse_npy(make_npy("<f8", "(1, 1, 1, 1, 1)", std::vector<std::uint8_t>(8, 0)), "x"), "x"), InvalidArgument);
  std::vector<std::uint8_t> nan(8);
  const double q = NAN;
  std::memcpy(nan.data(), &q, 8);
  CHECK_THROWS_WITH(npy_to_images(parse_npy(make_npy("<f8", "(1, 1)", nan), "x"), "x"), Catch::Contains("non-finite"));
}
