// Generated results in a Markdown file: the text between "<!-- results:BEGIN NAME -->" and
// "<!-- results:END NAME -->" is replaced, the markers and everything else kept byte for byte, so the README's
// tables come from a command run on a demo's output, never typed.
#pragma once
#include <string>

namespace tandem {

// `text` with block NAME's content replaced by `content` (a newline is added after the BEGIN marker and before the
// END marker). A missing, repeated or misordered marker is an error naming `source` and the marker.
std::string replace_results_block(const std::string& text, const std::string& name, const std::string& content,
                                  const std::string& source);

}  // namespace tandem
