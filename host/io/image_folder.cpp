// Folders of images decoded with stb_image (Debian libstb), in sorted file-name order, as the
// paper's image-folder datasets are.
#include <stb_image.h>

#include <algorithm>
#include <filesystem>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {

std::vector<std::string> list_image_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw IoError("'" + dir + "' is not a directory");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tga" || ext == ".ppm" || ext == ".pgm")
      files.push_back(e.path().string());
  }
  if (ec) throw IoError("cannot list '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Images decode_image(const std::vector<std::uint8_t>& bytes, int channels, const std::string& what) {
  if (bytes.size() > std::size_t(1) << 30) throw FormatError(what + ": image file too large");
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c))
    throw FormatError(what + ": cannot decode image (" + stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0 || std::int64_t(w) * h > (std::int64_t(1) << 26))
    throw FormatError(what + ": implausible image size " + std::to_string(w) + "×" + std::to_string(h));
  const int want = channels ? channels : (c <= 2 ? 1 : 3);
  int w2 = 0, h2 = 0, c2 = 0;
  unsigned char* px = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w2, &h2, &c2, want);
  if (!px) throw FormatError(what + ": cannot decode image (" + stbi_failure_reason() + ")");
  Images out(1, ImageShape{want, h2, w2});
  for (int ch = 0; ch < want; ++ch)
    for (int p = 0; p < w2 * h2; ++p) out.data[std::size_t(ch) * w2 * h2 + p] = px[std::size_t(p) * want + ch] / 255.0;
  stbi_image_free(px);
  return out;
}

Images read_image_folder(const std::string& dir, int channels) {
  const auto files = list_image_files(dir);
  if (files.empty()) throw InvalidArgument("'" + dir + "' holds no image files (png, jpg, bmp, tga, ppm, pgm)");
  Images out;
  for (std::size_t i = 0; i < files.size(); ++i) {
    Images one = decode_image(read_file_bytes(files[i]), i == 0 ? channels : out.shape.c, "'" + files[i] + "'");
    if (i == 0) out = Images(files.size(), one.shape);
    if (one.shape.h != out.shape.h || one.shape.w != out.shape.w)
      throw InvalidArgument("'" + files[i] + "' is " + std::to_string(one.shape.w) + "×" + std::to_string(one.shape.h) + " but '" +
                            files[0] + "' is " + std::to_string(out.shape.w) + "×" + std::to_string(out.shape.h) +
                            ": all images must have one size");
    std::copy(one.data.begin(), one.data.end(), out.image(i));
  }
  return out;
}

}  // namespace lemmse
