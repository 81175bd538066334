#include "tokenizer/bpe_merge.h"

#include <climits>
#include <queue>

#include "core/check.h"

namespace tandem {

void apply_merges_short(const MergeTable& merges, std::vector<int32_t>& symbols) {
  const size_t n = symbols.size();
  TANDEM_CHECK(n <= kShortWord, "apply_merges_short: ", n, " symbols, more than ", kShortWord);
  if (n < 2) return;
  // rank[i] / merged[i]: the merge of the pair (i, i + 1), INT_MAX when there is none.
  int32_t id[kShortWord], rank[kShortWord], merged[kShortWord];
  size_t len = n;
  // The pairs a merge of (i, i + 1) would form with its neighbours are prefetched as soon as that merge is known:
  // when it happens, their lookups (which depend on it) then find their slots loaded instead of missing in turn.
  auto look = [&](size_t i) {
    const MergeRule* m = merges.find(id[i], id[i + 1]);
    rank[i] = m ? m->rank : INT_MAX;
    merged[i] = m ? m->merged : -1;
    if (!m) return;
    if (i > 0) merges.prefetch(id[i - 1], m->merged);
    if (i + 2 < len) merges.prefetch(m->merged, id[i + 2]);
  };
  for (size_t i = 0; i < n; ++i) id[i] = symbols[i];
  for (size_t i = 0; i + 1 < n; ++i) merges.prefetch(id[i], id[i + 1]);  // the lookups' misses overlap
  for (size_t i = 0; i + 1 < n; ++i) look(i);
  while (len > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < len; ++i)
      if (rank[i] < rank[best]) best = i;  // strict: the leftmost of equal ranks
    if (rank[best] == INT_MAX) break;
    id[best] = merged[best];
    for (size_t i = best + 1; i + 1 < len; ++i) {  // drop symbol best + 1 and the pair (best, best + 1)
      id[i] = id[i + 1];
      rank[i] = rank[i + 1];
      merged[i] = merged[i + 1];
    }
    --len;
    if (best > 0) merges.prefetch(id[best - 1], id[best]);
    if (best + 1 < len) merges.prefetch(id[best], id[best + 1]);
    if (best > 0) look(best - 1);
    if (best + 1 < len) look(best);
  }
  symbols.assign(id, id + len);
}

void apply_merges_heap(const MergeTable& merges, std::vector<int32_t>& symbols) {
  std::vector<int32_t>& id = symbols;
  const int n = int(id.size());
  std::vector<int> prev(static_cast<size_t>(n)), next(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    prev[size_t(i)] = i - 1;
    next[size_t(i)] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank, merged;
    int pos;
    int32_t left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int i) {
    if (i < 0 || next[size_t(i)] < 0) return;
    const int32_t left = id[size_t(i)], right = id[size_t(next[size_t(i)])];
    if (const MergeRule* m = merges.find(left, right)) heap.push({m->rank, m->merged, i, left, right});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int i = c.pos, j = next[size_t(i)];
    if (id[size_t(i)] != c.left || j < 0 || id[size_t(j)] != c.right) continue;  // stale: the pair changed
    id[size_t(i)] = c.merged;
    id[size_t(j)] = -1;
    next[size_t(i)] = next[size_t(j)];
    if (next[size_t(j)] >= 0) prev[size_t(next[size_t(j)])] = i;
    push(prev[size_t(i)]);
    push(i);
  }
  size_t kept = 0;
  for (int i = 0; n > 0 && i >= 0; i = next[size_t(i)]) id[kept++] = id[size_t(i)];
  id.resize(kept);
}

void apply_merges(const MergeTable& merges, std::vector<int32_t>& symbols) {
  if (symbols.size() <= kShortWord) apply_merges_short(merges, symbols);
  else apply_merges_heap(merges, symbols);
}

}  // namespace tandem
