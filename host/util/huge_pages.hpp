// Transparent huge pages for large buffers. On a kernel whose THP mode is "madvise" (Debian's
// default), a fresh multi-megabyte buffer is otherwise faulted in 4 KiB at a time on first touch;
// on the 2-core CI-class VM those faults were most of the time spent loading a dataset
// (bench/results/2026-11-27-cpu-cifar-loading.md).
#pragma once
#include <cstddef>

namespace lemmse {
// Asks the kernel to back the whole 2 MiB pages inside [p, p + bytes) with huge pages (Linux
// madvise MADV_HUGEPAGE); a hint: does nothing for small ranges, elsewhere, or when refused.
void advise_huge_pages(void* p, std::size_t bytes);
}  // namespace lemmse
