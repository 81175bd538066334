// Line plots as inline SVG for the reports, in black and grays only: each series has its own marker shape and dash
// pattern, points can carry error bars in x and y and a short text label, series are labelled directly at their
// last point and in a legend to the right of the data area (never over it). Axes are linear, or log10 when the
// values span more than a decade (hi / lo > 10, all values positive): the demo's f_DPO runs from 0.036 near the
// ideal to 0.43 for Sequential, and a linear axis gave the points near the ideal a tenth of the width (f_SFT, from
// 0.001 to 8, left them a few pixels).
#pragma once
#include <string>
#include <vector>

namespace tandem {

struct SeriesStyle {
  std::string label;   // legend and direct label text
  std::string stroke;  // a gray
  std::string dash;    // SVG stroke-dasharray ("" = solid)
  std::string marker;  // circle | square | triangle | diamond | cross
};

// The fixed style of a method (Sequential, Mix, ALRIGHT, MAXRIGHT, single-objective SFT/DPO) and its display name.
SeriesStyle method_style(const std::string& method);

struct PlotPoint {
  double x = 0, y = 0;
  double x_err = 0, y_err = 0;  // half-widths of the error bars (std over seeds); 0 = none
  std::string label;            // drawn beside the point ("" = none), e.g. "λ=0.5"
};

struct PlotSeries {
  SeriesStyle style;
  std::vector<PlotPoint> points;  // drawn in this order
};

struct PlotSpec {
  std::string id;     // the svg element's id
  std::string title;  // above the plot
  std::string x_label, y_label;
  std::vector<PlotSeries> series;
  bool has_ideal = false;  // the ideal point, a star labelled "ideal"
  double ideal_x = 0, ideal_y = 0;
  std::vector<double> y_reference;  // horizontal dotted lines (e.g. f* on a loss-vs-step plot)
  std::string y_reference_label;
};

// True when [lo, hi] asks for a log axis (the rule above).
bool wants_log_axis(double lo, double hi);

std::string svg_plot(const PlotSpec& spec);

}  // namespace tandem
