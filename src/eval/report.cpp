#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/check.h"
#include "eval/metrics.h"
#include "io/json_file.h"

namespace tandem {

namespace {

struct Style {
  const char* label;
  const char* stroke;
  const char* dash;
  const char* marker;  // circle | square | triangle | diamond
};

Style style_of(const std::string& method) {
  if (method == "sequential") return {"Sequential", "#000000", "", "circle"};
  if (method == "mix") return {"Mix", "#555555", "8,4", "square"};
  if (method == "alright") return {"ALRIGHT", "#000000", "2,3", "triangle"};
  return {"MAXRIGHT", "#777777", "10,3,2,3", "diamond"};
}

std::string fmt(double v, int precision = 3) {
  if (!std::isfinite(v)) return "–";
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(precision);
  os << v;
  return os.str();
}

std::string pm(const MeanStd& m, int precision = 3) {
  return fmt(m.mean, precision) + " <span class=\"sd\">± " + fmt(m.std, precision) + "</span>";
}

std::string marker_svg(const std::string& shape, double x, double y, double r, const char* fill, const char* stroke) {
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

struct Run {
  std::string method;
  double lambda;
  nlohmann::json summary;
  std::vector<std::pair<double, double>> trajectory;  // (f_dpo, f_sft) at each evaluation
};

std::vector<std::pair<double, double>> read_trajectory(const std::string& dir) {
  std::vector<std::pair<double, double>> t;
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("eval") && j["f_dpo"].is_number() && j["f_sft"].is_number())
      t.emplace_back(j["f_dpo"].get<double>(), j["f_sft"].get<double>());
  }
  return t;
}

double num(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

// Mean trajectory over a method's seeds (evaluations are at the same steps in every seed).
std::vector<std::pair<double, double>> mean_trajectory(const std::vector<const Run*>& runs) {
  size_t n = SIZE_MAX;
  for (const Run* r : runs) n = std::min(n, r->trajectory.size());
  std::vector<std::pair<double, double>> mean(n == SIZE_MAX ? 0 : n, {0.0, 0.0});
  for (const Run* r : runs)
    for (size_t i = 0; i < mean.size(); ++i) {
      mean[i].first += r->trajectory[i].first / double(runs.size());
      mean[i].second += r->trajectory[i].second / double(runs.size());
    }
  return mean;
}

// One axis: linear, or log10 when the values span more than two decades (losses near an ideal of 0.001 and a
// forgetting run at 8 would otherwise share one corner).
struct Axis {
  double lo, hi;
  bool log;
  double pixel_lo, pixel_hi;
  static Axis fit(double lo, double hi, double pixel_lo, double pixel_hi) {
    Axis a{lo, hi, lo > 0 && hi / lo > 100, pixel_lo, pixel_hi};
    if (a.log) {
      a.lo = std::pow(10, std::floor(std::log10(lo) * 4) / 4);
      a.hi = std::pow(10, std::ceil(std::log10(hi) * 4) / 4);
    } else {
      const double pad = (hi - lo) * 0.06 + 1e-6;
      a.lo -= pad, a.hi += pad;
    }
    return a;
  }
  double operator()(double v) const {
    const double t = log ? (std::log10(std::max(v, lo)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return pixel_lo + t * (pixel_hi - pixel_lo);
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (!log) {
      for (int i = 0; i <= 4; ++i) t.push_back(lo + (hi - lo) * i / 4);
      return t;
    }
    for (double decade = std::pow(10, std::floor(std::log10(lo))); decade <= hi; decade *= 10)
      for (double m : {1.0, 3.0})
        if (decade * m >= lo * 0.999 && decade * m <= hi * 1.001) t.push_back(decade * m);
    return t;
  }
  std::string label(double v) const {
    if (!log) return fmt(v, 2);
    std::ostringstream os;
    os << v;
    return os.str();
  }
};

std::string plot_svg(double lambda, const std::map<std::string, std::vector<std::pair<double, double>>>& lines,
                     double ideal_dpo, double ideal_sft) {
  const double W = 560, H = 420, left = 62, right = 130, top = 30, bottom = 52;
  double x0 = ideal_dpo, x1 = ideal_dpo, y0 = ideal_sft, y1 = ideal_sft;
  for (const auto& [m, pts] : lines)
    for (const auto& [x, y] : pts) {
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  const Axis sx = Axis::fit(x0, x1, left, W - right), sy = Axis::fit(y0, y1, H - bottom, top);
  std::ostringstream os;
  os << "<svg class=\"plot\" role=\"img\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W << "\" height=\"" << H
     << "\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\">"
     << "<title>Trajectories at lambda = " << lambda << "</title>"
     << "<text x=\"" << left << "\" y=\"18\" font-size=\"14\" font-weight=\"bold\">λ = " << lambda
     << ": (f_DPO, f_SFT) during training, mean over seeds</text>"
     << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << W - left - right << "\" height=\""
     << H - top - bottom << "\" fill=\"none\" stroke=\"#000\"/>";
  for (double xv : sx.ticks())
    os << "<line x1=\"" << sx(xv) << "\" y1=\"" << top << "\" x2=\"" << sx(xv) << "\" y2=\"" << H - bottom
       << "\" stroke=\"#ddd\"/><text x=\"" << sx(xv) << "\" y=\"" << H - bottom + 16 << "\" text-anchor=\"middle\">"
       << sx.label(xv) << "</text>";
  for (double yv : sy.ticks())
    os << "<line x1=\"" << left << "\" y1=\"" << sy(yv) << "\" x2=\"" << W - right << "\" y2=\"" << sy(yv)
       << "\" stroke=\"#ddd\"/><text x=\"" << left - 6 << "\" y=\"" << sy(yv) + 4 << "\" text-anchor=\"end\">"
       << sy.label(yv) << "</text>";
  os << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">f_DPO (preference loss, held out"
     << (sx.log ? ", log scale" : "") << ")</text><text transform=\"translate(16," << (top + H - bottom) / 2
     << ") rotate(-90)\" text-anchor=\"middle\">f_SFT (SFT loss, held out" << (sy.log ? ", log scale" : "")
     << ")</text>";

  // Direct labels at the end points, the ideal point included, pushed apart vertically where they would overlap;
  // a moved label gets a leader line to its point.
  struct Label {
    std::string text;
    double px, py, ly;
  };
  std::vector<Label> labels;
  bool start_drawn = false;
  for (const auto& [method, pts] : lines) {
    if (pts.empty()) continue;
    const Style st = style_of(method);
    os << "<polyline fill=\"none\" stroke=\"" << st.stroke << "\" stroke-width=\"2\" stroke-dasharray=\"" << st.dash
       << "\" points=\"";
    for (const auto& [x, y] : pts) os << sx(x) << "," << sy(y) << " ";
    os << "\"/>";
    for (size_t i = 1; i + 1 < pts.size(); ++i)
      os << marker_svg(st.marker, sx(pts[i].first), sy(pts[i].second), 2.5, "#fff", st.stroke);
    os << marker_svg(st.marker, sx(pts.back().first), sy(pts.back().second), 6, st.stroke, "#000");
    labels.push_back({st.label, sx(pts.back().first), sy(pts.back().second), sy(pts.back().second) - 7});
    if (!start_drawn) {
      os << "<circle cx=\"" << sx(pts[0].first) << "\" cy=\"" << sy(pts[0].second)
         << "\" r=\"5\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"2\"/><text x=\"" << sx(pts[0].first) + 8
         << "\" y=\"" << sy(pts[0].second) + 16 << "\">start</text>";
      start_drawn = true;
    }
  }
  os << marker_svg("star", sx(ideal_dpo), sy(ideal_sft), 9, "#000", "#000");
  labels.push_back({"ideal", sx(ideal_dpo), sy(ideal_sft), sy(ideal_sft) + 4});
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.ly < b.ly; });
  for (size_t i = 1; i < labels.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (std::abs(labels[i].px - labels[j].px) < 90 && labels[i].ly - labels[j].ly < 15) labels[i].ly = labels[j].ly + 15;
  for (const auto& l : labels) {
    const double lx = l.px + 16;
    if (std::abs(l.ly - l.py) > 8)
      os << "<line x1=\"" << l.px << "\" y1=\"" << l.py << "\" x2=\"" << lx - 2 << "\" y2=\"" << l.ly - 4
         << "\" stroke=\"#000\" stroke-width=\"0.8\"/>";
    os << "<text x=\"" << lx << "\" y=\"" << l.ly << "\" font-weight=\"bold\" class=\"label\">" << l.text << "</text>";
  }
  // Legend, outside the data area.
  double ly = top + 10;
  for (const auto& [method, pts] : lines) {
    const Style st = style_of(method);
    const double lx = W - right + 14;
    os << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 34 << "\" y2=\"" << ly << "\" stroke=\""
       << st.stroke << "\" stroke-width=\"2\" stroke-dasharray=\"" << st.dash << "\"/>"
       << marker_svg(st.marker, lx + 17, ly, 5, st.stroke, "#000") << "<text x=\"" << lx + 40 << "\" y=\""
       << ly + 4 << "\">" << st.label << "</text>";
    ly += 22;
  }
  os << marker_svg("star", W - right + 31, ly, 7, "#000", "#000") << "<text x=\"" << W - right + 54 << "\" y=\""
     << ly + 4 << "\">ideal</text></svg>";
  return os.str();
}

}  // namespace

std::string sweep_report_html(const std::string& sweep_dir, const std::string& title) {
  const auto summary = read_json_file(sweep_dir + "/summary.json");
  const double ideal_sft = summary["ideal"]["f_sft"], ideal_dpo = summary["ideal"]["f_dpo"];
  std::vector<Run> runs;
  std::ifstream in(sweep_dir + "/runs.jsonl");
  TANDEM_CHECK(in, sweep_dir, "/runs.jsonl: cannot open (run tandem sweep first)");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    runs.push_back({j["method"], j["lambda"], j, read_trajectory(j["dir"])});
  }
  std::vector<double> lambdas;
  std::vector<std::string> methods;
  for (const auto& r : runs) {
    if (std::find(lambdas.begin(), lambdas.end(), r.lambda) == lambdas.end()) lambdas.push_back(r.lambda);
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end()) methods.push_back(r.method);
  }

  std::ostringstream html;
  html << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << title << "</title><style>"
       << "body{font-family:sans-serif;max-width:1180px;margin:24px auto;color:#111;line-height:1.4}"
       << "table{border-collapse:collapse;margin:12px 0;font-size:13px}th,td{border:1px solid #999;padding:4px 8px;"
       << "text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}.sd{color:#555}"
       << ".plots{display:flex;flex-wrap:wrap;gap:12px}.best{font-weight:bold}</style></head><body>"
       << "<h1>" << title << "</h1>"
       << "<p>Ideal point (mean final values of single-objective SFT and DPO runs): f*_SFT = " << fmt(ideal_sft)
       << ", f*_DPO = " << fmt(ideal_dpo) << ". Losses are measured on held-out data. Ideal distance = ||(f_SFT - "
       << "f*_SFT, f_DPO - f*_DPO)||; normalised: each gap divided by its gap at the start of training. Judges score "
       << "greedy generations on held-out prompts exactly.</p>";

  html << "<h2>Trajectories</h2><div class=\"plots\">";
  for (double lambda : lambdas) {
    std::map<std::string, std::vector<std::pair<double, double>>> lines;
    for (const auto& m : methods) {
      std::vector<const Run*> rs;
      for (const auto& r : runs)
        if (r.method == m && r.lambda == lambda) rs.push_back(&r);
      lines[m] = mean_trajectory(rs);
    }
    html << plot_svg(lambda, lines, ideal_dpo, ideal_sft);
  }
  html << "</div>";

  html << "<h2>Final results (mean ± std over seeds)</h2><table id=\"results\"><thead><tr><th>method</th><th>λ</th>"
       << "<th>seeds</th><th>f_SFT</th><th>f_DPO</th><th>ideal distance</th><th>normalised</th><th>SFT accuracy</th>"
       << "<th>pref. satisfaction</th><th>win rate vs chosen</th><th>s / step</th><th>time vs Sequential</th>"
       << "<th>peak MiB</th><th>memory vs Sequential</th></tr></thead><tbody>";
  std::ostringstream findings;
  for (double lambda : lambdas) {
    double seq_time = std::nan(""), seq_mem = std::nan(""), best = INFINITY;
    std::string best_method;
    for (const auto& m : methods) {
      std::vector<double> fs, fd, dist, nd, acc, sat, win, secs, mem;
      for (const auto& r : runs) {
        if (r.method != m || r.lambda != lambda) continue;
        fs.push_back(num(r.summary["final"], "f_sft"));
        fd.push_back(num(r.summary["final"], "f_dpo"));
        dist.push_back(num(r.summary, "ideal_distance"));
        nd.push_back(num(r.summary, "normalised_ideal_distance"));
        acc.push_back(num(r.summary["judge"], "sft_accuracy"));
        sat.push_back(num(r.summary["judge"], "preference_satisfaction"));
        win.push_back(num(r.summary["win_rate"], "rate"));
        secs.push_back(num(r.summary, "seconds_per_step"));
        mem.push_back(num(r.summary, "peak_memory_mib"));
      }
      const MeanStd t = mean_std(secs), mm = mean_std(mem), d = mean_std(dist);
      if (m == "sequential") seq_time = t.mean, seq_mem = mm.mean;
      if (d.mean < best) best = d.mean, best_method = style_of(m).label;
      auto rel = [](double v, double base) {
        return std::isfinite(base) ? (v >= base ? "+" : "") + fmt(100 * (v / base - 1), 0) + "%" : std::string("–");
      };
      html << "<tr><td>" << style_of(m).label << "</td><td>" << lambda << "</td><td>" << fs.size() << "</td><td>"
           << pm(mean_std(fs)) << "</td><td>" << pm(mean_std(fd)) << "</td><td>" << pm(d) << "</td><td>"
           << pm(mean_std(nd)) << "</td><td>" << pm(mean_std(acc), 2) << "</td><td>" << pm(mean_std(sat), 2)
           << "</td><td>" << pm(mean_std(win), 2) << "</td><td>" << fmt(t.mean, 4) << "</td><td>" << rel(t.mean, seq_time)
           << "</td><td>" << fmt(mm.mean, 0) << "</td><td>" << rel(mm.mean, seq_mem) << "</td></tr>";
      if (m == "sequential") {
        // Forgetting: the best f_SFT Sequential reached on the way vs where it ended.
        std::vector<double> lowest, final_sft;
        for (const auto& r : runs) {
          if (r.method != m || r.lambda != lambda || r.trajectory.empty()) continue;
          double lo = INFINITY;
          for (const auto& p : r.trajectory) lo = std::min(lo, p.second);
          lowest.push_back(lo);
          final_sft.push_back(r.trajectory.back().second);
        }
        findings << "<li>λ = " << lambda << ": Sequential's held-out f_SFT reached " << fmt(mean_std(lowest).mean)
                 << " during its SFT stage and ended at " << fmt(mean_std(final_sft).mean) << ".</li>";
      }
    }
    findings << "<li>λ = " << lambda << ": closest to the ideal point: " << best_method << " (mean ideal distance "
             << fmt(best) << ").</li>";
  }
  html << "</tbody></table><h2>Findings (computed from the runs above)</h2><ul>" << findings.str() << "</ul>"
       << "<p>Per-run metrics: <code>" << sweep_dir << "/runs.jsonl</code>; every run's step log: "
       << "<code>metrics.jsonl</code> in its folder.</p></body></html>\n";
  return html.str();
}

}  // namespace tandem
