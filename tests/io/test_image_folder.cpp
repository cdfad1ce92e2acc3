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
