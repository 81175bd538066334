// End to end through the real CLI: toy task -> sweep (2 methods, 1 lambda, 1 seed, short) -> report.html, then
// the page is loaded in headless Chromium: it must load and contain the trajectory plot and the results table.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "io/atomic_file.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;

int run(const std::string& cmd) { return std::system((cmd + " > /dev/null 2>&1").c_str()); }

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Report, SweepReportLoadsInHeadlessChromiumWithPlotsAndTable) {
  const std::string dir = (fs::temp_directory_path() / "tandem_report_test").string();
  fs::remove_all(dir);
  const std::string tandem = TANDEM_BINARY;
  ASSERT_EQ(run(tandem + " toy-task " + dir + "/task --examples 64"), 0);
  ASSERT_EQ(run(tandem + " sweep " + dir + "/task/train.toml --methods sequential,alright --lambdas 0.5 --seeds 0 --out " +
                dir + "/sweep max_steps=20 eval_steps=10 judge=toy"),
            0);
  ASSERT_EQ(run(tandem + " report " + dir + "/sweep --out " + dir + "/report.html"), 0);

  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --user-data-dir=" + dir + "/profile ";
  ASSERT_EQ(std::system((chromium + "--dump-dom file://" + dir + "/report.html > " + dir + "/dom.html 2>/dev/null").c_str()), 0)
      << "headless chromium failed (apt-get install chromium)";
  const std::string dom = read_file(dir + "/dom.html");
  EXPECT_EQ(count(dom, "<svg class=\"plot\""), 1u);  // one lambda
  EXPECT_GE(count(dom, "<polyline"), 2u);             // one trajectory per method
  EXPECT_EQ(count(dom, "<table id=\"results\""), 1u);
  EXPECT_EQ(count(dom, "<tr>"), 3u);                  // header + 2 methods
  EXPECT_NE(dom.find(">ideal<"), std::string::npos);
  EXPECT_NE(dom.find("Sequential"), std::string::npos);
  EXPECT_NE(dom.find("ALRIGHT"), std::string::npos);
  // It also renders to pixels.
  ASSERT_EQ(run(chromium + "--window-size=1200,900 --screenshot=" + dir + "/report.png file://" + dir + "/report.html"), 0);
  EXPECT_GT(fs::file_size(dir + "/report.png"), 20000u);
}

}  // namespace
}  // namespace tandem
