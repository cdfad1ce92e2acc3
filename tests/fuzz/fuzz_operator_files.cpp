// Mask and kernel files: .npy → inpainting mask / blur kernel operators on a 16×16 image,
// applied once (the FFT path included).
#include "fuzz_common.hpp"
#include "lemmse/io.hpp"
#include "lemmse/operators.hpp"

static void fuzz_one(const std::vector<std::uint8_t>& bytes) {
  const lemmse::NpyArray a = lemmse::parse_npy(bytes, "fuzz");
  const lemmse::ImageShape shape{1, 16, 16};
  std::vector<std::size_t> s;
  for (std::size_t d : a.shape) if (d != 1 || !s.empty()) s.push_back(d);
  if (s.size() != 2) return;
  lemmse::Images x(1, shape);
  for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] = double(i % 7) / 7;
  try {
    lemmse::make_mask_operator(shape, a.values, "fuzz").apply(x);
  } catch (const lemmse::Error&) {
  }
  const lemmse::ForwardOperator k = lemmse::make_kernel_operator(shape, a.values, s[0], s[1], lemmse::Compat::consistent, "fuzz");
  k.apply(x);
  lemmse::make_preinverse(lemmse::PreinverseKind::inverse, k, lemmse::Compat::reference);
}
