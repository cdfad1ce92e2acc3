#include "util/huge_pages.hpp"

#include <cstdint>

#include "lemmse/tensor.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace lemmse {

void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20;
  if (!p || bytes < 2 * kHuge) return;
  const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);  // a hint: its result is not needed
#else
  (void)p;
  (void)bytes;
#endif
}

// Images(n, shape): the buffer reserved, advised, then zero-filled (the fill is its first touch).
Images::Images(std::size_t n_, ImageShape s) : n(n_), shape(s) {
  const std::size_t count = n_ * s.size();
  data.reserve(count);
  advise_huge_pages(data.data(), count * sizeof(double));
  data.resize(count, 0.0);
}

}  // namespace lemmse
