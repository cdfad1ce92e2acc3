// Host entry point of the device self-check of the shared softmax arithmetic (GPU tests only).
#pragma once
#include <vector>

namespace lemmse {
// Streams (logits[i], values[i*C .. i*C+C)) through softmax_push on the device; returns
// {log-density, effective count, mean[0..C), variance[0..C)}.
std::vector<double> device_softmax_stream(const std::vector<double>& logits, const std::vector<double>& values, int C);
}  // namespace lemmse
