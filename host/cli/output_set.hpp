// Output files written as NAME.partial and renamed into place only when every file of the run is
// complete: an interrupted or failed run never leaves a file that looks like a finished result
// (earlier results in the directory stay untouched until then). Uncommitted partials are removed.
#pragma once
#include <string>
#include <vector>

namespace lemmse {
class OutputSet {
 public:
  explicit OutputSet(std::string dir);
  ~OutputSet();  // removes the partial files of an uncommitted set
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;
  // Path to write `name` to (a .partial file until commit()).
  std::string path(const std::string& name);
  // Renames every partial file to its final name.
  void commit();

 private:
  std::string dir_;
  std::vector<std::string> names_;
  bool committed_ = false;
};
}  // namespace lemmse
