// .npy parsing and conversion to images.
#include "fuzz_common.hpp"
#include "lemmse/io.hpp"

static void fuzz_one(const std::vector<std::uint8_t>& bytes) {
  const lemmse::NpyArray a = lemmse::parse_npy(bytes, "fuzz");
  lemmse::npy_to_images(a, "fuzz");
}
