// CIFAR-10 binary batches: records of 1 label byte + 1024 R + 1024 G + 1024 B (32×32 planes).
#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {

LabelledImages parse_cifar_batch(const std::vector<std::uint8_t>& b, const std::string& what) {
  constexpr std::size_t rec = 1 + 3 * 32 * 32;
  if (b.empty()) throw FormatError(what + ": empty CIFAR-10 batch");
  if (b.size() % rec != 0)
    throw FormatError(what + ": size " + std::to_string(b.size()) + " is not a multiple of the CIFAR-10 record size 3073 (truncated or not a CIFAR-10 binary batch)");
  const std::size_t n = b.size() / rec;
  LabelledImages out;
  out.images = Images(n, ImageShape{3, 32, 32});
  out.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* r = b.data() + i * rec;
    if (r[0] > 9) throw FormatError(what + ": record " + std::to_string(i) + " has label " + std::to_string(r[0]) + " (CIFAR-10 labels are 0–9)");
    out.labels[i] = r[0];
    double* dst = out.images.image(i);
    for (std::size_t k = 0; k < 3 * 32 * 32; ++k) dst[k] = r[1 + k] / 255.0;
  }
  return out;
}

LabelledImages read_cifar_batch(const std::string& path) {
  return parse_cifar_batch(read_maybe_gzip(path), "'" + path + "'");
}

}  // namespace lemmse
