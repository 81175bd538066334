// The CUDA attention kernels' mask rule and tile walks (src/backends/cuda/kernels/attention_mask.cuh, host code
// outside nvcc), checked on the CPU against the dense definition: row i sees key j iff j <= i, (j >= segment_start
// or j < prefix_end) and i - j < window. The walks below are the loops of attention_forward.cu and of
// attention_backward.cu's two kernels (dq: the forward's walk; dk/dv: query tiles from j0 to rows_end_for_keys),
// for every tile size attention_tile may pick: each visible (row, key) pair of a real row must be visited exactly
// once, so a skipped tile that some row needs (an off-by-one at a window's edge) fails here. The cases are those of
// OpReferences.ScoredAttentionMatchesDenseDefinition: T = 150, windows 40 and 66, packing, a shared prefix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/kernels/attention_mask.cuh"

namespace tandem {
namespace {

using cuda::first_key_tile;
using cuda::row_keys;
using cuda::rows_end_for_keys;

struct MaskCase {
  int64_t batch = 2, seq = 150;
  std::vector<int32_t> lengths = {150, 131};
  std::vector<int32_t> seg, pre;  // empty: plain causal
  int64_t window = 0;

  const int32_t* seg_ptr() const { return seg.empty() ? nullptr : seg.data(); }
  const int32_t* pre_ptr() const { return pre.empty() ? nullptr : pre.data(); }
  // The definition, written out as tests/test_backend_ops.cpp's dense_attention does.
  bool dense_sees(int64_t b, int64_t i, int64_t j) const {
    const int64_t flat = b * seq + i;
    return j <= i && (seg.empty() || j >= seg[size_t(flat)] || j < pre[size_t(flat)]) &&
           (window == 0 || i - j < window);
  }
  std::string what() const { return "window " + std::to_string(window) + (seg.empty() ? "" : " packed"); }
};

std::vector<MaskCase> cases() {
  std::vector<MaskCase> out;
  for (int64_t window : {int64_t(0), int64_t(40), int64_t(66), int64_t(1), int64_t(150)})
    for (bool packed : {false, true}) {
      MaskCase c;
      c.window = window;
      if (packed) {
        c.seg.assign(size_t(c.batch * c.seq), 0), c.pre.assign(size_t(c.batch * c.seq), 0);
        for (int64_t t = 70; t < c.seq; ++t) c.seg[size_t(t)] = 70;  // row 0 packs [0, 70) and [70, 150)
        for (int64_t t = 100; t < c.seq; ++t)  // row 1: prompt [0, 20), answers from 100
          c.seg[size_t(c.seq + t)] = 100, c.pre[size_t(c.seq + t)] = 20;
      }
      out.push_back(c);
    }
  return out;
}

constexpr int64_t kTiles[] = {1, 2, 4, 8, 16, 32, 64};

TEST(CudaAttentionMask, RowRuleMatchesDefinition) {
  for (const MaskCase& c : cases())
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t i = 0; i < c.seq; ++i) {
        const cuda::RowKeys row = row_keys(i, b * c.seq, c.seg_ptr(), c.pre_ptr(), c.window);
        for (int64_t j = 0; j < c.seq; ++j)
          ASSERT_EQ(row.sees(j), c.dense_sees(b, i, j)) << c.what() << " b " << b << " i " << i << " j " << j;
      }
}

// sees_any is exact (neither misses a visible key nor claims a hidden one), for every tile-aligned key range and
// every range cut short at a block's last real row.
TEST(CudaAttentionMask, TileVisibilityMatchesDefinition) {
  for (const MaskCase& c : cases())
    for (int64_t tile : kTiles)
      for (int64_t b = 0; b < c.batch; ++b)
        for (int64_t i = 0; i < c.seq; ++i) {
          const cuda::RowKeys row = row_keys(i, b * c.seq, c.seg_ptr(), c.pre_ptr(), c.window);
          for (int64_t j0 = 0; j0 < c.seq; j0 += tile)
            for (int64_t j1 : {std::min(j0 + tile, c.seq), std::min(j0 + tile, i + 1)}) {
              if (j1 <= j0) continue;
              bool any = false;
              for (int64_t j = j0; j < j1; ++j) any |= c.dense_sees(b, i, j);
              ASSERT_EQ(row.sees_any(j0, j1), any)
                  << c.what() << " tile " << tile << " b " << b << " i " << i << " keys [" << j0 << ", " << j1 << ")";
            }
        }
}

// visits[b][i][j] counts how often a walk scores row i against key j.
using Visits = std::vector<std::vector<std::vector<int>>>;

Visits no_visits(const MaskCase& c) {
  return Visits(size_t(c.batch), std::vector<std::vector<int>>(size_t(c.seq), std::vector<int>(size_t(c.seq), 0)));
}

// What a kernel does with one (query tile, key tile) pair: skip it unless some real row sees a key (the block-wide
// vote), then score the pairs the rule lets through.
void visit_pair(const MaskCase& c, int64_t b, int64_t i0, int64_t qcount, int64_t j0, int64_t kcount, Visits& v) {
  bool seen = false;
  for (int64_t r = 0; r < qcount; ++r)
    seen |= row_keys(i0 + r, b * c.seq, c.seg_ptr(), c.pre_ptr(), c.window).sees_any(j0, j0 + kcount);
  if (!seen) return;
  for (int64_t r = 0; r < qcount; ++r)
    for (int64_t k = 0; k < kcount; ++k)
      if (row_keys(i0 + r, b * c.seq, c.seg_ptr(), c.pre_ptr(), c.window).sees(j0 + k))
        ++v[size_t(b)][size_t(i0 + r)][size_t(j0 + k)];
}

void expect_each_visible_pair_once(const MaskCase& c, const Visits& v, const std::string& walk) {
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t i = 0; i < c.seq; ++i)
      for (int64_t j = 0; j < c.seq; ++j) {
        const int want = i < c.lengths[size_t(b)] && c.dense_sees(b, i, j) ? 1 : 0;
        ASSERT_EQ(v[size_t(b)][size_t(i)][size_t(j)], want)
            << walk << " " << c.what() << " b " << b << " row " << i << " key " << j;
      }
}

// attention_forward_kernel and attention_dq_kernel: one block per query tile, key tiles from first_key_tile to the
// block's last real row.
TEST(CudaAttentionMask, QueryTileWalkVisitsEveryVisiblePairOnce) {
  for (const MaskCase& c : cases())
    for (int64_t tile : kTiles) {
      Visits v = no_visits(c);
      for (int64_t b = 0; b < c.batch; ++b) {
        const int64_t L = c.lengths[size_t(b)];
        for (int64_t i0 = 0; i0 < c.seq; i0 += tile) {
          const int64_t i1 = std::min(i0 + tile, L);
          if (i1 <= i0) continue;
          for (int64_t j0 = first_key_tile(i0, c.window, tile); j0 < i1; j0 += tile)
            visit_pair(c, b, i0, i1 - i0, j0, std::min(tile, i1 - j0), v);
        }
      }
      expect_each_visible_pair_once(c, v, "query tiles of " + std::to_string(tile));
    }
}

// attention_dkdv_kernel: one block per key tile (keys before the length), query tiles from the block's first key to
// rows_end_for_keys.
TEST(CudaAttentionMask, KeyTileWalkVisitsEveryVisiblePairOnce) {
  for (const MaskCase& c : cases())
    for (int64_t tile : kTiles) {
      Visits v = no_visits(c);
      for (int64_t b = 0; b < c.batch; ++b) {
        const int64_t L = c.lengths[size_t(b)];
        for (int64_t j0 = 0; j0 < c.seq; j0 += tile) {
          const int64_t kcount = L - j0 <= 0 ? 0 : std::min(tile, L - j0);
          if (kcount == 0) continue;
          const int64_t rows_end = rows_end_for_keys(j0 + kcount, L, c.window);
          for (int64_t i0 = j0; i0 < rows_end; i0 += tile) visit_pair(c, b, i0, std::min(tile, L - i0), j0, kcount, v);
        }
      }
      expect_each_visible_pair_once(c, v, "key tiles of " + std::to_string(tile));
    }
}

}  // namespace
}  // namespace tandem
