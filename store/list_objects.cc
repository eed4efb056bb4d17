// ListObjectsV2 over the directory tree.
//
// S3 orders keys by their UTF-8 bytes. A directory "a" holds exactly the keys
// that start with "a/", so visiting a directory's entries sorted by name, with
// each subdirectory sorted as "name/", yields the global key order without
// collecting the whole bucket. Subtrees that cannot hold a wanted key (outside
// the prefix, before the start position, inside a common prefix already
// returned) are skipped without being read.
//
// Continuation tokens encode the last returned key or common prefix, so they
// stay valid while objects are added or removed.
#include <fcntl.h>

#include <algorithm>

#include "store/store_impl.h"

namespace bucketd::store {

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string EncodeToken(bool is_prefix, const std::string& key) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = is_prefix ? "p1" : "k1";
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Status DecodeToken(const std::string& token, bool* is_prefix, std::string* key) {
  auto bad = Status::InvalidArgument("invalid continuation token '" + token.substr(0, 64) +
                                     "': it must come from a previous listing");
  if (token.size() < 2 || token.size() % 2 != 0 || token[1] != '1' ||
      (token[0] != 'p' && token[0] != 'k')) {
    return bad;
  }
  *is_prefix = token[0] == 'p';
  key->clear();
  for (size_t i = 2; i < token.size(); i += 2) {
    auto nib = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    int hi = nib(token[i]), lo = nib(token[i + 1]);
    if (hi < 0 || lo < 0) return bad;
    key->push_back(static_cast<char>(hi * 16 + lo));
  }
  return Status::OK();
}

class Lister {
 public:
  Lister(StoreImpl& store, const ListRequest& req) : store_(store), fs_(store.fs()), req_(req) {}

  Status SetResumePoint() {
    if (!req_.continuation_token.empty()) {
      RETURN_IF_ERROR(DecodeToken(req_.continuation_token, &after_is_prefix_, &after_));
    }
    return Status::OK();
  }

  Status Visit(int dir_fd, const std::string& dir_key) {
    ASSIGN_OR_RETURN(auto entries, fs_.ReadDir(dir_fd));
    std::vector<std::pair<std::string, DirEntry>> sorted;
    sorted.reserve(entries.size());
    for (DirEntry& e : entries) {
      std::string k = dir_key + e.name;
      if (e.type == DirEntry::Type::kDir) k.push_back('/');
      sorted.emplace_back(std::move(k), std::move(e));
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [key, e] : sorted) {
      if (done_) return Status::OK();
      // A name that is no valid key (not UTF-8, over 1,024 bytes) is not
      // listed: a listing never returns a key that GET refuses.
      if (!ValidateKey(key).ok()) continue;
      if (e.type == DirEntry::Type::kDir) {
        if (!MayHoldWantedKeys(key)) continue;
        auto sub = fs_.OpenAt(dir_fd, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!sub.ok()) continue;  // removed meanwhile
        // Only bucketd's sealed marker makes a directory a folder object;
        // an uploader's attribute on a directory is no object at all.
        if (store_.IsFolderMarker(sub->get()) && ListAsObject(key)) {
          RETURN_IF_ERROR(AddObject(key, sub->get(), /*is_folder=*/true));
        }
        RETURN_IF_ERROR(Visit(sub->get(), key));
      } else if (e.type == DirEntry::Type::kFile || e.type == DirEntry::Type::kSymlink) {
        if (!ListAsObject(key)) continue;
        // A symlink is an object when it resolves, inside the bucket, to a
        // regular file; it is read through the descriptor opened here.
        auto fd = fs_.OpenBeneath(dir_fd, e.name, O_RDONLY | O_NONBLOCK);
        if (!fd.ok()) continue;  // removed meanwhile, or leads outside the bucket
        RETURN_IF_ERROR(AddObject(key, fd->get(), /*is_folder=*/false));
      }
    }
    return Status::OK();
  }

  ListResult TakeResult() {
    result_.key_count = static_cast<int>(result_.contents.size() + result_.common_prefixes.size());
    if (result_.is_truncated) result_.next_continuation_token = EncodeToken(last_is_prefix_, last_);
    return std::move(result_);
  }

 private:
  // Whether keys "dir_key…" (dir_key ends in '/') can be in this page.
  bool MayHoldWantedKeys(const std::string& d) const {
    if (!StartsWith(d, req_.prefix) && !StartsWith(req_.prefix, d)) return false;
    if (!last_cp_.empty() && StartsWith(d, last_cp_)) return false;
    if (after_is_prefix_ && StartsWith(d, after_)) return false;
    auto all_before = [&](const std::string& bound) {
      return !bound.empty() && d < bound && !StartsWith(bound, d);
    };
    return !all_before(req_.start_after) && !all_before(after_);
  }

  bool Wanted(const std::string& key) const {
    if (!StartsWith(key, req_.prefix)) return false;
    if (!req_.start_after.empty() && key <= req_.start_after) return false;
    if (!after_.empty()) {
      if (key <= after_) return false;
      if (after_is_prefix_ && StartsWith(key, after_)) return false;
    }
    return true;
  }

  // True when `key` is to be listed as an object; false when it is not
  // wanted or is rolled into a common prefix (which this adds), so no file is
  // opened for keys that only make up a prefix.
  bool ListAsObject(const std::string& key) {
    if (!Wanted(key)) return false;
    if (req_.delimiter.empty()) return true;
    size_t pos = key.find(req_.delimiter, req_.prefix.size());
    if (pos == std::string::npos) return true;
    std::string cp = key.substr(0, pos + req_.delimiter.size());
    if (cp != last_cp_ && Room()) {
      result_.common_prefixes.push_back(cp);
      last_cp_ = cp;
      Remember(cp, true);
    }
    return false;
  }

  // Lists the open object `fd` under `key`.
  Status AddObject(const std::string& key, int fd, bool is_folder) {
    ASSIGN_OR_RETURN(FileStat st, fs_.Stat(fd));
    if (!is_folder && !st.IsRegular()) return Status::OK();
    auto meta = store_.LoadMeta(fd, st, key);
    if (!meta.ok()) {
      if (meta.status().code() == StatusCode::kUnavailable) return Status::OK();  // mid-write
      return meta.status();
    }
    if (is_folder) meta->folder = true;
    if (!Room()) return Status::OK();
    ObjectInfo info = MakeObjectInfo(key, st, *meta);
    info.user_metadata.clear();
    result_.contents.push_back(std::move(info));
    Remember(key, false);
    return Status::OK();
  }

  // False (and the page marked truncated) when the page is already full.
  bool Room() {
    if (count_ < req_.max_keys) return true;
    result_.is_truncated = count_ > 0;
    done_ = true;
    return false;
  }

  void Remember(const std::string& item, bool is_prefix) {
    ++count_;
    last_ = item;
    last_is_prefix_ = is_prefix;
  }

  StoreImpl& store_;
  Fs& fs_;
  const ListRequest& req_;
  std::string after_;  // from the continuation token
  bool after_is_prefix_ = false;
  std::string last_cp_;
  std::string last_;
  bool last_is_prefix_ = false;
  int count_ = 0;
  bool done_ = false;
  ListResult result_;
};

}  // namespace

Result<ListResult> StoreImpl::ListObjectsV2(const std::string& bucket, const ListRequest& request) {
  if (request.max_keys < 0) return Status::InvalidArgument("max-keys must not be negative");
  ListRequest req = request;
  req.max_keys = std::min(req.max_keys, 1000);
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  Lister lister(*this, req);
  RETURN_IF_ERROR(lister.SetResumePoint());
  if (req.max_keys > 0) RETURN_IF_ERROR(lister.Visit(bfd.get(), ""));
  return lister.TakeResult();
}

}  // namespace bucketd::store
