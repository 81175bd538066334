#include "train/checkpoint_folders.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/checked_write.h"
#include "io/crash_points.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace tandem {

namespace fs = std::filesystem;

namespace {

struct Folder {
  int64_t step;
  std::string path;
};

// checkpoint-<digits> folders, by step.
std::vector<Folder> checkpoint_folders(const std::string& output_dir) {
  std::vector<Folder> out;
  std::error_code ec;
  if (!fs::is_directory(output_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with("checkpoint-")) continue;
    const char* digits = name.c_str() + 11;
    const char* end = name.c_str() + name.size();
    int64_t step = 0;
    const auto [ptr, err] = std::from_chars(digits, end, step);
    if (digits == end || err != std::errc() || ptr != end) continue;  // also skips the .tmp-/.old- names
    out.push_back({step, entry.path().string()});
  }
  std::sort(out.begin(), out.end(), [](const Folder& a, const Folder& b) { return a.step < b.step; });
  return out;
}

CheckpointStatus check_manifest(const fs::path& dir) {
  nlohmann::json files;
  try {
    files = read_json_file((dir / kCheckpointManifest).string()).at("files");
  } catch (const std::exception& e) {
    return {false, std::string(kCheckpointManifest) + " is unreadable: " + e.what()};
  }
  if (!files.is_object() || files.empty()) return {false, std::string(kCheckpointManifest) + " lists no files"};
  for (const auto& [name, size] : files.items()) {
    std::error_code ec;
    const uintmax_t have = fs::file_size(dir / name, ec);
    if (ec) return {false, name + " is missing"};
    if (!size.is_number_unsigned() || have != size.get<uintmax_t>())
      return {false, name + " has " + std::to_string(have) + " bytes, the manifest lists " + size.dump()};
  }
  return {true, ""};
}

// A folder without a manifest: complete only if written before manifests existed and every file parses.
CheckpointStatus check_legacy(const fs::path& dir) {
  const fs::path state_path = dir / "trainer_state.json";
  if (!fs::exists(state_path)) return {false, std::string("no ") + kCheckpointManifest + " and no trainer_state.json"};
  try {
    if (read_json_file(state_path.string()).contains("checkpoint_format"))
      return {false, std::string("no ") + kCheckpointManifest + ": its save never finished"};
    const bool adapter = fs::exists(dir / "adapter_config.json");
    read_json_file((dir / (adapter ? "adapter_config.json" : "config.json")).string());
    for (const char* st : {adapter ? "adapter_model.safetensors" : "model.safetensors", "optimizer.safetensors"})
      SafetensorsFile((dir / st).string());  // checks the header against the file's size
  } catch (const std::exception& e) {
    return {false, std::string("no ") + kCheckpointManifest + " and " + e.what()};
  }
  return {true, ""};
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// A leftover of process `pid`, which no longer writes it: it died, or it is this process (which saves nothing
// while a run starts). A live PID that only reuses a dead run's number keeps its leftover: one copy of wasted
// disk rather than a risk to a run that is writing.
bool stale(const std::string& pid_digits) {
  pid_t pid = 0;
  const auto [ptr, err] = std::from_chars(pid_digits.data(), pid_digits.data() + pid_digits.size(), pid);
  if (err != std::errc() || pid <= 0) return false;
  return pid == ::getpid() || !process_alive(pid);
}

}  // namespace

CheckpointStatus checkpoint_status(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {false, "not a folder"};
  if (fs::exists(fs::path(dir) / kCheckpointManifest)) return check_manifest(dir);
  return check_legacy(dir);
}

std::string latest_checkpoint(const std::string& output_dir, std::vector<std::string>* skipped) {
  const std::vector<Folder> folders = checkpoint_folders(output_dir);
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
    const CheckpointStatus s = checkpoint_status(it->path);
    if (s.complete) return it->path;
    if (skipped) skipped->push_back(it->path + ": " + s.problem);
  }
  return "";
}

std::string temp_checkpoint_folder(const std::string& dir) { return dir + ".tmp-" + std::to_string(::getpid()); }

void write_checkpoint_manifest(const std::string& dir) {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files[entry.path().filename().string()] = entry.file_size();
  write_file_atomic((fs::path(dir) / kCheckpointManifest).string(), nlohmann::json{{"files", files}}.dump(2) + "\n");
}

void publish_checkpoint(const std::string& tmp, const std::string& dir) {
  if (!fs::exists(dir)) {
    rename_durably(tmp, dir);
    return;
  }
  const std::string old = dir + ".old-" + std::to_string(::getpid());
  if (fs::exists(old)) remove_tree(old);  // this process's own, from a replacement that failed before
  rename_durably(dir, old);
  try {
    rename_durably(tmp, dir);
  } catch (const Error&) {
    if (!fs::exists(dir)) std::rename(old.c_str(), dir.c_str());  // put the previous copy back; best effort
    throw;
  }
  remove_tree(old);
}

std::vector<std::string> recover_interrupted_saves(const std::string& output_dir) {
  static const std::regex folder_re(R"((checkpoint-[0-9]+)\.(tmp|old)-([0-9]+))");
  // write_file_atomic's temporary files of the files a run writes in output_dir
  static const std::regex file_re(R"((?:metrics\.jsonl|metrics\.csv|summary\.json|run_info\.json)\.tmp\.([0-9]+))");
  std::vector<std::string> olds, tmps, notes;
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (entry.is_directory() && std::regex_match(name, m, folder_re) && stale(m[3]))
      (m[2] == "old" ? olds : tmps).push_back(name);
    else if (entry.is_regular_file() && std::regex_match(name, m, file_re) && stale(m[1]))
      tmps.push_back(name);
  }
  std::sort(olds.begin(), olds.end());
  const fs::path out(output_dir);
  for (const std::string& name : olds) {  // first, so no step loses its only complete copy
    const std::string dir = (out / name.substr(0, name.rfind(".old-"))).string();
    const std::string old = (out / name).string();
    const CheckpointStatus now = checkpoint_status(dir);
    if (!now.complete && checkpoint_status(old).complete) {
      if (fs::exists(dir)) remove_tree(dir);
      rename_durably(old, dir);
      notes.push_back("restored " + dir + " from " + name + ", left by a save that was interrupted while replacing it");
    } else {
      remove_tree(old);
      notes.push_back("removed " + name + ", the previous copy of a checkpoint that was replaced");
    }
  }
  for (const std::string& name : tmps) {
    remove_tree((out / name).string());
    const char* what = name.starts_with("checkpoint-") ? "save" : "write";
    notes.push_back("removed " + name + ", left by an interrupted " + what);
  }
  return notes;
}

void remove_old_checkpoints(const std::string& output_dir, int64_t keep, const std::string& just_saved) {
  CrashPointScope crash_points;
  std::vector<Folder> complete;
  for (const Folder& f : checkpoint_folders(output_dir))
    if (checkpoint_status(f.path).complete) complete.push_back(f);
  if (complete.empty()) return;
  // Kept whatever their age: the highest step (a resume's "latest") and the one just written, which can be lower
  // when an earlier run left higher steps in the same folder.
  const std::string highest = fs::path(complete.back().path).filename().string();
  const std::string saved = fs::path(just_saved).filename().string();
  int64_t excess = int64_t(complete.size()) - keep;
  for (const Folder& f : complete) {
    const std::string name = fs::path(f.path).filename().string();
    if (excess <= 0) break;
    if (name == highest || name == saved) continue;
    const std::string doomed = temp_checkpoint_folder(f.path);
    rename_durably(f.path, doomed);  // no longer a checkpoint, however far the removal gets
    remove_tree(doomed);
    --excess;
  }
}

}  // namespace tandem
