#include "eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tandem {

namespace {

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string tick_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

// One axis mapping values to pixels: linear with "nice" ticks, or log10 with ticks at 1, 2 and 5 per decade
// (1 and 3 when the axis spans more than three decades, so labels do not collide).
struct Axis {
  double lo, hi, pixel_lo, pixel_hi;
  bool log;

  static Axis fit(double lo, double hi, double pixel_lo, double pixel_hi, bool log) {
    Axis a{lo, hi, pixel_lo, pixel_hi, log};
    if (a.log) {
      a.lo = std::pow(10, std::floor(std::log10(lo) * 4 - 0.25) / 4);
      a.hi = std::pow(10, std::ceil(std::log10(hi) * 4 + 0.25) / 4);
    } else {
      const double pad = (hi - lo) * 0.08 + 1e-9 + std::abs(hi) * 1e-6;
      a.lo -= pad, a.hi += pad;
    }
    return a;
  }
  double operator()(double v) const {
    const double t = log ? (std::log10(std::max(v, lo)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (std::clamp(v, lo, hi) - lo) / (hi - lo);
    return pixel_lo + t * (pixel_hi - pixel_lo);
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (log) {
      const bool wide = hi / lo > 1e3;
      for (double decade = std::pow(10, std::floor(std::log10(lo))); decade <= hi * 1.001; decade *= 10)
        for (double m : wide ? std::vector<double>{1, 3} : std::vector<double>{1, 2, 5})
          if (decade * m >= lo * 0.999 && decade * m <= hi * 1.001) t.push_back(decade * m);
      return t;
    }
    const double raw = (hi - lo) / 5, mag = std::pow(10, std::floor(std::log10(raw)));
    const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
    for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-6; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
    return t;
  }
};

std::string marker(const std::string& shape, double x, double y, double r, const std::string& fill,
                   const std::string& stroke) {
  std::ostringstream os;
  os << "<";
  if (shape == "circle") {
    os << "circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"" << r << "\"";
  } else if (shape == "square") {
    os << "rect x=\"" << x - r << "\" y=\"" << y - r << "\" width=\"" << 2 * r << "\" height=\"" << 2 * r << "\"";
  } else if (shape == "triangle") {
    os << "polygon points=\"" << x << "," << y - 1.2 * r << " " << x - 1.1 * r << "," << y + 0.9 * r << " "
       << x + 1.1 * r << "," << y + 0.9 * r << "\"";
  } else if (shape == "diamond") {
    os << "polygon points=\"" << x << "," << y - 1.3 * r << " " << x + 1.3 * r << "," << y << " " << x << ","
       << y + 1.3 * r << " " << x - 1.3 * r << "," << y << "\"";
  } else if (shape == "cross") {
    os << "path d=\"M" << x - r << "," << y - r << "L" << x + r << "," << y + r << "M" << x - r << "," << y + r << "L"
       << x + r << "," << y - r << "\"";
  } else {  // star: the ideal point
    os << "polygon points=\"";
    for (int i = 0; i < 10; ++i) {
      const double a = M_PI / 2 + i * M_PI / 5, rr = i % 2 ? r * 0.45 : r;
      os << x + rr * std::cos(a) << "," << y - rr * std::sin(a) << " ";
    }
    os << "\"";
  }
  os << " fill=\"" << fill << "\" stroke=\"" << stroke << "\" stroke-width=\"1.5\"/>";
  return os.str();
}

struct Label {
  std::string text;
  double px, py, ly;
  bool bold;  // a series or the ideal (bold) vs a point's own label (small, gray)
};

// Direct labels right of their points, pushed apart vertically where they would overlap; a moved label gets a
// leader line to its point.
void draw_labels(std::ostringstream& os, std::vector<Label> labels) {
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.ly < b.ly; });
  for (size_t i = 1; i < labels.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (std::abs(labels[i].px - labels[j].px) < 80 && labels[i].ly - labels[j].ly < 13) labels[i].ly = labels[j].ly + 13;
  for (const auto& l : labels) {
    const double lx = l.px + 9;
    if (std::abs(l.ly - 4 - l.py) > 8)
      os << "<line x1=\"" << l.px << "\" y1=\"" << l.py << "\" x2=\"" << lx - 1 << "\" y2=\"" << l.ly - 4
         << "\" stroke=\"#000\" stroke-width=\"0.6\"/>";
    os << "<text x=\"" << lx << "\" y=\"" << l.ly << "\" font-size=\"" << (l.bold ? 12 : 10) << "\""
       << (l.bold ? " font-weight=\"bold\"" : " fill=\"#333\"") << " class=\"label\">" << esc(l.text) << "</text>";
  }
}

// The legend, at (lx, ly) right of the data area: each series' line and marker, the ideal, the reference line.
void draw_legend(std::ostringstream& os, const PlotSpec& spec, double lx, double ly) {
  for (const auto& s : spec.series) {
    const SeriesStyle& st = s.style;
    os << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 30 << "\" y2=\"" << ly << "\" stroke=\""
       << st.stroke << "\" stroke-width=\"2\" stroke-dasharray=\"" << st.dash << "\"/>"
       << marker(st.marker, lx + 15, ly, 4.5, st.stroke, "#000") << "<text x=\"" << lx + 36 << "\" y=\"" << ly + 4
       << "\" class=\"legend\">" << esc(st.label) << "</text>";
    ly += 20;
  }
  if (spec.has_ideal) {
    os << marker("star", lx + 15, ly, 7, "#000", "#000") << "<text x=\"" << lx + 36 << "\" y=\"" << ly + 4
       << "\" class=\"legend\">ideal</text>";
    ly += 20;
  }
  if (!spec.y_reference.empty())
    os << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 30 << "\" y2=\"" << ly
       << "\" stroke=\"#000\" stroke-dasharray=\"1,3\"/><text x=\"" << lx + 36 << "\" y=\"" << ly + 4
       << "\" class=\"legend\">" << esc(spec.y_reference_label) << "</text>";
}

}  // namespace

SeriesStyle method_style(const std::string& method) {
  if (method == "sequential") return {"Sequential", "#000000", "", "circle"};
  if (method == "mix") return {"Mix", "#555555", "8,4", "square"};
  if (method == "alright") return {"ALRIGHT", "#000000", "2,3", "triangle"};
  if (method == "maxright") return {"MAXRIGHT", "#777777", "10,3,2,3", "diamond"};
  if (method == "sft") return {"SFT only", "#999999", "4,2", "cross"};
  if (method == "dpo") return {"DPO only", "#999999", "1,2", "cross"};
  return {method, "#333333", "6,2,1,2", "cross"};
}

bool wants_log_axis(double lo, double hi) { return lo > 0 && hi / lo > 10; }

std::string svg_plot(const PlotSpec& spec) {
  // The right margin holds the direct labels of points at the right edge (first 80 px), then the legend.
  const double W = 600, H = 400, left = 64, right = 190, top = 30, bottom = 50;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto extend = [&](double x, double y) {
    if (std::isfinite(x)) x0 = std::min(x0, x), x1 = std::max(x1, x);
    if (std::isfinite(y)) y0 = std::min(y0, y), y1 = std::max(y1, y);
  };
  for (const auto& s : spec.series)
    for (const auto& p : s.points) extend(p.x, p.y);
  if (spec.has_ideal) extend(spec.ideal_x, spec.ideal_y);
  for (double r : spec.y_reference) extend(NAN, r);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  // The scale is chosen from the values; error bars then widen a linear range, and on a log axis a bar reaching
  // below the axis is clipped at its bottom.
  const bool log_x = wants_log_axis(x0, x1), log_y = wants_log_axis(y0, y1);
  for (const auto& s : spec.series)
    for (const auto& p : s.points) {
      if (!log_x && std::isfinite(p.x_err)) extend(p.x - p.x_err, NAN), extend(p.x + p.x_err, NAN);
      if (!log_y && std::isfinite(p.y_err)) extend(NAN, p.y - p.y_err), extend(NAN, p.y + p.y_err);
    }
  const Axis sx = Axis::fit(x0, x1, left, W - right, log_x), sy = Axis::fit(y0, y1, H - bottom, top, log_y);

  std::ostringstream os;
  os << "<svg class=\"plot\" id=\"" << esc(spec.id) << "\" role=\"img\" viewBox=\"0 0 " << W << " " << H
     << "\" width=\"" << W << "\" height=\"" << H
     << "\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\" data-x-scale=\""
     << (sx.log ? "log" : "linear") << "\" data-y-scale=\"" << (sy.log ? "log" : "linear") << "\"><title>"
     << esc(spec.title) << "</title><text x=\"" << left << "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">"
     << esc(spec.title) << "</text><rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << W - left - right
     << "\" height=\"" << H - top - bottom << "\" fill=\"none\" stroke=\"#000\"/>";
  for (double v : sx.ticks())
    os << "<line x1=\"" << sx(v) << "\" y1=\"" << top << "\" x2=\"" << sx(v) << "\" y2=\"" << H - bottom
       << "\" stroke=\"#e0e0e0\"/><text x=\"" << sx(v) << "\" y=\"" << H - bottom + 15
       << "\" text-anchor=\"middle\" font-size=\"11\">" << tick_text(v) << "</text>";
  for (double v : sy.ticks())
    os << "<line x1=\"" << left << "\" y1=\"" << sy(v) << "\" x2=\"" << W - right << "\" y2=\"" << sy(v)
       << "\" stroke=\"#e0e0e0\"/><text x=\"" << left - 5 << "\" y=\"" << sy(v) + 4
       << "\" text-anchor=\"end\" font-size=\"11\">" << tick_text(v) << "</text>";
  os << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">"
     << esc(spec.x_label) << (sx.log ? " (log scale)" : "") << "</text><text transform=\"translate(14,"
     << (top + H - bottom) / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << esc(spec.y_label)
     << (sy.log ? " (log scale)" : "") << "</text>";
  for (double r : spec.y_reference)
    os << "<line x1=\"" << left << "\" y1=\"" << sy(r) << "\" x2=\"" << W - right << "\" y2=\"" << sy(r)
       << "\" stroke=\"#000\" stroke-width=\"1\" stroke-dasharray=\"1,3\"/>";

  std::vector<Label> labels;  // one set, so point labels, series labels and "ideal" are kept apart
  for (const auto& s : spec.series) {
    if (s.points.empty()) continue;
    const SeriesStyle& st = s.style;
    for (const auto& p : s.points) {  // error bars first, so markers sit on top
      if (p.x_err > 0)
        os << "<line class=\"errbar\" x1=\"" << sx(p.x - p.x_err) << "\" y1=\"" << sy(p.y) << "\" x2=\""
           << sx(p.x + p.x_err) << "\" y2=\"" << sy(p.y) << "\" stroke=\"" << st.stroke << "\" stroke-width=\"1\"/>";
      if (p.y_err > 0)
        os << "<line class=\"errbar\" x1=\"" << sx(p.x) << "\" y1=\"" << sy(p.y - p.y_err) << "\" x2=\"" << sx(p.x)
           << "\" y2=\"" << sy(p.y + p.y_err) << "\" stroke=\"" << st.stroke << "\" stroke-width=\"1\"/>";
    }
    os << "<polyline fill=\"none\" stroke=\"" << st.stroke << "\" stroke-width=\"2\" stroke-dasharray=\"" << st.dash
       << "\" points=\"";
    for (const auto& p : s.points) os << sx(p.x) << "," << sy(p.y) << " ";
    os << "\"/>";
    const bool few = s.points.size() <= 12;  // long curves get a marker at their end only
    for (size_t i = 0; i < s.points.size(); ++i) {
      const auto& p = s.points[i];
      if (few || i + 1 == s.points.size()) os << marker(st.marker, sx(p.x), sy(p.y), 4.5, st.stroke, "#000");
      if (!p.label.empty()) labels.push_back({p.label, sx(p.x), sy(p.y), sy(p.y) + 14, false});
    }
    labels.push_back({st.label, sx(s.points.back().x), sy(s.points.back().y), sy(s.points.back().y) - 6, true});
  }
  if (spec.has_ideal) {
    os << marker("star", sx(spec.ideal_x), sy(spec.ideal_y), 9, "#000", "#000");
    labels.push_back({"ideal", sx(spec.ideal_x), sy(spec.ideal_y), sy(spec.ideal_y) + 4, true});
  }
  draw_labels(os, labels);

  draw_legend(os, spec, W - right + 82, top + 10);
  os << "</svg>";
  return os.str();
}

}  // namespace tandem
