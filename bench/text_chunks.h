// The tokenizer benches' unit of work: a text in chunks of N lines (200 in bench/run_tokenizer_bench.sh, as the
// Hugging Face side is timed), rejoined with "\n".
#pragma once
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

inline std::vector<std::string> text_chunks(const std::string& text, size_t lines_per_chunk) {
  std::vector<std::string> lines, chunks;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); i += lines_per_chunk) {
    std::string chunk;
    for (size_t j = i; j < std::min(lines.size(), i + lines_per_chunk); ++j) chunk += (j > i ? "\n" : "") + lines[j];
    chunks.push_back(chunk);
  }
  return chunks;
}
