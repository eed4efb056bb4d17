// A hash table from strings to alternative ids for the rule index's exact,
// prefix and suffix lookups. The hash is FNV-1a, which can be computed one
// byte at a time: a value's hash at every prefix length (or, hashing from
// the end, every suffix length) comes from one pass over it, instead of one
// pass and one lookup with a hash of its own per length. Open addressing
// with a power-of-two size over an array of the hashes alone (8 bytes a
// slot, so tens of thousands of prefixes stay in the L2 cache): a miss, the
// common answer, reads one word.
//
// Thread-safety: immutable once built.
#ifndef BUCKETD_RULES_TEXT_TABLE_H_
#define BUCKETD_RULES_TEXT_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bucketd::rules {

class TextTable {
 public:
  static constexpr uint64_t kSeed = 14695981039346656037ULL;
  static uint64_t Step(uint64_t h, char c) { return (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL; }
  static uint64_t Forward(std::string_view s) {
    uint64_t h = kSeed;
    for (char c : s) h = Step(h, c);
    return h;
  }
  static uint64_t Backward(std::string_view s) {
    uint64_t h = kSeed;
    for (size_t i = s.size(); i > 0; --i) h = Step(h, s[i - 1]);
    return h;
  }

  bool empty() const { return entries_.empty(); }
  // Files `alt` under `text`, whose hash (Forward or Backward, as lookups
  // will compute it) is `hash`.
  void Add(uint64_t hash, std::string_view text, uint32_t alt);
  // Starts loading the slot a Find(hash) reads first, so the cache misses
  // of several lookups overlap instead of queueing.
  void Prefetch(uint64_t hash) const {
    if (!entries_.empty()) __builtin_prefetch(&hashes_[Mix(Stored(hash)) & mask_]);
  }
  // The alternatives filed under `text`, or null.
  const std::vector<uint32_t>* Find(uint64_t hash, std::string_view text) const {
    if (entries_.empty()) return nullptr;
    hash = Stored(hash);
    for (size_t i = Mix(hash) & mask_;; i = (i + 1) & mask_) {
      uint64_t h = hashes_[i];
      if (h == kFree) return nullptr;
      if (h == hash) {
        const Entry& e = entries_[index_[i]];
        if (e.text == text) return &e.alts;
      }
    }
  }

 private:
  static constexpr uint64_t kFree = 0;
  struct Entry {
    std::string text;
    std::vector<uint32_t> alts;
  };
  static uint64_t Stored(uint64_t h) { return h == kFree ? 1 : h; }
  // FNV's low bits alone are weak: fold the high ones in before masking.
  static size_t Mix(uint64_t h) { return static_cast<size_t>((h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL >> 20); }
  void Grow();

  std::vector<uint64_t> hashes_;  // by slot; kFree: empty
  std::vector<uint32_t> index_;   // by slot: the entry
  std::vector<Entry> entries_;
  size_t mask_ = 0;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_TEXT_TABLE_H_
