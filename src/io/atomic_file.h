// Atomic file writes: content goes to "<path>.tmp.<pid>" next to the target, is flushed to disk, and is
// renamed over the target, so a crash leaves either the old file or the new one, never half of one.
#pragma once
#include <string>
#include <string_view>

namespace tandem {

void write_file_atomic(const std::string& path, std::string_view content);
std::string read_file(const std::string& path);

}  // namespace tandem
