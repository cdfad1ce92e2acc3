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

Images read_image_folder(const std::string& dir, int channels) {
  const auto files = list_image_files(dir);
  if (files.empty()) throw InvalidArgument("'" + dir + "' holds no image files (png, jpg, bmp, tga, ppm, pgm)");
  Images out;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto bytes = read_file_bytes(files[i]);
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c))
      throw FormatError("'" + files[i] + "': cannot decode image (" + stbi_failure_reason() + ")");
    if (i == 0) {
      const int want = channels ? channels : (c <= 2 ? 1 : 3);
      out = Images(files.size(), ImageShape{want, h, w});
    }
    if (h != out.shape.h || w != out.shape.w)
      throw InvalidArgument("'" + files[i] + "' is " + std::to_string(w) + "×" + std::to_string(h) + " but '" + files[0] +
                            "' is " + std::to_string(out.shape.w) + "×" + std::to_string(out.shape.h) + ": all images must have one size");
    const int want = out.shape.c;
    unsigned char* px = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c, want);
    if (!px) throw FormatError("'" + files[i] + "': cannot decode image (" + stbi_failure_reason() + ")");
    double* dst = out.image(i);
    for (int ch = 0; ch < want; ++ch)
      for (int p = 0; p < w * h; ++p) dst[std::size_t(ch) * w * h + p] = px[std::size_t(p) * want + ch] / 255.0;
    stbi_image_free(px);
  }
  return out;
}

}  // namespace lemmse
