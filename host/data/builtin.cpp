// The built-in dataset: deterministic structured images, so the main command runs anywhere with
// no download. Each image composes a gradient background with shapes (rectangles, ellipses,
// triangles, strokes) and gratings, rendered with 4×4 supersampling (soft, realistic edges) and
// quantised to 8 bits. The patch statistics (flat areas, edges of every orientation, textures)
// make the estimators behave as they do on FashionMNIST/CIFAR-10.
#include <algorithm>
#include <cmath>

#include "lemmse/datasets.hpp"
#include "lemmse/errors.hpp"
#include "util/parallel.hpp"
#include "util/splitmix.hpp"

namespace lemmse {
namespace {

struct Shape {
  int type;               // 0 rect, 1 ellipse, 2 triangle, 3 stroke, 4 grating disk
  double cx, cy, a, b, ang;
  double tri[6];
  double col[3];
  double freq, phase, amp;  // texture inside the shape
};

bool inside(const Shape& s, double x, double y) {
  const double dx = x - s.cx, dy = y - s.cy;
  const double c = std::cos(s.ang), sn = std::sin(s.ang);
  const double u = c * dx + sn * dy, v = -sn * dx + c * dy;
  switch (s.type) {
    case 0: return std::fabs(u) <= s.a && std::fabs(v) <= s.b;
    case 1: case 4: return (u * u) / (s.a * s.a) + (v * v) / (s.b * s.b) <= 1.0;
    case 2: {
      auto edge = [&](int i, int j) {
        return (s.tri[2 * j] - s.tri[2 * i]) * (y - s.tri[2 * i + 1]) - (s.tri[2 * j + 1] - s.tri[2 * i + 1]) * (x - s.tri[2 * i]);
      };
      const double e0 = edge(0, 1), e1 = edge(1, 2), e2 = edge(2, 0);
      return (e0 >= 0 && e1 >= 0 && e2 >= 0) || (e0 <= 0 && e1 <= 0 && e2 <= 0);
    }
    default: return std::fabs(v) <= s.b && std::fabs(u) <= s.a;  // stroke: long thin bar
  }
}

}  // namespace

ImageShape builtin_shape(const std::string& variant) {
  if (variant == "gray28") return ImageShape{1, 28, 28};
  if (variant == "rgb32") return ImageShape{3, 32, 32};
  throw InvalidArgument("unknown built-in dataset variant '" + variant + "' (use gray28 or rgb32)");
}

Images builtin_images(const std::string& variant, Split split, std::size_t first, std::size_t count) {
  const ImageShape shp = builtin_shape(variant);
  const std::size_t pool = split == Split::train ? kBuiltinTrainSize : kBuiltinTestSize;
  if (first + count > pool)
    throw InvalidArgument("the built-in " + std::string(split == Split::train ? "train" : "test") + " split has " +
                          std::to_string(pool) + " images; asked for images " + std::to_string(first) + "…" +
                          std::to_string(first + count - 1));
  Images out(count, shp);
  const int C = shp.c, H = shp.h, W = shp.w;
  const double S = std::max(H, W);
  // Each image is a pure function of its index: generated in parallel, the same bits on any machine.
  parallel_for(count, resolve_threads(0), [&](std::size_t k) {
    const std::size_t idx = first + k;
    SplitMix rng{0x6C656D6D7365ull ^ (std::uint64_t(split == Split::train ? 1 : 2) << 56) ^ (idx * 0x2545F4914F6CDD1Dull)};
    auto colour = [&](double* col) {
      const double base = rng.range(0.05, 0.95);
      for (int c = 0; c < 3; ++c) col[c] = C == 1 ? base : std::clamp(base + rng.range(-0.35, 0.35), 0.0, 1.0);
    };
    double bg0[3], bg1[3];
    colour(bg0);
    colour(bg1);
    const double gang = rng.range(0, 2 * M_PI), gstrength = rng.uni() < 0.3 ? 0.0 : rng.range(0.2, 1.0);
    const int nshapes = 1 + int(rng.next() % 4);
    std::vector<Shape> shapes(nshapes);
    for (Shape& s : shapes) {
      s.type = int(rng.next() % 5);
      s.cx = rng.range(0.15, 0.85) * W;
      s.cy = rng.range(0.15, 0.85) * H;
      s.a = rng.range(0.08, 0.35) * S;
      s.b = s.type == 3 ? rng.range(0.6, 1.8) : rng.range(0.08, 0.35) * S;
      s.ang = rng.uni() < 0.5 ? 0.0 : rng.range(0, M_PI);
      for (double& t : s.tri) t = rng.range(0.0, 1.0) * S;
      colour(s.col);
      const bool textured = s.type == 4 || rng.uni() < 0.25;
      s.freq = rng.range(0.6, 2.2);
      s.phase = rng.range(0, 2 * M_PI);
      s.amp = textured ? rng.range(0.08, 0.3) : 0.0;
    }
    double* img = out.image(k);
    constexpr int SS = 4;  // 4×4 supersampling
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        double acc[3] = {0, 0, 0};
        for (int sy = 0; sy < SS; ++sy)
          for (int sx = 0; sx < SS; ++sx) {
            const double px = x + (sx + 0.5) / SS, py = y + (sy + 0.5) / SS;
            const double t = 0.5 + 0.5 * gstrength * ((px - W / 2.0) * std::cos(gang) + (py - H / 2.0) * std::sin(gang)) / (S / 2.0);
            double col[3];
            for (int c = 0; c < 3; ++c) col[c] = bg0[c] + (bg1[c] - bg0[c]) * t;
            for (const Shape& s : shapes)
              if (inside(s, px, py)) {
                const double tex = s.amp * std::sin(s.freq * (px * std::cos(s.ang) + py * std::sin(s.ang)) + s.phase);
                for (int c = 0; c < 3; ++c) col[c] = s.col[c] + tex;
              }
            for (int c = 0; c < 3; ++c) acc[c] += col[c];
          }
        for (int c = 0; c < C; ++c) {
          const double v = std::clamp(acc[c] / (SS * SS), 0.0, 1.0);
          img[std::size_t(c) * H * W + std::size_t(y) * W + x] = std::round(v * 255.0) / 255.0;
        }
      }
  });
  return out;
}

}  // namespace lemmse
