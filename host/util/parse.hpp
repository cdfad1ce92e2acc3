// Strict number parsing for option values and tuning variables: the whole text must be a finite
// number.
#pragma once
#include <string>

namespace lemmse {
double parse_double(const std::string& s, const std::string& what);
long parse_long(const std::string& s, const std::string& what);
// A count from environment variable `name`: 0 when unset, else its whole-number value, which
// must lie in lo..hi (lo ≥ 1), or InvalidArgument naming the variable.
long env_count(const char* name, long lo, long hi);
}  // namespace lemmse
