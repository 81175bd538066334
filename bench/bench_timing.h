// Timing helpers shared by the benchmarks: wall seconds of one call, and the median of repetitions.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace tandem::bench {

inline double seconds(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace tandem::bench
