// Typed exceptions thrown inside lemmse. They never cross a C boundary: the CLI catches them
// in main() and the (future) C API turns them into status codes.
#pragma once
#include <stdexcept>
#include <string>

namespace lemmse {

// Base class: every error lemmse raises on purpose derives from it.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A parameter or an input array is not acceptable (bad shape, σ ≤ 0, even patch size, NaN...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};
// A file could not be opened, read or written.
class IoError : public Error {
 public:
  using Error::Error;
};
// A file was read but its content is not what its format promises (magic, size, header).
class FormatError : public Error {
 public:
  using Error::Error;
};
// A valid request this build or backend cannot serve (e.g. --backend cuda without a GPU).
class Unsupported : public Error {
 public:
  using Error::Error;
};
// A request needs more memory than the machine has (the message names both sizes).
class ResourceError : public Error {
 public:
  using Error::Error;
};
// The caller's progress callback asked to stop.
class Cancelled : public Error {
 public:
  using Error::Error;
};
// A numerical precondition failed (e.g. a patch covariance that is not positive definite).
class NumericalError : public Error {
 public:
  using Error::Error;
};

}  // namespace lemmse
