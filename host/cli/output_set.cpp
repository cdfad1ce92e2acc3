#include "cli/output_set.hpp"

#include <cstdio>
#include <filesystem>

#include "lemmse/errors.hpp"

namespace lemmse {

OutputSet::OutputSet(std::string dir) : dir_(std::move(dir)) {}

OutputSet::~OutputSet() {
  if (committed_) return;
  for (const auto& n : names_) std::remove((dir_ + "/" + n + ".partial").c_str());
}

std::string OutputSet::path(const std::string& name) {
  names_.push_back(name);
  return dir_ + "/" + name + ".partial";
}

void OutputSet::commit() {
  for (const auto& n : names_) {
    const std::string from = dir_ + "/" + n + ".partial", to = dir_ + "/" + n;
    if (std::rename(from.c_str(), to.c_str()) != 0) throw IoError("cannot rename '" + from + "' to '" + to + "'");
  }
  committed_ = true;
}

}  // namespace lemmse
