#include "eval/readme_results.h"

#include "core/check.h"

namespace tandem {

namespace {
size_t find_once(const std::string& text, const std::string& marker, const std::string& source) {
  const size_t at = text.find(marker);
  TANDEM_CHECK(at != std::string::npos, source, ": no marker '", marker, "'");
  TANDEM_CHECK(text.find(marker, at + 1) == std::string::npos, source, ": marker '", marker, "' appears twice");
  return at;
}
}  // namespace

std::string replace_results_block(const std::string& text, const std::string& name, const std::string& content,
                                  const std::string& source) {
  const std::string begin = "<!-- results:BEGIN " + name + " -->", end = "<!-- results:END " + name + " -->";
  const size_t b = find_once(text, begin, source), e = find_once(text, end, source);
  TANDEM_CHECK(b < e, source, ": marker '", end, "' comes before '", begin, "'");
  std::string body = content;
  if (!body.empty() && body.back() != '\n') body += '\n';
  return text.substr(0, b + begin.size()) + "\n" + body + text.substr(e);
}

}  // namespace tandem
