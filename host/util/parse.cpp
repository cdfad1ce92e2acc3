#include "util/parse.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "lemmse/errors.hpp"

namespace lemmse {
double parse_double(const std::string& s, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw InvalidArgument(what + ": '" + s + "' is not a finite number");
  return v;
}
long parse_long(const std::string& s, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE) throw InvalidArgument(what + ": '" + s + "' is not an integer");
  return v;
}
long env_count(const char* name, long lo, long hi) {
  const char* env = std::getenv(name);
  if (!env) return 0;
  const long v = parse_long(env, name);
  if (v < lo || v > hi) throw InvalidArgument(std::string(name) + " must be " + std::to_string(lo) + " to " + std::to_string(hi) + ", not " + env);
  return v;
}
}  // namespace lemmse
