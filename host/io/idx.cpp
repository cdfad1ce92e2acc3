// IDX files (MNIST, FashionMNIST): big-endian header, magic 0x00000803 (images) / 0x00000801
// (labels), uint8 payload. Gzipped files are inflated first.
#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {
namespace {
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
}  // namespace

Images parse_idx_images(const std::vector<std::uint8_t>& b, const std::string& what) {
  if (b.size() < 16) throw FormatError(what + ": too short for an IDX image file");
  const std::uint32_t magic = be32(b.data());
  if (magic != 0x00000803u)
    throw FormatError(what + ": bad IDX magic (expected 0x00000803 for uint8 images, got 0x" +
                      [&] { char s[16]; std::snprintf(s, sizeof s, "%08x", magic); return std::string(s); }() + ")");
  const std::uint32_t n = be32(b.data() + 4), h = be32(b.data() + 8), w = be32(b.data() + 12);
  if (h == 0 || w == 0 || h > 4096 || w > 4096) throw FormatError(what + ": implausible IDX image size");
  const std::uint64_t need = 16 + std::uint64_t(n) * h * w;
  if (b.size() < need)
    throw FormatError(what + ": truncated IDX file (" + std::to_string(n) + " images need " +
                      std::to_string(need) + " bytes, file has " + std::to_string(b.size()) + ")");
  Images im(n, ImageShape{1, int(h), int(w)});
  for (std::size_t i = 0; i < im.data.size(); ++i) im.data[i] = b[16 + i] / 255.0;
  return im;
}

Images read_idx_images(const std::string& path) { return parse_idx_images(read_maybe_gzip(path), "'" + path + "'"); }

std::vector<int> read_idx_labels(const std::string& path) {
  const auto b = read_maybe_gzip(path);
  if (b.size() < 8 || be32(b.data()) != 0x00000801u) throw FormatError("'" + path + "': not an IDX label file");
  const std::uint32_t n = be32(b.data() + 4);
  if (b.size() < 8 + std::uint64_t(n)) throw FormatError("'" + path + "': truncated IDX label file");
  return std::vector<int>(b.begin() + 8, b.begin() + 8 + n);
}

}  // namespace lemmse
