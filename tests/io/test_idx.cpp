#include <zlib.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"
#include "support/skip.hpp"

using namespace lemmse;

namespace {
std::vector<std::uint8_t> idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> b = {0, 0, 8, 3};
  for (std::uint32_t v : {n, h, w})
    for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(v >> s));
  for (std::uint32_t i = 0; i < n * h * w; ++i) b.push_back(std::uint8_t(i * 37 + 11));
  return b;
}
void write_gz(const std::string& path, const std::vector<std::uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, b.data(), unsigned(b.size()));
  gzclose(f);
}
}  // namespace

TEST_CASE("IDX images round-trip, plain and gzipped", "[io][idx]") {
  const std::string dir = lemmse_test::temp_dir("idx");
  const auto bytes = idx_images(3, 4, 5);
  {
    std::ofstream f(dir + "/plain", std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  write_gz(dir + "/packed.gz", bytes);
  for (const std::string name : {"/plain", "/packed.gz"}) {
    Images im = read_idx_images(dir + name);
    REQUIRE(im.n == 3);
    REQUIRE(im.shape == (ImageShape{1, 4, 5}));
    for (std::size_t i = 0; i < im.data.size(); ++i) CHECK(im.data[i] == std::uint8_t(i * 37 + 11) / 255.0);
  }
}

TEST_CASE("IDX rejects wrong magic, truncation and corrupt gzip", "[io][idx][errors]") {
  auto b = idx_images(2, 3, 3);
  auto bad = b;
  bad[3] = 1;  // label magic
  CHECK_THROWS_WITH(parse_idx_images(bad, "x"), Catch::Contains("bad IDX magic"));
  auto cut = b;
  cut.resize(cut.size() - 1);
  CHECK_THROWS_WITH(parse_idx_images(cut, "x"), Catch::Contains("truncated"));
  CHECK_THROWS_AS(parse_idx_images({0, 0, 8}, "x"), FormatError);
  const std::string dir = lemmse_test::temp_dir("idxgz");
  write_gz(dir + "/t.gz", b);
  auto gz = read_file_bytes(dir + "/t.gz");
  gz.resize(gz.size() / 2);
  CHECK_THROWS_WITH(gunzip(gz, "x"), Catch::Contains("truncated"));
}

TEST_CASE("FashionMNIST from Debian's dataset-fashion-mnist", "[io][idx][real]") {
  const std::string dir = lemmse_test::fashion_mnist_dir();
  if (dir.empty()) LEMMSE_SKIP("dataset-fashion-mnist is not installed");
  Images train = read_idx_images(dir + "/train-images-idx3-ubyte.gz");
  Images test = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz");
  CHECK(train.n == 60000);
  CHECK(test.n == 10000);
  CHECK(train.shape == (ImageShape{1, 28, 28}));
  const auto labels = read_idx_labels(dir + "/train-labels-idx1-ubyte.gz");
  REQUIRE(labels.size() == 60000);
  // The upstream files: first training labels are ankle boot (9), t-shirt (0), t-shirt (0), dress (3).
  CHECK(std::vector<int>(labels.begin(), labels.begin() + 4) == std::vector<int>{9, 0, 0, 3});
  double lo = 1, hi = 0;
  for (double v : train.data) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo == 0.0);
  CHECK(hi == 1.0);
}
