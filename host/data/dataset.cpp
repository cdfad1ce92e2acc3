// Training-set and query selection over every supported dataset.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "io/byte_records.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {
namespace fs = std::filesystem;

DatasetKind parse_dataset_kind(const std::string& s) {
  if (s == "builtin") return DatasetKind::builtin;
  if (s == "mnist") return DatasetKind::mnist;
  if (s == "fashion-mnist") return DatasetKind::fashion_mnist;
  if (s == "cifar-10") return DatasetKind::cifar10;
  if (s == "folder") return DatasetKind::folder;
  if (s == "npy") return DatasetKind::npy;
  throw InvalidArgument("unknown dataset '" + s + "' (builtin, mnist, fashion-mnist, cifar-10, folder, npy)");
}

const char* to_string(DatasetKind k) {
  switch (k) {
    case DatasetKind::builtin: return "builtin";
    case DatasetKind::mnist: return "mnist";
    case DatasetKind::fashion_mnist: return "fashion-mnist";
    case DatasetKind::cifar10: return "cifar-10";
    case DatasetKind::folder: return "folder";
    case DatasetKind::npy: return "npy";
  }
  return "?";
}

std::string default_data_dir(DatasetKind k) {
  if (k == DatasetKind::fashion_mnist) return "/usr/share/datasets/fashion-mnist";  // Debian dataset-fashion-mnist
  return "";
}

namespace {

// First existing file among `names` (each tried plain and with .gz) in dir.
std::string find_file(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& n : names)
    for (const char* suffix : {"", ".gz"}) {
      const fs::path p = fs::path(dir) / (n + suffix);
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
  return "";
}

// A split as loaded: IDX and CIFAR-10 files kept as their bytes (validated whole, images decoded
// only when selected: a run on 1,000 CIFAR-10 images no longer decodes the other 49,000), or the
// images of a folder or .npy file, already decoded.
struct Pool {
  std::vector<ByteRecords> parts;  // byte files, in order
  Images images;                   // a decoded pool (no parts)
  std::size_t n = 0;
  ImageShape shape;

  static Pool decoded(Images im) {
    Pool p;
    p.n = im.n;
    p.shape = im.shape;
    p.images = std::move(im);
    return p;
  }
  static Pool of_bytes(std::vector<ByteRecords> parts) {
    Pool p;
    for (const ByteRecords& r : parts) p.n += r.n;
    if (!parts.empty()) p.shape = parts.front().shape;
    p.parts = std::move(parts);
    return p;
  }
  void copy_image(std::size_t i, double* dst) const {
    if (parts.empty()) {
      std::copy(images.image(i), images.image(i) + shape.size(), dst);
      return;
    }
    for (const ByteRecords& r : parts) {
      if (i < r.n) return r.decode(i, dst);
      i -= r.n;
    }
  }
};

Images subset(const Pool& pool, const std::vector<std::int64_t>& ids) {
  Images out(ids.size(), pool.shape);
  for (std::size_t i = 0; i < ids.size(); ++i) pool.copy_image(std::size_t(ids[i]), out.image(i));
  return out;
}

Pool load_cifar_split(std::string dir, Split split) {
  if (fs::is_directory(fs::path(dir) / "cifar-10-batches-bin")) dir = (fs::path(dir) / "cifar-10-batches-bin").string();
  std::vector<std::string> files;
  if (split == Split::test) {
    const std::string f = find_file(dir, {"test_batch.bin"});
    if (f.empty()) throw IoError("no CIFAR-10 test batch (test_batch.bin[.gz]) in '" + dir + "'");
    files.push_back(f);
  } else {
    for (int i = 1; i <= 5; ++i) {
      const std::string f = find_file(dir, {"data_batch_" + std::to_string(i) + ".bin"});
      if (!f.empty()) files.push_back(f);
    }
    if (files.empty()) {  // partial copies, e.g. train_first4000.bin.gz in the shared data
      const std::string f = find_file(dir, {"train_first4000.bin"});
      if (!f.empty()) files.push_back(f);
    }
    if (files.empty()) throw IoError("no CIFAR-10 training batches (data_batch_1.bin[.gz] … or train_first4000.bin[.gz]) in '" + dir + "'");
  }
  std::vector<ByteRecords> parts;
  for (const std::string& f : files) parts.push_back(cifar_batch_records(read_maybe_gzip(f), "'" + f + "'"));
  return Pool::of_bytes(std::move(parts));
}

Pool load_idx_split(const std::string& dir, Split split, const char* name) {
  const std::string f = find_file(dir, {split == Split::train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte"});
  if (f.empty())
    throw IoError(std::string("no ") + name + " " + (split == Split::train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte") +
                  "[.gz] in '" + dir + "'");
  std::vector<ByteRecords> parts;
  parts.push_back(idx_image_records(read_maybe_gzip(f), "'" + f + "'"));
  return Pool::of_bytes(std::move(parts));
}

Pool load_single_pool(DatasetKind k, const std::string& path) {
  if (k == DatasetKind::npy) return Pool::decoded(npy_to_images(read_npy(path), "'" + path + "'"));
  return Pool::decoded(read_image_folder(path));
}

std::vector<std::int64_t> read_indices(const std::string& path, std::size_t pool) {
  const NpyArray a = read_npy(path);
  if (a.shape.size() != 1) throw InvalidArgument("'" + path + "': training indices must be a 1-D integer array");
  std::vector<std::int64_t> ids(a.values.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const double v = a.values[i];
    if (!(v >= 0) || v != std::floor(v) || v >= double(pool))
      throw InvalidArgument("'" + path + "': index " + std::to_string(v) + " at position " + std::to_string(i) +
                            " is not an integer in [0, " + std::to_string(pool) + ")");
    ids[i] = std::int64_t(v);
  }
  return ids;
}

}  // namespace

namespace {
std::string resolved_dir(const DatasetSpec& d) {
  std::string dir = d.data_dir.empty() ? default_data_dir(d.kind) : d.data_dir;
  if (d.kind != DatasetKind::builtin && dir.empty())
    throw InvalidArgument(std::string("--dataset ") + to_string(d.kind) + " needs --data-dir");
  return dir;
}
Pool whole_split(const DatasetSpec& d, Split split) {
  const std::string dir = resolved_dir(d);
  switch (d.kind) {
    case DatasetKind::mnist:
    case DatasetKind::fashion_mnist: return load_idx_split(dir, split, to_string(d.kind));
    case DatasetKind::cifar10: return load_cifar_split(dir, split);
    default: return load_single_pool(d.kind, dir);
  }
}
}  // namespace

std::size_t split_size(const DatasetSpec& d, Split split) {
  if (d.kind == DatasetKind::builtin) {
    builtin_shape(d.builtin_variant);
    return split == Split::train ? kBuiltinTrainSize : kBuiltinTestSize;
  }
  return whole_split(d, split).n;
}

Images load_split(const DatasetSpec& d, Split split, std::size_t first, std::size_t count) {
  if (d.kind == DatasetKind::builtin) return builtin_images(d.builtin_variant, split, first, count);
  const Pool all = whole_split(d, split);
  if (first > all.n || count > all.n - first)
    throw InvalidArgument("asked for images " + std::to_string(first) + "…" + std::to_string(first + count) + " of a split of " +
                          std::to_string(all.n));
  std::vector<std::int64_t> ids(count);
  for (std::size_t i = 0; i < count; ++i) ids[i] = std::int64_t(first + i);
  return subset(all, ids);
}

LoadedData load_data(const DatasetSpec& d, const SelectionSpec& s) {
  const std::string dir = resolved_dir(d);
  LoadedData out;
  Pool train_pool, query_pool;
  bool single_pool = false;
  bool queries_from_train = false;  // two-split datasets queried on their training split: train_pool serves both
  std::size_t train_pool_size = 0;
  switch (d.kind) {
    case DatasetKind::builtin: train_pool_size = kBuiltinTrainSize; break;
    case DatasetKind::mnist:
    case DatasetKind::fashion_mnist:
      train_pool = load_idx_split(dir, Split::train, to_string(d.kind));
      queries_from_train = s.split == Split::train;
      if (s.test_count && !queries_from_train) query_pool = load_idx_split(dir, s.split, to_string(d.kind));
      break;
    case DatasetKind::cifar10:
      train_pool = load_cifar_split(dir, Split::train);
      queries_from_train = s.split == Split::train;
      if (s.test_count && !queries_from_train) query_pool = load_cifar_split(dir, Split::test);
      break;
    case DatasetKind::folder:
    case DatasetKind::npy:
      train_pool = load_single_pool(d.kind, dir);
      single_pool = d.test_data.empty();
      if (!d.test_data.empty()) query_pool = load_single_pool(d.kind, d.test_data);
      break;
  }
  if (d.kind != DatasetKind::builtin) train_pool_size = train_pool.n;

  // training selection
  if (!s.train_index_list.empty()) {
    for (std::size_t i = 0; i < s.train_index_list.size(); ++i)
      if (s.train_index_list[i] < 0 || std::size_t(s.train_index_list[i]) >= train_pool_size)
        throw InvalidArgument("training index " + std::to_string(s.train_index_list[i]) + " at position " + std::to_string(i) +
                              " is outside [0, " + std::to_string(train_pool_size) + ")");
    out.train_ids = s.train_index_list;
  } else if (!s.train_indices.empty()) {
    out.train_ids = read_indices(s.train_indices, train_pool_size);
  } else {
    if (s.train_count > train_pool_size)
      throw InvalidArgument("--train-count " + std::to_string(s.train_count) + " exceeds the " +
                            std::to_string(train_pool_size) + " training images available");
    for (std::size_t i = 0; i < s.train_count; ++i) out.train_ids.push_back(std::int64_t(i));
  }
  if (out.train_ids.empty()) throw InvalidArgument("the training set is empty (--train-count 0 or an empty index file)");

  if (d.kind == DatasetKind::builtin) {
    // Generate only what is selected; contiguous runs in one (parallel) call.
    out.train = Images(out.train_ids.size(), builtin_shape(d.builtin_variant));
    for (std::size_t i = 0; i < out.train_ids.size();) {
      std::size_t j = i + 1;
      while (j < out.train_ids.size() && out.train_ids[j] == out.train_ids[j - 1] + 1) ++j;
      Images run = builtin_images(d.builtin_variant, Split::train, std::size_t(out.train_ids[i]), j - i);
      std::copy(run.data.begin(), run.data.end(), out.train.image(i));
      i = j;
    }
  } else {
    out.train = subset(train_pool, out.train_ids);
  }

  // queries
  std::vector<std::int64_t> candidates;
  std::size_t qpool_size;
  if (d.kind == DatasetKind::builtin) qpool_size = s.split == Split::train ? kBuiltinTrainSize : kBuiltinTestSize;
  else if (single_pool || queries_from_train) qpool_size = train_pool.n;
  else qpool_size = query_pool.n;
  if (single_pool && s.split == Split::test) {
    // One pool: the test split is every image not selected for training, in order.
    std::set<std::int64_t> used(out.train_ids.begin(), out.train_ids.end());
    for (std::size_t i = 0; i < qpool_size; ++i)
      if (!used.count(std::int64_t(i))) candidates.push_back(std::int64_t(i));
  } else {
    for (std::size_t i = 0; i < qpool_size; ++i) candidates.push_back(std::int64_t(i));
  }
  if (s.test_start + s.test_count > candidates.size())
    throw InvalidArgument("asked for query images " + std::to_string(s.test_start) + "…" +
                          std::to_string(s.test_start + s.test_count) + " but the " +
                          (s.split == Split::train ? "train" : "test") + " split offers " + std::to_string(candidates.size()));
  out.query_ids.assign(candidates.begin() + std::ptrdiff_t(s.test_start), candidates.begin() + std::ptrdiff_t(s.test_start + s.test_count));
  if (d.kind == DatasetKind::builtin) {
    out.queries = Images(out.query_ids.size(), builtin_shape(d.builtin_variant));
    for (std::size_t i = 0; i < out.query_ids.size(); ++i) {
      Images one = builtin_images(d.builtin_variant, s.split, std::size_t(out.query_ids[i]), 1);
      std::copy(one.data.begin(), one.data.end(), out.queries.image(i));
    }
  } else {
    out.queries = subset(single_pool || queries_from_train ? train_pool : query_pool, out.query_ids);
    if (out.queries.n && out.queries.shape != out.train.shape)
      throw InvalidArgument("query images and training images differ in shape");
  }
  out.queries.shape = out.train.shape;
  out.description = std::string(to_string(d.kind)) + (d.kind == DatasetKind::builtin ? ":" + d.builtin_variant : " " + dir);
  return out;
}

}  // namespace lemmse
