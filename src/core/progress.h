// A one-line progress bar on stderr: steps, a caller-supplied status (losses), throughput and ETA.
// On a terminal it redraws in place; otherwise (CI logs) it prints a line at every 10%.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tandem {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total)
      : label_(std::move(label)), total_(total), start_(Clock::now()), tty_(isatty(STDERR_FILENO)) {}

  // done: steps completed; units: e.g. tokens processed so far (for the rate); status: free text.
  void update(int64_t done, int64_t units, const std::string& status) {
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    const int64_t decile = total_ > 0 ? done * 10 / total_ : 0;
    if (!tty_ && decile == last_decile_ && done != total_) return;
    last_decile_ = decile;
    const int width = 24;
    const int filled = total_ > 0 ? int(width * done / total_) : width;
    const double eta = done > 0 ? secs * double(total_ - done) / double(done) : 0.0;
    std::fprintf(stderr, "%s%s [%s%s] %lld/%lld %s | %.0f tok/s | %.0fs elapsed, ETA %.0fs%s", tty_ ? "\r" : "",
                 label_.c_str(), std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 (long long)done, (long long)total_, status.c_str(), secs > 0 ? double(units) / secs : 0.0, secs, eta,
                 tty_ ? "\033[K" : "\n");
    if (tty_ && done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_;
  Clock::time_point start_;
  bool tty_;
  int64_t last_decile_ = -1;
};

}  // namespace tandem
