// Human-readable sizes for messages (memory refusals name what is needed and what is free).
#pragma once
#include <cstdio>
#include <string>

namespace lemmse {
inline std::string gib(double bytes) {
  char s[64];
  std::snprintf(s, sizeof s, "%.2f GiB", bytes / 1073741824.0);
  return s;
}
}  // namespace lemmse
