#include "cli/signals.hpp"

#include <csignal>
#include <cstdlib>

namespace lemmse {
namespace {
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int sig) {
  if (g_interrupted) std::_Exit(128 + sig);  // second signal: stop now
  g_interrupted = sig;
}
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() { return g_interrupted != 0; }
}  // namespace lemmse
