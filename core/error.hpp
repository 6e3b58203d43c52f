// Typed errors and the checks: CONVOY_CHECK for what a user can cause, CONVOY_ASSERT (and the
// debug-only CONVOY_DEBUG_ASSERT) for bugs.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace convoy {

// Base of every error Convoy throws. The message is one line a user can act on: it names the
// object (file, argument, layer), what was expected and what was found.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConfigError : public Error {  // bad argument, option or setting
 public:
  using Error::Error;
};
class ShapeError : public Error {  // tensors or layers that do not fit together
 public:
  using Error::Error;
};
class IoError : public Error {  // files: missing, truncated, malformed
 public:
  using Error::Error;
};
class CommError : public Error {  // communication between ranks
 public:
  using Error::Error;
};
class InternalError : public Error {  // a bug in Convoy, never the user's fault
 public:
  using Error::Error;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace convoy

// CONVOY_CHECK(cond, ErrorType, message parts...): throws ErrorType with the parts concatenated.
#define CONVOY_CHECK(cond, ErrorType, ...)                        \
  do {                                                            \
    if (!(cond)) [[unlikely]]                                     \
      throw ErrorType(::convoy::detail::concat(__VA_ARGS__));     \
  } while (0)

// CONVOY_ASSERT(cond, message parts...): an internal invariant; the message carries file:line.
#define CONVOY_ASSERT(cond, ...)                                                          \
  do {                                                                                    \
    if (!(cond)) [[unlikely]]                                                             \
      throw ::convoy::InternalError(::convoy::detail::concat(                             \
          "internal error at ", __FILE__, ":", __LINE__, ": ", #cond, " ", ##__VA_ARGS__)); \
  } while (0)

// CONVOY_DEBUG_ASSERT(cond, message parts...): CONVOY_ASSERT in debug builds (no NDEBUG, or
// CONVOY_DEBUG_CHECKS defined) and nothing at all in release builds, for invariants on hot
// paths whose check costs more than the work it guards (a size computed again, a scan of a
// buffer). The condition is not evaluated in release builds: it must have no side effects.
#if !defined(NDEBUG) || defined(CONVOY_DEBUG_CHECKS)
#define CONVOY_DEBUG_ASSERT(cond, ...) CONVOY_ASSERT(cond, ##__VA_ARGS__)
#else
#define CONVOY_DEBUG_ASSERT(cond, ...) \
  do {                                 \
    (void)sizeof(!(cond));             \
  } while (0)
#endif
