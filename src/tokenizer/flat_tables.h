// Open-addressing hash tables for the encoder's inner loop: the merge table ((left id, right id) -> rank and
// merged id) and string -> ids maps (the vocabulary, the piece cache). One flat slot array each, linear probing,
// at most half full, keys and values in contiguous arenas: a lookup is a hash, a probe or two in one cache line
// and a memcmp, with no allocation per entry (std::unordered_map costs a node and a pointer chase per entry).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// A fast 64-bit hash of bytes (8 at a time, then a multiply-xorshift finish). Not for hostile-collision use:
// a table's cost under collisions is bounded by its load factor and the keys' lengths, never its correctness.
uint64_t hash_bytes(std::string_view s);

struct MergeRule {
  int32_t rank, merged;
};

class MergeTable {
 public:
  // Adds (left, right) -> rule unless the pair is already there (the first listed merge wins, as in the HF
  // library's map built from the merges list); false when it was.
  bool insert(int32_t left, int32_t right, MergeRule rule);
  const MergeRule* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pair_key(left, right);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.rule;
      if (s.key == kEmpty) return nullptr;
    }
  }
  // Starts loading the slot of (left, right), so that several lookups' cache misses overlap.
  void prefetch(int32_t left, int32_t right) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_of(pair_key(left, right))]);
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // ids are non-negative int32: no pair key has all bits set
  struct Slot {
    uint64_t key;
    MergeRule rule;
  };
  static uint64_t pair_key(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }
  size_t slot_of(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  void grow();

  std::vector<Slot> slots_;
  size_t size_ = 0, mask_ = 0;
  int shift_ = 64;
};

// string -> a list of ids (the vocabulary: one id each; the piece cache: a piece's encoding).
class StringIdsMap {
 public:
  // Sets the value of `key`, replacing an earlier one.
  void assign(std::string_view key, std::span<const int32_t> ids);
  std::optional<std::span<const int32_t>> find(std::string_view key) const { return find(key, hash_of(key)); }
  // The same with the key's hash_of() computed beforehand, e.g. for a prefetch() of the slot ahead of the lookup.
  std::optional<std::span<const int32_t>> find(std::string_view key, uint64_t hash) const;
  static uint64_t hash_of(std::string_view key) { return hash_bytes(key) | 1; }
  void prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_of(hash)]);
  }
  // The single id of `key`, or -1 (for maps whose values are single ids, as the vocabulary's).
  int32_t find_id(std::string_view key) const {
    auto found = find(key);
    return found && found->size() == 1 ? (*found)[0] : -1;
  }
  size_t size() const { return size_; }
  void clear();

 private:
  struct Slot {
    uint64_t hash;  // 0: empty (a key's hash is forced non-zero)
    uint32_t key_at, key_size, ids_at, ids_size;
  };
  size_t slot_of(uint64_t hash) const { return size_t(hash >> 8) & mask_; }  // above the forced bit
  size_t find_slot(std::string_view key, uint64_t hash) const;  // the key's slot, or the empty one it would take
  void grow();

  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t size_ = 0, mask_ = 0;
};

}  // namespace tandem
