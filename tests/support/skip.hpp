// Skipping tests whose data or device is absent. Under ctest (LEMMSE_TEST_SKIP_EXIT set) the
// process exits with 77, which ctest reports as "Skipped"; run by hand, the test warns and
// returns so the rest of the binary still runs.
#pragma once
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#define LEMMSE_SKIP(reason)                                             \
  do {                                                                  \
    const std::string lemmse_reason_ = (reason);                        \
    if (std::getenv("LEMMSE_TEST_SKIP_EXIT")) {                         \
      std::fprintf(stdout, "SKIPPED: %s\n", lemmse_reason_.c_str());    \
      std::fflush(stdout);                                              \
      std::_Exit(77);                                                   \
    }                                                                   \
    WARN("SKIPPED: " << lemmse_reason_);                                \
    return;                                                             \
  } while (0)

namespace lemmse_test {
// Directory holding the shared real datasets ($LEMMSE_DATA_DIR), or "" when unset/missing.
std::string data_dir();
// FashionMNIST IDX folder (Debian dataset-fashion-mnist), or "" when absent.
std::string fashion_mnist_dir();
// A fresh temporary directory for one test (removed when the test process exits normally).
std::string temp_dir(const std::string& tag);
}  // namespace lemmse_test
