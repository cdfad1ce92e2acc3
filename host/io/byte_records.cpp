#include "io/byte_records.hpp"

#include <cstdio>

#include "lemmse/errors.hpp"

namespace lemmse {
namespace {
constexpr std::size_t kCifarRecord = 1 + 3 * 32 * 32;
}  // namespace

void ByteRecords::decode(std::size_t i, double* dst) const {
  const std::uint8_t* src = bytes.data() + offset + i * stride;
  const std::size_t m = shape.size();
  for (std::size_t k = 0; k < m; ++k) dst[k] = src[k] / 255.0;
}

Images ByteRecords::decode_all() const {
  Images im(n, shape);
  for (std::size_t i = 0; i < n; ++i) decode(i, im.image(i));
  return im;
}

ByteRecords idx_image_records(std::vector<std::uint8_t> b, const std::string& what) {
  if (b.size() < 16) throw FormatError(what + ": too short for an IDX image file");
  const std::uint32_t magic = read_be32(b.data());
  if (magic != 0x00000803u) {
    char s[16];
    std::snprintf(s, sizeof s, "%08x", magic);
    throw FormatError(what + ": bad IDX magic (expected 0x00000803 for uint8 images, got 0x" + s + ")");
  }
  const std::uint32_t n = read_be32(b.data() + 4), h = read_be32(b.data() + 8), w = read_be32(b.data() + 12);
  if (h == 0 || w == 0 || h > 4096 || w > 4096) throw FormatError(what + ": implausible IDX image size");
  const std::uint64_t need = 16 + std::uint64_t(n) * h * w;
  if (b.size() < need)
    throw FormatError(what + ": truncated IDX file (" + std::to_string(n) + " images need " + std::to_string(need) + " bytes, file has " +
                      std::to_string(b.size()) + ")");
  ByteRecords r;
  r.bytes = std::move(b);
  r.shape = ImageShape{1, int(h), int(w)};
  r.n = n;
  r.offset = 16;
  r.stride = std::size_t(h) * w;
  return r;
}

ByteRecords cifar_batch_records(std::vector<std::uint8_t> b, const std::string& what) {
  if (b.empty()) throw FormatError(what + ": empty CIFAR-10 batch");
  if (b.size() % kCifarRecord != 0)
    throw FormatError(what + ": size " + std::to_string(b.size()) +
                      " is not a multiple of the CIFAR-10 record size 3073 (truncated or not a CIFAR-10 binary batch)");
  const std::size_t n = b.size() / kCifarRecord;
  for (std::size_t i = 0; i < n; ++i)
    if (b[i * kCifarRecord] > 9)
      throw FormatError(what + ": record " + std::to_string(i) + " has label " + std::to_string(b[i * kCifarRecord]) + " (CIFAR-10 labels are 0–9)");
  ByteRecords r;
  r.bytes = std::move(b);
  r.shape = ImageShape{3, 32, 32};
  r.n = n;
  r.offset = 1;
  r.stride = kCifarRecord;
  return r;
}

}  // namespace lemmse
