// Sets an environment variable (the engines' tuning variables) for a scope, and unsets it again
// even when a REQUIRE leaves the scope early.
#pragma once
#include <cstdlib>

namespace lemmse_test {
struct ScopedEnv {
  const char* name;
  ScopedEnv(const char* n, const char* v) : name(n) { setenv(n, v, 1); }
  ~ScopedEnv() { unsetenv(name); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
};
}  // namespace lemmse_test
