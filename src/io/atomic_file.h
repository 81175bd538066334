// Atomic file writes: content goes to "<path>.tmp.<pid>" next to the target, is fsynced, renamed over the target,
// and the folder is fsynced, so a crash or power loss leaves either the old file or the new one, never half of one.
// Every call is checked (io/checked_write.h): a full disk is an error naming the file.
#pragma once
#include <string>
#include <string_view>

namespace tandem {

void write_file_atomic(const std::string& path, std::string_view content);
std::string read_file(const std::string& path);

}  // namespace tandem
