// Errors that name what went wrong. Every user-facing failure is a tandem::Error with a readable message.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace tandem {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: fail("tensor ", name, " has shape ", shape).
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(os.str());
}

}  // namespace tandem

#define TANDEM_CHECK(cond, ...)            \
  do {                                     \
    if (!(cond)) ::tandem::fail(__VA_ARGS__); \
  } while (0)
