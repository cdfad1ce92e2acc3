// Storage of one training image in the layout the CPU window kernels read (cpu_kernels.hpp):
// rows stored twice, so every shifted key row is contiguous.
#include <algorithm>

#include "engine/cpu_kernels.hpp"

namespace lemmse {
namespace cpu {

namespace {
// out (planes × H × 2W) from in (planes × H × W): every row written twice.
template <class T, class S>
void double_rows(int planes, int H, int W, const S* in, std::vector<T>& out) {
  out.resize(std::size_t(planes) * H * 2 * W);
  for (std::size_t row = 0; row < std::size_t(planes) * H; ++row) {
    const S* src = in + row * W;
    T* dst = out.data() + row * 2 * W;
    std::copy(src, src + W, dst);
    std::copy(src, src + W, dst + W);
  }
}
}  // namespace

void KeyImageStore::fill(int C, int H, int W, const double* key, const double* pixel_weight, const double* value,
                         const double* key_bias, const int* pattern_of) {
  double_rows(C, H, W, key, k);
  double_rows(C, H, W, value, val);
  if (pixel_weight) double_rows(1, H, W, pixel_weight, weight);
  if (key_bias) double_rows(1, H, W, key_bias, bias);
  if (pattern_of) {
    pattern.resize(std::size_t(H) * 2 * W);
    for (std::size_t r = 0; r < std::size_t(H); ++r)
      for (int j = 0; j < 2 * W; ++j) pattern[r * 2 * W + j] = pattern_of[r * W + std::size_t(j % W)];
  }
}

KeyImage KeyImageStore::view() const {
  return KeyImage{k.data(), weight.empty() ? nullptr : weight.data(), val.data(), bias.empty() ? nullptr : bias.data(),
                  pattern.empty() ? nullptr : pattern.data()};
}

}  // namespace cpu
}  // namespace lemmse
