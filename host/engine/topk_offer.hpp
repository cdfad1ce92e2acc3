// The CPU window engine's top-k (ShiftArgs::on_logits): a shift's logits offered to a slice's
// lists, and the float32 screen's cuts kept in step with the lists' floors. Shared with the kernel
// tests (tests/engine/test_cpu_kernels.cpp), which check the lists with every screen mode.
#pragma once
#include <cstdint>

#include "engine/cpu_kernels.hpp"
#include "engine/topk_table.hpp"

namespace lemmse {

// Top-k: offers a shift's logits (ShiftArgs::on_logits) to the slice's lists. A row whose logits
// are all below their pixels' floors offers nothing (a vector pass: once the lists fill, most do
// not); −inf, an incompatible key, is below every floor.
struct TopkOffer {
  TopkTable* table;
  const double* l;  // the shift's logits, HW
  int H, W;
  std::int64_t train_id;
  cpu::Screen* screen;  // or null; else its cuts follow the lists' floors up (a stale cut only screens less)
  const double* mx;     // the pixels' running maxima (the cuts' other half)
  static void call(void* self, int ti, int tj, const std::uint8_t* rows) { static_cast<TopkOffer*>(self)->offer(ti, tj, rows); }
  void offer(int ti, int tj, const std::uint8_t* rows) {
    const double* floor = table->floors();
    for (int r = 0; r < H; ++r) {
      if (rows && !rows[r]) continue;  // (the screen passed no key of this row)
      const double* lr = l + std::size_t(r) * W;
      const double* fr = floor + std::size_t(r) * W;
      bool any = false;
      for (int j = 0; j < W; ++j) any |= lr[j] >= fr[j];
      if (!any) continue;
      const std::size_t key_row = std::size_t((r + ti) % H) * W;
      for (int j = 0; j < W; ++j)
        if (lr[j] >= fr[j]) {
          const std::size_t m = std::size_t(r) * W + std::size_t(j);
          table->push(m, TopkEntry{lr[j], train_id, std::int64_t(key_row + std::size_t(j + tj < W ? j + tj : j + tj - W))});
          if (screen) screen->cut[m] = screen->cut_at(m, mx[m]);
        }
    }
  }
  // Between training images: exchanges floors with the other slices (SharedTopkFloors), updating
  // the cuts of the pixels whose floor rose.
  void sync(SharedTopkFloors& shared) {
    shared.exchange(*table, [&](std::size_t m) {
      if (screen) screen->cut[m] = screen->cut_at(m, mx[m]);
    });
  }
};

}  // namespace lemmse
