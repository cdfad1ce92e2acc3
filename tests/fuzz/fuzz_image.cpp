// Image files decoded through stb_image (PNG, JPEG, BMP, TGA, PNM) as the folder reader does.
#include "fuzz_common.hpp"
#include "lemmse/io.hpp"

static void fuzz_one(const std::vector<std::uint8_t>& bytes) {
  lemmse::decode_image(bytes, 0, "fuzz");
}
