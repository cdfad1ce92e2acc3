#include "util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lemmse {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? int(hw) : 1;
}

void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& task, const std::function<void()>& tick) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<int> running{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (std::size_t i; !failed && (i = next++) < n;) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
    --running;
  };
  const int t = std::max(1, std::min<int>(threads, int(n)));
  if (!tick && t == 1) {  // nothing to poll: run on the caller's thread
    running = 1;
    worker();
    if (error) std::rethrow_exception(error);
    return;
  }
  running = t;
  std::vector<std::thread> pool;
  for (int k = 0; k < t; ++k) pool.emplace_back(worker);
  int polls = 0;
  while (tick && running > 0) {  // without a tick the joins below wait, with no polling delay
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (tick && ++polls % 10 == 0) {
      try {
        tick();
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace lemmse
