#include <catch2/catch.hpp>
#include <fstream>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"
#include "support/skip.hpp"

using namespace lemmse;

TEST_CASE("CIFAR-10 records decode to planar RGB", "[io][cifar]") {
  std::vector<std::uint8_t> b;
  for (int r = 0; r < 2; ++r) {
    b.push_back(std::uint8_t(7 - r));
    for (int k = 0; k < 3072; ++k) b.push_back(std::uint8_t((k + r) % 256));
  }
  LabelledImages li = parse_cifar_batch(b, "x");
  REQUIRE(li.images.n == 2);
  CHECK(li.labels == std::vector<int>{7, 6});
  CHECK(li.images.shape == (ImageShape{3, 32, 32}));
  CHECK(li.images.image(1)[1024] == ((1024 + 1) % 256) / 255.0);  // G plane, first pixel
}

TEST_CASE("CIFAR-10 rejects truncated batches and bad labels", "[io][cifar][errors]") {
  std::vector<std::uint8_t> b(3073 * 2 - 5, 0);
  CHECK_THROWS_WITH(parse_cifar_batch(b, "x"), Catch::Contains("not a multiple"));
  std::vector<std::uint8_t> c(3073, 0);
  c[0] = 12;
  CHECK_THROWS_WITH(parse_cifar_batch(c, "x"), Catch::Contains("label 12"));
  CHECK_THROWS_AS(parse_cifar_batch({}, "x"), FormatError);
}

TEST_CASE("CIFAR-10 real batches from LEMMSE_DATA_DIR", "[io][cifar][real]") {
  const std::string dir = lemmse_test::data_dir();
  if (dir.empty()) LEMMSE_SKIP("LEMMSE_DATA_DIR is not set");
  LabelledImages test = read_cifar_batch(dir + "/cifar-10/test_batch.bin.gz");
  REQUIRE(test.images.n == 10000);
  CHECK(std::vector<int>(test.labels.begin(), test.labels.begin() + 10) == std::vector<int>{3, 8, 8, 0, 6, 6, 1, 6, 3, 1});
  std::vector<int> per_class(10, 0);
  for (int l : test.labels) ++per_class[l];
  CHECK(per_class == std::vector<int>(10, 1000));
  LabelledImages train = read_cifar_batch(dir + "/cifar-10/train_first4000.bin.gz");
  REQUIRE(train.images.n == 4000);
  CHECK(std::vector<int>(train.labels.begin(), train.labels.begin() + 10) == std::vector<int>{6, 9, 9, 4, 1, 1, 2, 7, 8, 3});
}
