// CIFAR-10 binary batches: records of 1 label byte + 1024 R + 1024 G + 1024 B (32×32 planes).
#include "io/cifar_records.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {

std::size_t cifar_record_count(const std::vector<std::uint8_t>& b, const std::string& what) {
  constexpr std::size_t rec = 1 + 3 * 32 * 32;
  if (b.empty()) throw FormatError(what + ": empty CIFAR-10 batch");
  if (b.size() % rec != 0)
    throw FormatError(what + ": size " + std::to_string(b.size()) + " is not a multiple of the CIFAR-10 record size 3073 (truncated or not a CIFAR-10 binary batch)");
  return b.size() / rec;
}

void parse_cifar_records(const std::vector<std::uint8_t>& b, const std::string& what, double* dst, int* labels) {
  constexpr std::size_t rec = 1 + 3 * 32 * 32;
  const std::size_t n = cifar_record_count(b, what);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* r = b.data() + i * rec;
    if (r[0] > 9) throw FormatError(what + ": record " + std::to_string(i) + " has label " + std::to_string(r[0]) + " (CIFAR-10 labels are 0–9)");
    if (labels) labels[i] = r[0];
    double* d = dst + i * (rec - 1);
    for (std::size_t k = 0; k < rec - 1; ++k) d[k] = r[1 + k] / 255.0;
  }
}

LabelledImages parse_cifar_batch(const std::vector<std::uint8_t>& b, const std::string& what) {
  LabelledImages out;
  out.images = Images(cifar_record_count(b, what), ImageShape{3, 32, 32});
  out.labels.resize(out.images.n);
  parse_cifar_records(b, what, out.images.data.data(), out.labels.data());
  return out;
}

LabelledImages read_cifar_batch(const std::string& path) {
  return parse_cifar_batch(read_maybe_gzip(path), "'" + path + "'");
}

}  // namespace lemmse
