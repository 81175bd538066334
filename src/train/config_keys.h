// What to tell a user whose config names a key Tandem does not read: the nearest supported key (a typo), or that
// it is a real TRL/transformers argument Tandem does not support (a config copied from a TRL script).
#pragma once
#include <string>
#include <vector>

namespace tandem {

// Levenshtein distance (insertions, deletions, substitutions, each costing 1).
size_t edit_distance(const std::string& a, const std::string& b);

// "unknown key 'learning_rat' (did you mean 'learning_rate'?)", or "'deepspeed' is a TRL/transformers key that
// Tandem does not support: <why>", or just "unknown key 'x'" when nothing is near. `known` are the supported keys.
std::string unknown_key_message(const std::string& key, const std::vector<std::string>& known);

}  // namespace tandem
