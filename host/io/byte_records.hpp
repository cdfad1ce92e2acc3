// Image files of fixed-size uint8 records (IDX, CIFAR-10 batches) kept as their bytes, so that a
// dataset split is validated whole but only the images a run selects are decoded to doubles: the
// five CIFAR-10 training batches are 150 MB as bytes and 1.2 GB as doubles (dataset.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lemmse/tensor.hpp"

namespace lemmse {

// A big-endian 32-bit field (IDX headers).
inline std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

struct ByteRecords {
  std::vector<std::uint8_t> bytes;
  ImageShape shape;
  std::size_t n = 0;       // records
  std::size_t offset = 0;  // record i's shape.size() pixel bytes start at offset + i · stride
  std::size_t stride = 0;
  // Image i's pixels / 255 into dst (shape.size() values, channel planes).
  void decode(std::size_t i, double* dst) const;
  // Every image.
  Images decode_all() const;
};

// An IDX image file (magic 0x00000803, big-endian n, h, w; then n·h·w bytes); throws FormatError
// naming `what` on a bad magic, an implausible size or a truncated file.
ByteRecords idx_image_records(std::vector<std::uint8_t> bytes, const std::string& what);

// A CIFAR-10 binary batch (records of 1 label byte + 1024 R + 1024 G + 1024 B); throws
// FormatError naming `what` when it is empty, not a whole number of records, or a label is above 9.
ByteRecords cifar_batch_records(std::vector<std::uint8_t> bytes, const std::string& what);

}  // namespace lemmse
