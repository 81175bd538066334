// Compact numbers for report cells, so a "mean ± std" cell fits one line: three significant digits for values,
// two for spreads, plain decimals rather than exponents down to 0.0001.
#pragma once
#include <string>

#include "eval/metrics.h"

namespace tandem {

// v to `digits` significant digits ("–" for NaN or infinity): 5.08, 0.0512, 0.000812, 1.2e-05, 1.23e+04.
std::string compact(double v, int digits = 3);
// A count (seeds, steps, questions): "40"; compact() for a value that is not a whole number.
std::string count_text(double v);
// A lambda as the user wrote it: 0.25, 0.5, 1.
std::string lambda_text(double lambda);
// "mean ± std" ("mean" alone for one value; "–" when there is none).
std::string mean_pm_std(const MeanStd& m);
// A signed percentage: "+12%", "−3%" (true minus sign), with `digits` significant digits at most.
std::string signed_pct(double pct);

}  // namespace tandem
