#include "tokenizer/flat_tables.h"

#include <bit>
#include <cstring>

#include "core/check.h"

namespace tandem {

namespace {

constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;

uint64_t mix(uint64_t h) {
  h ^= h >> 32;
  h *= kMul;
  h ^= h >> 29;
  return h;
}

uint64_t load_u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t load_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

uint64_t hash_bytes(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = uint64_t(n) * kMul;
  for (; n > 8; p += 8, n -= 8) h = (h ^ load_u64(p)) * kMul, h ^= h >> 31;
  // The last 1..8 bytes in at most two loads, no byte loop (keys are words: this is most of the work). Loads may
  // overlap each other or the bytes before (when the key is longer): for a given length the bytes still determine
  // the value, which is all a hash needs.
  uint64_t tail = 0;
  if (s.size() >= 8) {
    tail = load_u64(p + n - 8);
  } else if (n >= 4) {
    tail = uint64_t(load_u32(p)) | uint64_t(load_u32(p + n - 4)) << 32;
  } else if (n > 0) {
    tail = uint64_t(uint8_t(p[0])) | uint64_t(uint8_t(p[n / 2])) << 8 | uint64_t(uint8_t(p[n - 1])) << 16;
  }
  return mix((h ^ tail) * kMul);
}

// ---- MergeTable ----

bool MergeTable::insert(int32_t left, int32_t right, MergeRule rule) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pair_key(left, right);
  size_t i = slot_of(key);
  for (; slots_[i].key != kEmpty; i = (i + 1) & mask_)
    if (slots_[i].key == key) return false;
  slots_[i] = {key, rule};
  ++size_;
  return true;
}

void MergeTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t capacity = old.empty() ? 64 : old.size() * 2;
  slots_.assign(capacity, Slot{kEmpty, {0, 0}});
  mask_ = capacity - 1;
  shift_ = 64 - std::countr_zero(capacity);
  for (const Slot& s : old) {
    if (s.key == kEmpty) continue;
    size_t i = slot_of(s.key);
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

// ---- StringIdsMap ----

size_t StringIdsMap::find_slot(std::string_view key, uint64_t hash) const {
  for (size_t i = slot_of(hash);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.hash == 0) return i;
    if (s.hash == hash && s.key_size == key.size() && std::memcmp(keys_.data() + s.key_at, key.data(), key.size()) == 0)
      return i;
  }
}

std::optional<std::span<const int32_t>> StringIdsMap::find(std::string_view key, uint64_t hash) const {
  if (slots_.empty()) return std::nullopt;
  const Slot& s = slots_[find_slot(key, hash)];
  if (s.hash == 0) return std::nullopt;
  return std::span<const int32_t>(ids_.data() + s.ids_at, s.ids_size);
}

void StringIdsMap::assign(std::string_view key, std::span<const int32_t> ids) {
  // Offsets are 32-bit: far above what a vocabulary or the bounded piece cache holds.
  TANDEM_CHECK(keys_.size() + key.size() < (uint64_t(1) << 32) && ids_.size() + ids.size() < (uint64_t(1) << 32),
               "StringIdsMap: more than 4 GiB of keys or 2^32 ids");
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t hash = hash_of(key);
  Slot& s = slots_[find_slot(key, hash)];
  if (s.hash == 0) {
    s = {hash, uint32_t(keys_.size()), uint32_t(key.size()), 0, 0};
    keys_.append(key);
    ++size_;
  }
  s.ids_at = uint32_t(ids_.size());
  s.ids_size = uint32_t(ids.size());
  ids_.insert(ids_.end(), ids.begin(), ids.end());
}

void StringIdsMap::grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t capacity = old.empty() ? 64 : old.size() * 2;
  slots_.assign(capacity, Slot{0, 0, 0, 0, 0});
  mask_ = capacity - 1;
  for (const Slot& s : old) {
    if (s.hash == 0) continue;
    size_t i = slot_of(s.hash);
    while (slots_[i].hash != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void StringIdsMap::clear() {
  slots_.clear();
  keys_.clear();
  ids_.clear();
  size_ = 0;
  mask_ = 0;
}

}  // namespace tandem
