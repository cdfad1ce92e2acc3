#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace lemmse {

ProgressReporter::ProgressReporter(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), tty_(isatty(2) != 0),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void ProgressReporter::update(double done, double total) {
  if (!enabled_ || total <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 1.0 || since < (tty_ ? 0.25 : 5.0)) return;  // short runs stay silent
  last_ = now;
  const double f = done / total;
  const double eta = f > 0 ? elapsed * (1 - f) / f : 0;
  std::fprintf(stderr, "%slemmse: %s %5.1f%%  elapsed %.1f s  remaining ~%.1f s%s", tty_ ? "\r" : "", label_.c_str(),
               100 * f, elapsed, eta, tty_ ? "   " : "\n");
  std::fflush(stderr);
  printed_ = true;
}

void ProgressReporter::finish() {
  if (!enabled_ || !printed_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%slemmse: %s done in %.1f s%s\n", tty_ ? "\r" : "", label_.c_str(), elapsed, tty_ ? "                    " : "");
}

}  // namespace lemmse
