// Datasets: the built-in generator, real datasets in their canonical formats, and the
// selection of a training set and of query (test) images.
#include <cstdint>
#pragma once
#include <string>
#include <vector>

#include "lemmse/tensor.hpp"

namespace lemmse {

enum class DatasetKind { builtin, mnist, fashion_mnist, cifar10, folder, npy };
enum class Split { train, test };

DatasetKind parse_dataset_kind(const std::string& s);  // builtin|mnist|fashion-mnist|cifar-10|folder|npy
const char* to_string(DatasetKind k);

// ---- built-in deterministic dataset (no download) ----
// Variants: "gray28" (28×28, 1 channel, like FashionMNIST) and "rgb32" (32×32 RGB, like
// CIFAR-10). Image i of a split is a pure function of (variant, split, i): edges, flat
// regions, gradients, gratings and shapes, quantised to 8 bits like real photographs.
constexpr std::size_t kBuiltinTrainSize = 60000;
constexpr std::size_t kBuiltinTestSize = 10000;
ImageShape builtin_shape(const std::string& variant);
Images builtin_images(const std::string& variant, Split split, std::size_t first, std::size_t count);

struct DatasetSpec {
  DatasetKind kind = DatasetKind::builtin;
  std::string data_dir;         // directory (mnist, fashion-mnist, cifar-10, folder) or .npy file
  std::string test_data;        // folder/npy only: a separate pool of query images (optional)
  std::string builtin_variant = "gray28";
};

struct SelectionSpec {
  std::size_t train_count = 1000;   // first N training images (ignored with train_indices)
  std::string train_indices;        // .npy of integer indices into the training pool
  std::vector<std::int64_t> train_index_list;  // or these indices (used when not empty)
  Split split = Split::test;        // where the query images come from
  std::size_t test_start = 0;       // first query image within its pool
  std::size_t test_count = 4;       // number of query images (0 allowed only with a measurement file)
};

struct LoadedData {
  Images train;                          // training (key/value) images
  std::vector<std::int64_t> train_ids;   // their indices in the training pool
  Images queries;                        // clean query images (ground truth)
  std::vector<std::int64_t> query_ids;   // their indices in the query pool
  std::string description;               // for logs and metrics.json
};

// Default --data-dir for a dataset kind ("" when there is none).
std::string default_data_dir(DatasetKind k);

// Raw access to a split: its size and images first … first+count−1. Single-pool datasets
// (folder, npy) have one pool that serves as both splits.
std::size_t split_size(const DatasetSpec& d, Split split);
Images load_split(const DatasetSpec& d, Split split, std::size_t first, std::size_t count);

// Loads the training set and the query images. Throws InvalidArgument / IoError / FormatError
// with a message naming the file and the problem.
LoadedData load_data(const DatasetSpec& d, const SelectionSpec& s);

}  // namespace lemmse
