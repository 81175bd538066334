// Helpers of the hostile-file tests: a fresh temp folder, a file written byte for byte, and an expectation that a
// call fails with a tandem::Error naming every given piece (the file, the key, the tensor, the value).
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <string>

#include "core/check.h"
#include "expect_error.h"
#include "io/atomic_file.h"

namespace tandem::hostile {

// One per test (ctest runs the tests of a fixture in parallel processes): named after the running test.
inline std::filesystem::path temp_dir(const std::string& name) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path p = std::filesystem::temp_directory_path() /
                                  ("tandem_hostile_" + name + (test ? std::string("_") + test->name() : ""));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

inline std::string write(const std::filesystem::path& path, const std::string& bytes) {
  write_file_atomic(path.string(), bytes);
  return path.string();
}

using testing::expect_error;

}  // namespace tandem::hostile
