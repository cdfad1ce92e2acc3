#include <stb_image_write.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"
#include "support/skip.hpp"

using namespace lemmse;

TEST_CASE("image folders read PNGs exactly, in name order", "[io][folder]") {
  const std::string dir = lemmse_test::temp_dir("folder");
  std::vector<unsigned char> a(6 * 4 * 3), b(6 * 4 * 3);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = (unsigned char)(i * 5), b[i] = (unsigned char)(255 - i);
  REQUIRE(stbi_write_png((dir + "/b.png").c_str(), 6, 4, 3, b.data(), 18));
  REQUIRE(stbi_write_png((dir + "/a.png").c_str(), 6, 4, 3, a.data(), 18));
  Images im = read_image_folder(dir);
  REQUIRE(im.n == 2);
  REQUIRE(im.shape == (ImageShape{3, 4, 6}));
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 24; ++p) {
      CHECK(im.image(0)[c * 24 + p] == a[p * 3 + c] / 255.0);
      CHECK(im.image(1)[c * 24 + p] == b[p * 3 + c] / 255.0);
    }
  // Forced grey conversion gives one channel.
  CHECK(read_image_folder(dir, 1).shape.c == 1);
}

TEST_CASE("image folders reject mixed sizes, undecodable files and empty folders", "[io][folder][errors]") {
  const std::string dir = lemmse_test::temp_dir("folder-bad");
  CHECK_THROWS_WITH(read_image_folder(dir), Catch::Contains("no image files"));
  std::vector<unsigned char> px(8 * 8, 100);
  REQUIRE(stbi_write_png((dir + "/1.png").c_str(), 8, 8, 1, px.data(), 8));
  REQUIRE(stbi_write_png((dir + "/2.png").c_str(), 4, 8, 1, px.data(), 4));
  CHECK_THROWS_WITH(read_image_folder(dir), Catch::Contains("one size"));
  const std::string dir2 = lemmse_test::temp_dir("folder-junk");
  { std::ofstream(dir2 + "/x.png") << "not a png"; }
  CHECK_THROWS_AS(read_image_folder(dir2), FormatError);
  CHECK_THROWS_AS(read_image_folder("/nonexistent-dir"), IoError);
}

// fuzz_image's finding: an 86-byte PNG whose second IDAT chunk declares ~2.6 GB made stb_image
// ask for 2 GiB before noticing the bytes were missing. It is now refused up front.
TEST_CASE("a PNG chunk declaring more bytes than the file holds is refused before decoding", "[io][folder]") {
  const std::vector<std::uint8_t> png = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
      0x00, 0x02, 0x08, 0x00, 0x00, 0x00, 0x00, 0xdb, 0x6e, 0x80, 0x27, 0x00, 0x00, 0x00, 0x1b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x5e, 0x63,
      0x86, 0x00, 0xc6, 0x08, 0x64, 0xe0, 0x86, 0x00, 0xc6, 0x08, 0x18, 0x63, 0x26, 0x8c, 0xc1, 0x01, 0x65, 0xb0, 0xc0, 0xa5, 0x76, 0x40,
      0x45, 0x00, 0x64, 0x94, 0x03, 0xf8, 0x5f, 0xe1, 0x9c, 0x06, 0x49, 0x44, 0x41, 0x54, 0x78, 0x5e, 0x4e, 0x44, 0xae, 0x42};
  CHECK_THROWS_WITH(decode_image(png, 1, "fuzz.png"), Catch::Contains("past the end of the file"));
  // A PNG cut short inside a chunk header is refused too; the well-formed prefix alone decodes or fails cleanly.
  const std::vector<std::uint8_t> cut(png.begin(), png.begin() + 40);
  CHECK_THROWS_AS(decode_image(cut, 1, "cut.png"), FormatError);
}

// fuzz_image's second finding: a 60-byte BMP declaring 41736×1536 colour pixels, which stb_image
// decodes (filling the missing bytes with zeros) into a 1.5 GB fp64 copy. The declared size is
// now refused from the header, before anything is decoded.
TEST_CASE("an image declaring more values than lemmse reads is refused before decoding", "[io][folder][errors]") {
  const std::vector<std::uint8_t> bmp = {
      0x42, 0x4d, 0xc6, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x08, 0xa3,
      0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x00, 0x00, 0x00, 0x89, 0x50,
      0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02};
  CHECK_THROWS_WITH(decode_image(bmp, 0, "fuzz.bmp"), Catch::Contains("41736×1536×3") && Catch::Contains("larger than lemmse reads"));
  // Forcing grey counts one channel: 41736×1536 = 64·10⁶ values is still over the limit.
  CHECK_THROWS_WITH(decode_image(bmp, 1, "fuzz.bmp"), Catch::Contains("41736×1536×1"));
  // Found next: a 32-byte BMP declaring ~1.9·10⁹ × 2·10⁹ pixels, whose value count overflowed the check.
  const std::vector<std::uint8_t> huge = {0x42, 0x4d, 0xc6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x28, 0x00,
                                          0x00, 0x00, 0x00, 0x00, 0x60, 0x70, 0x00, 0x00, 0x24, 0x7a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
  CHECK_THROWS_AS(decode_image(huge, 0, "fuzz.bmp"), FormatError);

  // The limit counts values, not pixels: a grey image of exactly kMaxImageValues values decodes,
  // the same pixels in colour do not.
  const int w = 4096, h = int(kMaxImageValues / w);
  const std::vector<unsigned char> flat(std::size_t(w) * h, 7);
  std::vector<std::uint8_t> grey;
  const auto append = [](void* to, void* data, int size) {
    auto* v = static_cast<std::vector<std::uint8_t>*>(to);
    v->insert(v->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  REQUIRE(stbi_write_png_to_func(append, &grey, w, h, 1, flat.data(), w));
  const Images im = decode_image(grey, 0, "grey.png");
  CHECK(im.shape == (ImageShape{1, h, w}));
  CHECK(im.data[std::size_t(w) * h - 1] == 7 / 255.0);
  CHECK_THROWS_WITH(decode_image(grey, 3, "grey.png"), Catch::Contains("larger than lemmse reads"));
}
