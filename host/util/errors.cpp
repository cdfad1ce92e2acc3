// Out-of-line anchor for the exception hierarchy (keeps vtables in one object file).
#include "lemmse/errors.hpp"
