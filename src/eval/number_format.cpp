#include "eval/number_format.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace tandem {

std::string compact(double v, int digits) {
  if (!std::isfinite(v)) return "–";
  if (v == 0) return "0";
  char b[48];
  const double a = std::abs(v);
  if (a >= 1e-4 && a < 1e5) {
    // Fixed notation with as many decimals as `digits` significant digits need (none beyond the units).
    const int magnitude = int(std::floor(std::log10(a)));
    const int decimals = std::max(0, digits - 1 - magnitude);
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
  } else {
    std::snprintf(b, sizeof b, "%.*g", digits, v);
  }
  return b;
}

std::string lambda_text(double lambda) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", lambda);
  return b;
}

std::string count_text(double v) {
  if (!std::isfinite(v) || v != std::round(v) || std::abs(v) >= 1e15) return compact(v);
  char b[32];
  std::snprintf(b, sizeof b, "%.0f", v);
  return b;
}

std::string mean_pm_std(const MeanStd& m) {
  if (m.n == 0 || !std::isfinite(m.mean)) return "–";
  if (m.n == 1) return compact(m.mean);
  return compact(m.mean) + " ± " + compact(m.std, 2);
}

std::string signed_pct(double pct) {
  if (!std::isfinite(pct)) return "–";
  const double r = std::round(pct);
  if (r == 0) return "0%";
  char b[32];
  std::snprintf(b, sizeof b, "%.0f%%", std::abs(r));
  return (r > 0 ? "+" : "−") + std::string(b);
}

}  // namespace tandem
