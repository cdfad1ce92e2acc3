// Shared by the libFuzzer targets: every lemmse::Error is an accepted outcome (a clear refusal);
// anything else — a crash, a sanitizer report, another exception type, a leak — is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lemmse/errors.hpp"

// Each target defines fuzz_one(); this entry point runs it and accepts lemmse::Error.
static void fuzz_one(const std::vector<std::uint8_t>& bytes);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  try {
    fuzz_one(bytes);
  } catch (const lemmse::Error&) {
  }
  return 0;
}

// Inflated-size cap for the fuzzers (libFuzzer's memory limit is 2 GiB).
constexpr std::size_t kFuzzMaxInflate = std::size_t(64) << 20;
