#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <vector>

#include "lemmse/datasets.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"
#include "support/skip.hpp"

using namespace lemmse;

TEST_CASE("training selection by count and by index file", "[data][select]") {
  const std::string dir = lemmse_test::temp_dir("select");
  // a pool of 6 grey 3×3 images, image i filled with value i/10
  std::vector<double> pool(6 * 9);
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = double(i / 9) / 10;
  write_npy_f64(dir + "/pool.npy", {6, 1, 3, 3}, pool);
  DatasetSpec d;
  d.kind = DatasetKind::npy;
  d.data_dir = dir + "/pool.npy";
  SelectionSpec s;
  s.train_count = 4;
  s.test_count = 2;
  LoadedData a = load_data(d, s);
  CHECK(a.train.n == 4);
  CHECK(a.query_ids == std::vector<std::int64_t>{4, 5});  // one pool: test = images not trained on
  CHECK(a.queries.image(1)[0] == 0.5);

  write_npy_i64(dir + "/idx.npy", {3}, {5, 0, 2});
  s.train_indices = dir + "/idx.npy";
  s.test_count = 3;
  LoadedData b = load_data(d, s);
  CHECK(b.train_ids == std::vector<std::int64_t>{5, 0, 2});
  CHECK(b.train.image(0)[0] == 0.5);
  CHECK(b.query_ids == std::vector<std::int64_t>{1, 3, 4});

  s.split = Split::train;
  s.test_count = 2;
  CHECK(load_data(d, s).query_ids == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("selection errors are clear", "[data][select][errors]") {
  DatasetSpec d;  // builtin
  SelectionSpec s;
  s.train_count = 0;
  CHECK_THROWS_WITH(load_data(d, s), Catch::Contains("empty"));
  s.train_count = kBuiltinTrainSize + 1;
  CHECK_THROWS_WITH(load_data(d, s), Catch::Contains("exceeds"));
  s.train_count = 10;
  s.test_start = kBuiltinTestSize;
  CHECK_THROWS_AS(load_data(d, s), InvalidArgument);
  const std::string dir = lemmse_test::temp_dir("select-bad");
  write_npy_f64(dir + "/idx.npy", {2}, {1.5, 3});
  s = SelectionSpec();
  s.train_indices = dir + "/idx.npy";
  CHECK_THROWS_WITH(load_data(d, s), Catch::Contains("not an integer"));
  write_npy_i64(dir + "/big.npy", {1}, {std::int64_t(kBuiltinTrainSize)});
  s.train_indices = dir + "/big.npy";
  CHECK_THROWS_AS(load_data(d, s), InvalidArgument);
  DatasetSpec m;
  m.kind = DatasetKind::mnist;
  CHECK_THROWS_WITH(load_data(m, SelectionSpec()), Catch::Contains("--data-dir"));
  m.data_dir = dir;
  CHECK_THROWS_AS(load_data(m, SelectionSpec()), IoError);
}

TEST_CASE("CIFAR-10 folder selection on the shared data", "[data][select][real]") {
  const std::string dir = lemmse_test::data_dir();
  if (dir.empty()) LEMMSE_SKIP("LEMMSE_DATA_DIR is not set");
  DatasetSpec d;
  d.kind = DatasetKind::cifar10;
  d.data_dir = dir + "/cifar-10";
  SelectionSpec s;
  s.train_count = 4000;
  s.test_count = 1;
  LoadedData a = load_data(d, s);  // train = train_first4000, queries = test batch
  CHECK(a.train.n == 4000);
  CHECK(a.queries.shape == (ImageShape{3, 32, 32}));
  s.train_count = 4001;
  CHECK_THROWS_AS(load_data(d, s), InvalidArgument);
}

TEST_CASE("CIFAR-10 training batches load in order into one split, queries from it", "[data][select][cifar]") {
  // Three batch files of 2, 3 and 1 records; record r of the split has label r % 10 and every
  // pixel byte (r · 7 + k) % 256, so order and placement are checked byte by byte.
  const std::string dir = lemmse_test::temp_dir("cifar_batches");
  std::size_t r = 0;
  const std::vector<std::size_t> sizes = {2, 3, 1};
  for (std::size_t b = 0; b < sizes.size(); ++b) {
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i < sizes[b]; ++i, ++r) {
      bytes.push_back(std::uint8_t(r % 10));
      for (std::size_t k = 0; k < 3072; ++k) bytes.push_back(std::uint8_t((r * 7 + k) % 256));
    }
    std::ofstream(dir + "/data_batch_" + std::to_string(b + 1) + ".bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  DatasetSpec d;
  d.kind = DatasetKind::cifar10;
  d.data_dir = dir;
  SelectionSpec s;
  s.train_count = 5;
  s.test_count = 1;
  s.split = Split::train;
  s.test_start = 5;  // the training split's last image as the query
  const LoadedData a = load_data(d, s);
  REQUIRE(a.train.n == 5);
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t k = 0; k < 3072; k += 511) CHECK(a.train.image(i)[k] == double((i * 7 + k) % 256) / 255.0);
  CHECK(a.query_ids == std::vector<std::int64_t>{5});
  CHECK(a.queries.image(0)[100] == double((5 * 7 + 100) % 256) / 255.0);
  s.test_start = 6;  // past the split
  CHECK_THROWS_AS(load_data(d, s), InvalidArgument);
  {  // selected out of order across the files (only these are decoded)
    SelectionSpec picked = s;
    picked.train_index_list = {5, 0, 3, 2};
    picked.test_start = 0;
    const LoadedData b = load_data(d, picked);
    REQUIRE(b.train.n == 4);
    for (std::size_t i = 0; i < 4; ++i) {
      const std::size_t rec = std::size_t(picked.train_index_list[i]);
      for (std::size_t k = 0; k < 3072; k += 97) CHECK(b.train.image(i)[k] == double((rec * 7 + k) % 256) / 255.0);
    }
  }
  {  // a bad label in a record no run selects is still found: files are validated whole
    std::vector<std::uint8_t> bad(3073, 0);
    bad[0] = 12;
    std::ofstream(dir + "/data_batch_3.bin", std::ios::binary).write(reinterpret_cast<const char*>(bad.data()), std::streamsize(bad.size()));
    CHECK_THROWS_WITH(load_data(d, s), Catch::Contains("data_batch_3.bin") && Catch::Contains("label 12"));
  }
  // a truncated second batch is named in the error
  std::ofstream(dir + "/data_batch_2.bin", std::ios::binary).write("\x01\x02\x03", 3);
  s.test_start = 0;
  CHECK_THROWS_WITH(load_data(d, s), Catch::Contains("data_batch_2.bin") && Catch::Contains("not a multiple"));
}
