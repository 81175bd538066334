// `tandem report DIR`: the HTML report of a sweep folder or of one `tandem train` run folder; for a sweep also the
// results table as Markdown (--markdown FILE) or written into a Markdown file between its results markers
// (--update-readme FILE [--section NAME]), which is how the README's demo table is regenerated.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "core/check.h"
#include "eval/readme_results.h"
#include "eval/report.h"
#include "eval/report_data.h"
#include "io/atomic_file.h"

namespace tandem {

int cmd_report(int argc, char** argv) {
  const Args args(ArgSpec{.usage = find_command("report")->usage,
                          .options = {"out", "markdown", "update-readme", "section"},
                          .positionals = {"DIR"}},
                  argc, argv);
  const std::string dir = args.positionals()[0];
  const bool sweep = detect_report_source(dir) == ReportSource::sweep;
  TANDEM_CHECK(sweep || (!args.has("markdown") && !args.has("update-readme")), "report: ", dir,
               " is a single run; --markdown and --update-readme take a sweep folder (with runs.jsonl)");
  TANDEM_CHECK(!args.has("section") || args.has("update-readme"), "report: --section goes with --update-readme");
  const std::string out = args.str("out", dir + "/report.html");
  write_file_atomic(out, report_html(dir));
  std::printf("wrote %s\n", out.c_str());
  if (args.has("markdown")) {
    write_file_atomic(args.str("markdown", ""), sweep_results_markdown(dir));
    std::printf("wrote %s\n", args.str("markdown", "").c_str());
  }
  if (args.has("update-readme")) {
    const std::string readme = args.str("update-readme", ""), section = args.str("section", "demo");
    write_file_atomic(readme, replace_results_block(read_file(readme), section, sweep_results_markdown(dir), readme));
    std::printf("updated the '%s' results in %s\n", section.c_str(), readme.c_str());
  }
  return 0;
}

}  // namespace tandem
