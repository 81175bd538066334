// Filesystem writes that check every call and name what failed: the path and the system's reason, so a full disk
// is "No space left on device", never a silently shorter file. They also make data durable in a known order:
// fsync makes a file's bytes durable, but a name (created, renamed or removed) only once its folder is fsynced too.
// Every step passes a crash point first (io/crash_points.h), which is how the crash tests stop a save anywhere.
#pragma once
#include <string>
#include <string_view>

namespace tandem {

// Appends `text` to the file (created when missing, symlinks followed) and closes it, checking the write and the
// close: a caller never carries on after a lost line. Not fsynced (see sync_file).
void append_to_file(const std::string& path, std::string_view text);
// Creates the file or empties it (symlinks followed).
void truncate_file(const std::string& path);
// Writes `content` as the whole file at `path` and fsyncs it; write_file_atomic's first half.
void write_file_synced(const std::string& path, std::string_view content);

// fsync of a file's bytes, or of a folder's names. A file that cannot be synced (a device such as /dev/null)
// is not an error: there is nothing of it to lose.
void sync_file(const std::string& path);
void sync_dir(const std::string& dir);

// rename(2), then fsync of the folder(s) holding both names, so the move survives a power loss.
void rename_durably(const std::string& from, const std::string& to);
// mkdir(2) of one folder (its parent must exist), then fsync of the parent.
void make_dir_durably(const std::string& dir);
// Removes a file or a whole folder; nothing to do when it is missing.
void remove_tree(const std::string& path);

// The folder holding `path` ("." for a bare name).
std::string parent_dir(const std::string& path);

}  // namespace tandem
