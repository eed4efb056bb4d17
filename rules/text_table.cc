#include "rules/text_table.h"

namespace bucketd::rules {

void TextTable::Add(uint64_t hash, std::string_view text, uint32_t alt) {
  if ((entries_.size() + 1) * 2 > hashes_.size()) Grow();  // at most half full
  hash = Stored(hash);
  for (size_t i = Mix(hash) & mask_;; i = (i + 1) & mask_) {
    if (hashes_[i] == kFree) {
      hashes_[i] = hash;
      index_[i] = static_cast<uint32_t>(entries_.size());
      entries_.push_back({std::string(text), {alt}});
      return;
    }
    if (hashes_[i] == hash && entries_[index_[i]].text == text) {
      entries_[index_[i]].alts.push_back(alt);
      return;
    }
  }
}

void TextTable::Grow() {
  std::vector<uint64_t> old_hashes = std::move(hashes_);
  std::vector<uint32_t> old_index = std::move(index_);
  hashes_.assign(old_hashes.empty() ? 16 : old_hashes.size() * 2, kFree);
  index_.assign(hashes_.size(), 0);
  mask_ = hashes_.size() - 1;
  for (size_t slot = 0; slot < old_hashes.size(); ++slot) {
    if (old_hashes[slot] == kFree) continue;
    for (size_t i = Mix(old_hashes[slot]) & mask_;; i = (i + 1) & mask_) {
      if (hashes_[i] == kFree) {
        hashes_[i] = old_hashes[slot];
        index_[i] = old_index[slot];
        break;
      }
    }
  }
}

}  // namespace bucketd::rules
