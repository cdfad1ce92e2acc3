// Strict number parsing for option values: the whole text must be a finite number.
#pragma once
#include <string>

namespace lemmse {
double parse_double(const std::string& s, const std::string& what);
long parse_long(const std::string& s, const std::string& what);
}  // namespace lemmse
