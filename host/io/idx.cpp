// IDX files (MNIST, FashionMNIST): big-endian header, magic 0x00000803 (images) / 0x00000801
// (labels), uint8 payload. Gzipped files are inflated first.
#include "io/byte_records.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {
Images parse_idx_images(const std::vector<std::uint8_t>& b, const std::string& what) { return idx_image_records(b, what).decode_all(); }

Images read_idx_images(const std::string& path) { return idx_image_records(read_maybe_gzip(path), "'" + path + "'").decode_all(); }

std::vector<int> read_idx_labels(const std::string& path) {
  const auto b = read_maybe_gzip(path);
  if (b.size() < 8 || read_be32(b.data()) != 0x00000801u) throw FormatError("'" + path + "': not an IDX label file");
  const std::uint32_t n = read_be32(b.data() + 4);
  if (b.size() < 8 + std::uint64_t(n)) throw FormatError("'" + path + "': truncated IDX label file");
  return std::vector<int>(b.begin() + 8, b.begin() + 8 + n);
}

}  // namespace lemmse
