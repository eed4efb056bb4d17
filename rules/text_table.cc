#include "rules/text_table.h"

namespace bucketd::rules {

void TextTable::Add(uint64_t hash, std::string_view text, uint32_t alt) {
  if ((size_ + 1) * 2 > entries_.size()) Grow();  // at most half full
  for (size_t i = Mix(hash) & mask_;; i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.alts.empty()) {
      e.hash = hash;
      e.text = std::string(text);
      e.alts.push_back(alt);
      ++size_;
      return;
    }
    if (e.hash == hash && e.text == text) {
      e.alts.push_back(alt);
      return;
    }
  }
}

void TextTable::Grow() {
  std::vector<Entry> old = std::move(entries_);
  entries_.assign(old.empty() ? 16 : old.size() * 2, Entry{});
  mask_ = entries_.size() - 1;
  size_ = 0;
  for (Entry& e : old) {
    if (e.alts.empty()) continue;
    for (size_t i = Mix(e.hash) & mask_;; i = (i + 1) & mask_) {
      if (entries_[i].alts.empty()) {
        entries_[i] = std::move(e);
        ++size_;
        break;
      }
    }
  }
}

}  // namespace bucketd::rules
