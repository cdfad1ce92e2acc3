// The comparison picture written by `lemmse run`: rows of images, columns of batches.
#include <stb_image_write.h>

#include <algorithm>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {

void write_png_grid(const std::string& path, const std::vector<const Images*>& columns, std::size_t max_rows, int scale) {
  if (columns.empty() || !columns[0]) throw InvalidArgument("write_png_grid: no columns");
  const ImageShape s = columns[0]->shape;
  for (const Images* c : columns)
    if (!c || c->shape != s || c->n != columns[0]->n) throw InvalidArgument("write_png_grid: columns differ in shape");
  const std::size_t rows = std::min(max_rows, columns[0]->n);
  if (rows == 0) throw InvalidArgument("write_png_grid: nothing to draw");
  const int gap = 2;
  const int cw = s.w * scale, ch = s.h * scale;
  const int W = int(columns.size()) * (cw + gap) + gap, H = int(rows) * (ch + gap) + gap;
  const int out_c = s.c == 1 ? 1 : 3;
  std::vector<unsigned char> px(std::size_t(W) * H * out_c, 255);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const double* img = columns[k]->image(r);
      const int x0 = gap + int(k) * (cw + gap), y0 = gap + int(r) * (ch + gap);
      for (int y = 0; y < ch; ++y)
        for (int x = 0; x < cw; ++x)
          for (int c = 0; c < out_c; ++c) {
            const double v = img[std::size_t(std::min(c, s.c - 1)) * s.pixels() + std::size_t(y / scale) * s.w + x / scale];
            const double cl = std::clamp(v, 0.0, 1.0);
            px[(std::size_t(y0 + y) * W + x0 + x) * out_c + c] = static_cast<unsigned char>(cl * 255.0 + 0.5);
          }
    }
  if (!stbi_write_png(path.c_str(), W, H, out_c, px.data(), W * out_c))
    throw IoError("cannot write PNG '" + path + "'");
}

}  // namespace lemmse
