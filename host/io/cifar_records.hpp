// CIFAR-10 records parsed straight into a caller's buffer, so that a split of several batch files
// is built in one allocation (dataset.cpp) instead of per-batch images then a concatenated copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lemmse {
// Records in a CIFAR-10 binary batch (1 label byte + 3 × 32 × 32 pixel bytes each); throws
// FormatError naming `what` when the batch is empty or not a whole number of records.
std::size_t cifar_record_count(const std::vector<std::uint8_t>& bytes, const std::string& what);
// Writes record i's pixels / 255 to dst + i·3072 (channel planes R, G, B) and its label to
// labels[i] (labels may be null); throws FormatError on a label above 9.
void parse_cifar_records(const std::vector<std::uint8_t>& bytes, const std::string& what, double* dst, int* labels);
}  // namespace lemmse
