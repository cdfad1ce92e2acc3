// A dense batch of images, NCHW row-major, fp64 values (images are on the [0,1] scale).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lemmse {

struct ImageShape {
  int c = 0, h = 0, w = 0;
  std::size_t pixels() const { return std::size_t(h) * std::size_t(w); }
  std::size_t size() const { return std::size_t(c) * pixels(); }
  bool operator==(const ImageShape& o) const { return c == o.c && h == o.h && w == o.w; }
  bool operator!=(const ImageShape& o) const { return !(*this == o); }
};

struct Images {
  std::size_t n = 0;
  ImageShape shape;
  std::vector<double> data;  // n * c * h * w

  Images() = default;
  // n_ zero images (large buffers asked to be backed by huge pages: host/util/huge_pages.cpp)
  Images(std::size_t n_, ImageShape s);
  double* image(std::size_t i) { return data.data() + i * shape.size(); }
  const double* image(std::size_t i) const { return data.data() + i * shape.size(); }
};

}  // namespace lemmse
