// The BPE merge loop of one word: repeatedly the adjacent pair of symbols with the lowest merge rank (the leftmost
// among equal ranks) becomes its merged token, until no adjacent pair has a merge. This is the HF library's
// Word::merge_all (models/bpe/word.rs), which pops (rank, position) from a heap and skips stale entries.
#pragma once
#include <cstdint>
#include <vector>

#include "tokenizer/flat_tables.h"

namespace tandem {

// Merges `symbols` in place. Words of up to kShortWord symbols run on a small array (a linear scan for the
// lowest rank: no heap, two lookups a merge); longer ones on a linked list with a heap, O(n log n).
void apply_merges(const MergeTable& merges, std::vector<int32_t>& symbols);
inline constexpr size_t kShortWord = 48;

// The two strategies, for the tests that compare them.
void apply_merges_short(const MergeTable& merges, std::vector<int32_t>& symbols);
void apply_merges_heap(const MergeTable& merges, std::vector<int32_t>& symbols);

}  // namespace tandem
