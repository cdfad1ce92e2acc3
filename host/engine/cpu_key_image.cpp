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

void KeyPositionStore::fill(int H, int W, const double* pixel_weight, const double* key_bias, const int* pattern_of) {
  weight.clear();
  bias.clear();
  pattern.clear();
  if (pixel_weight) double_rows(1, H, W, pixel_weight, weight);
  if (key_bias) double_rows(1, H, W, key_bias, bias);
  if (pattern_of) double_rows(1, H, W, pattern_of, pattern);
}

void KeyImageStore::fill(int C, int H, int W, const double* key, const double* value) {
  double_rows(C, H, W, key, k);
  double_rows(C, H, W, value, val);
}

KeyImage KeyImageStore::view(const KeyPositionStore& pos) const {
  return KeyImage{k.data(), pos.weight.empty() ? nullptr : pos.weight.data(), val.data(),
                  pos.bias.empty() ? nullptr : pos.bias.data(), pos.pattern.empty() ? nullptr : pos.pattern.data()};
}

}  // namespace cpu
}  // namespace lemmse
