// A minimal work pool: runs task(i) for i in [0, n) on `threads` threads, pulling indices from
// an atomic counter. The caller's thread polls `tick` every ~200 ms (progress, cancellation).
#pragma once
#include <cstddef>
#include <functional>

namespace lemmse {
// Returns the number of threads to use for a request (0 = all hardware threads).
int resolve_threads(int requested);
// Exceptions thrown by a task are rethrown (the first one) after all threads stop.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& task,
                  const std::function<void()>& tick = {});
}  // namespace lemmse
