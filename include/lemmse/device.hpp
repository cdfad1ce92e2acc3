// CUDA device discovery. Builds without CUDA report zero devices.
#pragma once
#include <string>

namespace lemmse {
// Number of usable CUDA devices (0 when CUDA is not built in or no driver/device is present).
int cuda_device_count();
// One line per device ("0: NVIDIA H200, sm_90, 139.8 GiB"), or a reason why there are none.
std::string cuda_device_summary();
// True when this binary was compiled with the CUDA sources.
bool cuda_built();
}  // namespace lemmse
