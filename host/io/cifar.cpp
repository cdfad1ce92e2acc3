// CIFAR-10 binary batches: records of 1 label byte + 1024 R + 1024 G + 1024 B (32×32 planes).
#include "io/byte_records.hpp"
#include "lemmse/io.hpp"

namespace lemmse {
namespace {
LabelledImages labelled(const ByteRecords& r) {
  LabelledImages out;
  out.images = r.decode_all();
  out.labels.resize(r.n);
  for (std::size_t i = 0; i < r.n; ++i) out.labels[i] = r.bytes[i * r.stride];  // the byte before the pixels
  return out;
}
}  // namespace

LabelledImages parse_cifar_batch(const std::vector<std::uint8_t>& b, const std::string& what) { return labelled(cifar_batch_records(b, what)); }

LabelledImages read_cifar_batch(const std::string& path) { return labelled(cifar_batch_records(read_maybe_gzip(path), "'" + path + "'")); }

}  // namespace lemmse
