// The tests' check for a clean rejection: fn throws a tandem::Error whose message holds every needle (the message
// is printed when one is missing), not another exception, a crash or silence.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/check.h"

namespace tandem::testing {

template <typename Fn>
void expect_error(Fn&& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << needles.front() << "'";
  } catch (const Error& e) {
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "missing '" << n << "' in: " << e.what();
  }
}

}  // namespace tandem::testing
