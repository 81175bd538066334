// The checkpoint folders of a run's output_dir: which are complete, which is the latest, how a finished save is
// put in place, what interrupted saves left behind, and keeping only the newest N (save_total_limit).
//
// A checkpoint is complete when its manifest, checkpoint_complete.json, is there and every file it lists has
// the listed size. A save writes the manifest last, after every other file and the folder are fsynced, and
// only then renames the folder to checkpoint-N; so checkpoint-N is complete unless it was damaged later.
// Folders written before manifests existed (their trainer_state.json has no "checkpoint_format") count as
// complete when every file a resume reads is present and parses.
//
// Names in output_dir:
//   checkpoint-N           a checkpoint
//   checkpoint-N.tmp-PID   never a checkpoint: a save, or a rotation's deletion, in progress in process PID
//   checkpoint-N.old-PID   the previous checkpoint-N while process PID replaces it with a new save of step N
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

inline constexpr const char* kCheckpointManifest = "checkpoint_complete.json";
// trainer_state.json's "checkpoint_format" from the first version that writes manifests on.
inline constexpr int kCheckpointFormat = 2;

struct CheckpointStatus {
  bool complete = false;
  std::string problem;  // why it is not, for error messages
};
CheckpointStatus checkpoint_status(const std::string& dir);

// The complete checkpoint folder with the highest step under output_dir, or "" when there is none. Incomplete
// folders with a higher step are passed over; `skipped` (when given) gets "<folder>: <problem>" for each.
std::string latest_checkpoint(const std::string& output_dir, std::vector<std::string>* skipped = nullptr);

// Where a save of `dir` is written before it is complete: "<dir>.tmp-<this process>".
std::string temp_checkpoint_folder(const std::string& dir);
// Lists the files of the finished folder `dir` with their sizes in its manifest, written and fsynced last.
void write_checkpoint_manifest(const std::string& dir);
// Renames the finished temporary folder to `dir`, fsyncing output_dir after each rename. An existing `dir` is
// renamed aside to "<dir>.old-<pid>" first and removed only once the new one is in place, so at every moment
// a complete copy of step N exists under one of the two names.
void publish_checkpoint(const std::string& tmp, const std::string& dir);

// Cleans up after saves that died (kill -9, power loss) in output_dir; run before choosing a checkpoint. Leftovers
// of a process that is still alive (another run in the same folder) are left alone. A "<dir>.old-<pid>" comes back
// as checkpoint-N when checkpoint-N is missing or incomplete (the save died between its two renames), and is
// removed otherwise; "<dir>.tmp-<pid>" folders and the "metrics.jsonl.tmp.<pid>" / "summary.json.tmp.<pid>" files
// of write_file_atomic are removed.
// Returns one line per action, for the log.
std::vector<std::string> recover_interrupted_saves(const std::string& output_dir);

// Deletes the oldest complete checkpoints until `keep` remain, never the highest step nor `just_saved`. A folder
// is first renamed to a .tmp name, so a deletion cut short leaves something recover_interrupted_saves removes, not
// a broken checkpoint.
void remove_old_checkpoints(const std::string& output_dir, int64_t keep, const std::string& just_saved);

}  // namespace tandem
