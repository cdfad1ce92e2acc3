// File formats: .npy arrays (read/write), IDX (MNIST family), CIFAR-10 binary batches,
// folders of PNG/JPEG images, and the PNG comparison grid.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lemmse/tensor.hpp"

namespace lemmse {

// ---- raw bytes ----
// Reads a whole file. Throws IoError when it cannot be opened or read.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);
// Reads a file and, when it starts with the gzip magic (1f 8b), inflates it. A truncated or
// corrupt gzip stream raises FormatError.
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path);
// Inflates a gzip/zlib buffer held in memory (FormatError when truncated/corrupt, or when it would
// inflate beyond max_bytes: a guard against decompression bombs).
constexpr std::size_t kMaxInflatedBytes = std::size_t(16) << 30;
std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& bytes, const std::string& what,
                                 std::size_t max_bytes = kMaxInflatedBytes);

// ---- .npy ----
enum class NpyType { u8, b1, i32, i64, f32, f64 };
struct NpyArray {
  NpyType type = NpyType::f64;
  std::vector<std::size_t> shape;
  std::vector<double> values;  // every supported dtype converts exactly (int64 up to 2^53)
  std::size_t count() const;
};
// Parses a .npy (format 1.0/2.0/3.0, little-endian, C order). `what` names the source in errors.
NpyArray parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& what);
NpyArray read_npy(const std::string& path);
void write_npy_f64(const std::string& path, const std::vector<std::size_t>& shape,
                   const std::vector<double>& values);
void write_npy_i64(const std::string& path, const std::vector<std::size_t>& shape,
                   const std::vector<std::int64_t>& values);
// Interprets an array as a batch of images: N×C×H×W or N×H×W×C (NHWC when the last axis is 1, 3
// or 4 and the second is not), N×H×W (grey), or H×W (one grey image).
// uint8 is divided by 255; floats are used as they are.
Images npy_to_images(const NpyArray& a, const std::string& what);

// ---- IDX (MNIST / FashionMNIST), gzipped or not: uint8 images N×28×28 ----
Images parse_idx_images(const std::vector<std::uint8_t>& bytes, const std::string& what);
Images read_idx_images(const std::string& path);
std::vector<int> read_idx_labels(const std::string& path);

// ---- CIFAR-10 binary batches (1 label byte + 3072 bytes per record), gzipped or not ----
struct LabelledImages {
  Images images;
  std::vector<int> labels;
};
LabelledImages parse_cifar_batch(const std::vector<std::uint8_t>& bytes, const std::string& what);
LabelledImages read_cifar_batch(const std::string& path);

// ---- folders of images (PNG, JPEG, BMP, ... via stb_image), sorted by file name ----
// `channels` 0 keeps the first file's channel count (grey or RGB); 1 or 3 forces it.
// Every image must have the first image's size (InvalidArgument otherwise).
Images read_image_folder(const std::string& dir, int channels = 0);
std::vector<std::string> list_image_files(const std::string& dir);
// Decodes one encoded image (PNG, JPEG, BMP, ...) held in memory; channels 0 keeps its own
// (grey stays 1, colour becomes 3), 1 or 3 forces it. FormatError when it cannot be decoded or
// holds more than kMaxImageValues values (width × height × channels).
inline constexpr std::int64_t kMaxImageValues = std::int64_t(1) << 24;
Images decode_image(const std::vector<std::uint8_t>& bytes, int channels, const std::string& what);

// ---- output pictures ----
// Writes a PNG grid: one row per image, one column per batch given (e.g. measurement | estimate
// | clean). Values are clipped to [0,1]; each pixel becomes a scale×scale block.
void write_png_grid(const std::string& path, const std::vector<const Images*>& columns,
                    std::size_t max_rows, int scale);

}  // namespace lemmse
