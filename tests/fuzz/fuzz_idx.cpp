// IDX images, plain or gzipped (the gzip path is what real MNIST files take).
#include "fuzz_common.hpp"
#include "lemmse/io.hpp"

static void fuzz_one(const std::vector<std::uint8_t>& bytes) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
    lemmse::parse_idx_images(lemmse::gunzip(bytes, "fuzz", kFuzzMaxInflate), "fuzz");
  else
    lemmse::parse_idx_images(bytes, "fuzz");
}
