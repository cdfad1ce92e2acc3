#include "util/parse.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

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
}  // namespace lemmse
