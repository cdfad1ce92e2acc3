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

namespace {
// stb_image trusts a PNG chunk's declared length: it grows its IDAT buffer to fit a chunk before
// it finds the bytes missing (a 100-byte file made it ask for 2 GiB; found by fuzz_image). So the
// chunk structure is checked first: every chunk (length, type, data, CRC) lies within the file.
void check_png_chunks(const std::vector<std::uint8_t>& b, const std::string& what) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (b.size() < 8 || !std::equal(sig, sig + 8, b.begin())) return;  // not a PNG
  std::size_t at = 8;
  while (at < b.size()) {
    if (b.size() - at < 12) throw FormatError(what + ": truncated PNG chunk at byte " + std::to_string(at));
    const std::uint32_t len = std::uint32_t(b[at]) << 24 | std::uint32_t(b[at + 1]) << 16 | std::uint32_t(b[at + 2]) << 8 | b[at + 3];
    if (len > b.size() - at - 12)
      throw FormatError(what + ": PNG chunk at byte " + std::to_string(at) + " declares " + std::to_string(len) + " bytes, past the end of the file");
    const bool end = b[at + 4] == 'I' && b[at + 5] == 'E' && b[at + 6] == 'N' && b[at + 7] == 'D';
    at += 12 + std::size_t(len);
    if (end) return;
  }
}
}  // namespace

Images decode_image(const std::vector<std::uint8_t>& bytes, int channels, const std::string& what) {
  if (bytes.size() > std::size_t(1) << 30) throw FormatError(what + ": image file too large");
  check_png_chunks(bytes, what);
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c))
    throw FormatError(what + ": cannot decode image (" + stbi_failure_reason() + ")");
  const int want = channels ? channels : (c <= 2 ? 1 : 3);
  // The header's size is checked before decoding: stb_image fills a short BMP with zeros, so a
  // 60-byte file can declare 41736×1536 colour pixels and make the fp64 copy 1.5 GB (found by
  // fuzz_image). A patch estimator over such an image would run for days anyway.
  if (w <= 0 || h <= 0 || w > kMaxImageValues || h > kMaxImageValues || std::int64_t(w) * h > kMaxImageValues / want)
    throw FormatError(what + ": image of " + std::to_string(w) + "×" + std::to_string(h) + "×" + std::to_string(want) +
                      " values is larger than lemmse reads (at most " + std::to_string(kMaxImageValues) +
                      " values per image, e.g. 4096×4096 grey or 2364×2364 colour)");
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
