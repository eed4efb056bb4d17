// The `aws s3`-style commands over the store.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/local_files.h"
#include "cli/progress.h"
#include "cli/s3_url.h"
#include "common/text.h"
#include "common/time_format.h"
#include "events/records.h"

namespace bucketd::cli {

namespace {

class StdoutSink final : public store::ByteSink {
 public:
  explicit StdoutSink(Fs& fs) : fs_(fs) {}
  Status Write(std::string_view d) override { return fs_.WriteAll(1, d); }

 private:
  Fs& fs_;
};

// Counts bytes into a Progress on their way to another sink.
class ProgressSink final : public store::ByteSink {
 public:
  ProgressSink(store::ByteSink& next, Progress& p) : next_(next), progress_(p) {}
  Status Write(std::string_view d) override {
    done_ += d.size();
    progress_.Update(done_);
    return next_.Write(d);
  }

 private:
  store::ByteSink& next_;
  Progress& progress_;
  uint64_t done_ = 0;
};

std::string LocalTime(int64_t ns) {
  time_t t = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

Result<S3Url> NeedS3(const std::string& arg, bool need_key = false) {
  auto url = ParseS3Url(arg);
  if (!url) return Status::InvalidArgument("expected an s3://bucket/key URL, got '" + arg + "'");
  if (url->bucket.empty()) return Status::InvalidArgument("'" + arg + "' names no bucket");
  if (need_key && url->key.empty()) return Status::InvalidArgument("'" + arg + "' names no key");
  return *url;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string JoinKey(const std::string& prefix, const std::string& rel) {
  if (prefix.empty()) return rel;
  return prefix.back() == '/' ? prefix + rel : prefix + "/" + rel;
}

// Every key under `prefix` (all pages).
Result<std::vector<store::ObjectInfo>> ListAll(store::Store& s, const std::string& bucket,
                                               const std::string& prefix) {
  store::ListRequest req;
  req.prefix = prefix;
  std::vector<store::ObjectInfo> out;
  for (;;) {
    ASSIGN_OR_RETURN(store::ListResult page, s.ListObjectsV2(bucket, req));
    for (auto& o : page.contents) out.push_back(std::move(o));
    if (!page.is_truncated) return out;
    req.continuation_token = page.next_continuation_token;
  }
}

// "-" as a cp/mv path: standard input or output, as `aws s3 cp` takes it.
constexpr char kStdio[] = "-";

class StdinSource final : public store::ByteSource {
 public:
  explicit StdinSource(Fs& fs) : fs_(fs) {}
  Result<size_t> Read(char* buf, size_t n) override { return fs_.Read(STDIN_FILENO, buf, n); }

 private:
  Fs& fs_;
};

struct TransferFlags {
  std::string src, dst;
  bool recursive = false;
  std::string content_type;
  std::vector<std::string> metadata;  // k=v
};

struct Transfer {
  Context& ctx;
  store::Store& store;
  const TransferFlags& flags;
  bool move;
  mutable bool chain_warned = false;

  Result<store::PutOptions> PutOptions() const {
    store::PutOptions o;
    o.content_type = flags.content_type;
    for (const auto& kv : flags.metadata) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::InvalidArgument("--metadata wants KEY=VALUE, got '" + kv + "'");
      }
      o.user_metadata[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    std::string chain = InvocationChain();
    if (!chain.empty()) o.user_metadata[events::kChainMetadata] = chain;
    return o;
  }

  // Inside a pipeline stage: what it writes carries its invocation chain, so
  // bucketd can stop a stage that keeps re-triggering itself. Only a chain
  // bucketd handed out counts; one typed by hand (which could make a
  // stage's work look like a loop) is ignored with a warning.
  std::string InvocationChain() const {
    const char* env = std::getenv("BUCKETD_CHAIN");
    if (env == nullptr || *env == '\0') return "";
    auto chain = store.VerifyChain(env);
    if (!chain.ok()) {
      if (chain_warned) return "";
      chain_warned = true;
      std::fprintf(stderr, "bucketctl: warning: $BUCKETD_CHAIN %s; what this command writes starts no chain\n",
                   PrintableText(chain.status().message()).c_str());
      return "";
    }
    return *chain;
  }

  void Say(const char* verb, const std::string& from, const std::string& to) const {
    std::printf("%s: %s to %s\n", move ? "move" : verb, PrintableText(from).c_str(), PrintableText(to).c_str());
  }

  // Standard input to one object; nothing is printed (as aws s3 cp - does).
  Status UploadStdin(const S3Url& dst) {
    if (dst.key.empty() || dst.key.back() == '/') {
      return Status::InvalidArgument("'" + dst.ToString() + "' names no key; from standard input the "
                                     "destination must be s3://bucket/key");
    }
    ASSIGN_OR_RETURN(store::PutOptions o, PutOptions());
    StdinSource in(ctx.env().fs());
    return store.PutObject(dst.bucket, dst.key, in, o).status();
  }

  // One object to standard output, nothing else on it.
  Status DownloadStdout(const S3Url& src) {
    StdoutSink out(ctx.env().fs());
    RETURN_IF_ERROR(store.GetObject(src.bucket, src.key, out).status());
    if (move) RETURN_IF_ERROR(store.DeleteObject(src.bucket, src.key));
    return Status::OK();
  }

  Status Upload(const std::string& local, const S3Url& dst) {
    ASSIGN_OR_RETURN(store::PutOptions o, PutOptions());
    ASSIGN_OR_RETURN(FileStat st, ctx.env().fs().StatAt(AT_FDCWD, local, true));
    Progress progress(ctx.env().clock(), local, st.size);
    o.progress = [&](uint64_t done) { progress.Update(done); };
    RETURN_IF_ERROR(store.PutObjectFromFile(dst.bucket, dst.key, local, o).status());
    if (move) RETURN_IF_ERROR(ctx.env().fs().UnlinkAt(AT_FDCWD, local, false));
    Say("upload", local, dst.ToString());
    return Status::OK();
  }

  Status Download(const S3Url& src, const std::string& local) {
    ASSIGN_OR_RETURN(store::ObjectInfo head, store.HeadObject(src.bucket, src.key));
    Progress progress(ctx.env().clock(), local, head.size);
    RETURN_IF_ERROR(WriteLocalFileAtomically(ctx.env(), local, [&](store::ByteSink& sink) {
      ProgressSink counted(sink, progress);
      return store.GetObject(src.bucket, src.key, counted).status();
    }));
    if (move) RETURN_IF_ERROR(store.DeleteObject(src.bucket, src.key));
    Say("download", src.ToString(), local);
    return Status::OK();
  }

  Status Copy(const S3Url& src, const S3Url& dst) {
    store::CopyOptions o;
    if (!flags.content_type.empty() || !flags.metadata.empty()) {
      o.directive = store::MetadataDirective::kReplace;
      ASSIGN_OR_RETURN(o.put, PutOptions());
    } else {
      // A copy carries the source's metadata, but not its place in an
      // invocation chain: a copy by a person starts none, and one inside a
      // stage continues that stage's chain (PutOptions).
      ASSIGN_OR_RETURN(store::ObjectInfo head, store.HeadObject(src.bucket, src.key));
      if (head.user_metadata.count(events::kChainMetadata) != 0 || !InvocationChain().empty()) {
        o.directive = store::MetadataDirective::kReplace;
        ASSIGN_OR_RETURN(o.put, PutOptions());
        o.put.content_type = head.content_type;
        for (const auto& [k, v] : head.user_metadata) {
          if (k != events::kChainMetadata) o.put.user_metadata.emplace(k, v);
        }
      }
    }
    RETURN_IF_ERROR(store.CopyObject(src.bucket, src.key, dst.bucket, dst.key, o).status());
    if (move) RETURN_IF_ERROR(store.DeleteObject(src.bucket, src.key));
    Say("copy", src.ToString(), dst.ToString());
    return Status::OK();
  }

  Status One(const std::optional<S3Url>& src, const std::optional<S3Url>& dst) {
    if (!src && flags.src == kStdio) return UploadStdin(*dst);
    if (!dst && flags.dst == kStdio) return DownloadStdout(*src);
    if (!src && dst) {
      S3Url to = *dst;
      if (to.key.empty() || to.key.back() == '/') to.key += BaseName(flags.src);
      return Upload(flags.src, to);
    }
    if (src && !dst) {
      std::string to = flags.dst;
      if (to.back() == '/' || IsLocalDir(ctx.env().fs(), to)) to = JoinKey(to, BaseName(src->key));
      return Download(*src, to);
    }
    S3Url to = *dst;
    if (to.key.empty() || to.key.back() == '/') to.key += BaseName(src->key);
    return Copy(*src, to);
  }

  Status Recursive(const std::optional<S3Url>& src, const std::optional<S3Url>& dst) {
    if (!src) {
      ASSIGN_OR_RETURN(auto files, ListLocalFiles(ctx.env().fs(), flags.src));
      for (const auto& rel : files) {
        RETURN_IF_ERROR(Upload(JoinKey(flags.src, rel), S3Url{dst->bucket, JoinKey(dst->key, rel)}));
      }
      return Status::OK();
    }
    std::string prefix = src->key.empty() || src->key.back() == '/' ? src->key : src->key + "/";
    ASSIGN_OR_RETURN(auto objects, ListAll(store, src->bucket, prefix));
    for (const auto& o : objects) {
      std::string rel = o.key.substr(prefix.size());
      if (rel.empty() || rel.back() == '/') continue;  // folder markers have no bytes to copy
      S3Url from{src->bucket, o.key};
      if (dst) {
        RETURN_IF_ERROR(Copy(from, S3Url{dst->bucket, JoinKey(dst->key, rel)}));
      } else {
        RETURN_IF_ERROR(Download(from, JoinKey(flags.dst, rel)));
      }
    }
    return Status::OK();
  }

  int Run() {
    auto src = ParseS3Url(flags.src);
    auto dst = ParseS3Url(flags.dst);
    if (!src && !dst) {
      return Context::Fail(Status::InvalidArgument(
          "at least one of the two paths must be an s3:// URL (local copies are cp's job)"));
    }
    for (const auto& u : {src, dst}) {
      if (u && u->bucket.empty()) return Context::Fail(Status::InvalidArgument("URL names no bucket"));
    }
    if (src && src->key.empty() && !flags.recursive) {
      return Context::Fail(Status::InvalidArgument("'" + flags.src + "' names no key (use --recursive)"));
    }
    if (flags.recursive && (flags.src == kStdio || flags.dst == kStdio)) {
      return Context::Fail(Status::InvalidArgument("'-' (standard input or output) takes one object, not --recursive"));
    }
    Status s = flags.recursive ? Recursive(src, dst) : One(src, dst);
    return s.ok() ? 0 : Context::Fail(s);
  }
};

Command TransferCommand(const char* name, const char* help, bool move) {
  return {name, help, [move](CLI::App* app) {
            auto f = std::make_shared<TransferFlags>();
            app->add_option("source", f->src, "local path or s3://bucket/key")->required();
            app->add_option("destination", f->dst, "local path or s3://bucket/key")->required();
            app->add_flag("-r,--recursive", f->recursive, "every file or key under the source");
            app->add_option("--content-type", f->content_type, "Content-Type of uploaded objects");
            app->add_option("--metadata", f->metadata, "user metadata KEY=VALUE (repeatable)");
            return [f, move](Context& ctx) {
              auto store = ctx.Store();
              if (!store.ok()) return Context::Fail(store.status());
              return Transfer{ctx, **store, *f, move}.Run();
            };
          }};
}

int ListBuckets(store::Store& s) {
  auto buckets = s.ListBuckets();
  if (!buckets.ok()) return Context::Fail(buckets.status());
  for (const auto& b : *buckets) std::printf("%s %s\n", LocalTime(b.creation_date).c_str(), b.name.c_str());
  return 0;
}

int ListObjects(store::Store& s, const S3Url& url, bool recursive, bool json) {
  store::ListRequest req;
  req.prefix = url.key;
  if (!recursive) req.delimiter = "/";
  size_t cut = recursive ? 0 : (url.key.rfind('/') == std::string::npos ? 0 : url.key.rfind('/') + 1);
  nlohmann::json out = nlohmann::json::array();
  for (;;) {
    auto page = s.ListObjectsV2(url.bucket, req);
    if (!page.ok()) return Context::Fail(page.status());
    for (const auto& p : page->common_prefixes) {
      if (json) {
        out.push_back({{"Prefix", p}});
      } else {
        std::printf("%27s PRE %s\n", "", PrintableText(p.substr(cut)).c_str());
      }
    }
    for (const auto& o : page->contents) {
      if (json) {
        out.push_back({{"Key", o.key}, {"Size", o.size}, {"ETag", o.etag},
                       {"LastModified", FormatRfc3339Millis(o.last_modified)}});
      } else {
        std::printf("%s %10llu %s\n", LocalTime(o.last_modified).c_str(),
                    static_cast<unsigned long long>(o.size), PrintableText(o.key.substr(cut)).c_str());
      }
    }
    if (!page->is_truncated) break;
    req.continuation_token = page->next_continuation_token;
  }
  if (json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

Status RemoveAll(store::Store& s, const S3Url& url, bool quiet) {
  std::string prefix = url.key.empty() || url.key.back() == '/' ? url.key : url.key + "/";
  ASSIGN_OR_RETURN(auto objects, ListAll(s, url.bucket, prefix));
  // Deepest first, so folder markers go after what is inside them.
  for (auto it = objects.rbegin(); it != objects.rend(); ++it) {
    RETURN_IF_ERROR(s.DeleteObject(url.bucket, it->key));
    if (!quiet) std::printf("delete: s3://%s/%s\n", url.bucket.c_str(), PrintableText(it->key).c_str());
  }
  return Status::OK();
}

}  // namespace

std::vector<Command> StoreCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"mb", "make a bucket", [](CLI::App* app) {
                    auto url = std::make_shared<std::string>();
                    app->add_option("bucket", *url, "s3://bucket")->required();
                    return [url](Context& ctx) {
                      auto u = NeedS3(*url);
                      if (!u.ok()) return Context::Fail(u.status());
                      auto store = ctx.Store();
                      if (!store.ok()) return Context::Fail(store.status());
                      Status s = (*store)->CreateBucket(u->bucket);
                      if (!s.ok()) return Context::Fail(s);
                      std::printf("make_bucket: %s\n", u->bucket.c_str());
                      return 0;
                    };
                  }});
  cmds.push_back({"rb", "remove an empty bucket (--force: remove its objects first)",
                  [](CLI::App* app) {
                    auto url = std::make_shared<std::string>();
                    auto force = std::make_shared<bool>(false);
                    app->add_option("bucket", *url, "s3://bucket")->required();
                    app->add_flag("--force", *force, "delete every object first");
                    return [url, force](Context& ctx) {
                      auto u = NeedS3(*url);
                      if (!u.ok()) return Context::Fail(u.status());
                      auto store = ctx.Store();
                      if (!store.ok()) return Context::Fail(store.status());
                      Status s = *force ? RemoveAll(**store, S3Url{u->bucket, ""}, false) : Status::OK();
                      if (s.ok()) s = (*store)->DeleteBucket(u->bucket);
                      if (!s.ok()) return Context::Fail(s);
                      std::printf("remove_bucket: %s\n", u->bucket.c_str());
                      return 0;
                    };
                  }});
  cmds.push_back({"ls", "list buckets, or the keys and prefixes under s3://bucket/prefix",
                  [](CLI::App* app) {
                    auto url = std::make_shared<std::string>();
                    auto recursive = std::make_shared<bool>(false);
                    auto json = std::make_shared<bool>(false);
                    app->add_option("path", *url, "s3://bucket[/prefix]");
                    app->add_flag("-r,--recursive", *recursive, "every key, not grouped by '/'");
                    app->add_flag("--json", *json, "machine-readable output on stdout");
                    return [url, recursive, json](Context& ctx) {
                      auto store = ctx.Store();
                      if (!store.ok()) return Context::Fail(store.status());
                      if (url->empty()) return ListBuckets(**store);
                      auto u = NeedS3(*url);
                      if (!u.ok()) return Context::Fail(u.status());
                      return ListObjects(**store, *u, *recursive, *json);
                    };
                  }});
  cmds.push_back(TransferCommand("cp", "copy local->bucket, bucket->local or bucket->bucket", false));
  cmds.push_back(TransferCommand("mv", "move local->bucket, bucket->local or bucket->bucket", true));
  cmds.push_back({"rm", "delete an object (--recursive: every key under a prefix)",
                  [](CLI::App* app) {
                    auto url = std::make_shared<std::string>();
                    auto recursive = std::make_shared<bool>(false);
                    app->add_option("path", *url, "s3://bucket/key")->required();
                    app->add_flag("-r,--recursive", *recursive, "every key under the prefix");
                    return [url, recursive](Context& ctx) {
                      auto u = NeedS3(*url, !*recursive);
                      if (!u.ok()) return Context::Fail(u.status());
                      auto store = ctx.Store();
                      if (!store.ok()) return Context::Fail(store.status());
                      if (*recursive) {
                        Status s = RemoveAll(**store, *u, false);
                        return s.ok() ? 0 : Context::Fail(s);
                      }
                      Status s = (*store)->DeleteObject(u->bucket, u->key);
                      if (!s.ok()) return Context::Fail(s);
                      std::printf("delete: %s\n", PrintableText(u->ToString()).c_str());
                      return 0;
                    };
                  }});
  cmds.push_back({"cat", "write an object's bytes to stdout", [](CLI::App* app) {
                    auto url = std::make_shared<std::string>();
                    auto range = std::make_shared<std::string>();
                    app->add_option("path", *url, "s3://bucket/key")->required();
                    app->add_option("--range", *range, "bytes=FIRST-LAST, bytes=FIRST- or bytes=-N");
                    return [url, range](Context& ctx) {
                      auto u = NeedS3(*url, true);
                      if (!u.ok()) return Context::Fail(u.status());
                      store::GetOptions o;
                      if (!range->empty()) {
                        auto r = store::ByteRange::Parse(*range);
                        if (!r.ok()) return Context::Fail(r.status());
                        o.range = *r;
                      }
                      auto store = ctx.Store();
                      if (!store.ok()) return Context::Fail(store.status());
                      StdoutSink sink(ctx.env().fs());
                      auto got = (*store)->GetObject(u->bucket, u->key, sink, o);
                      return got.ok() ? 0 : Context::Fail(got.status());
                    };
                  }});
  cmds.push_back({"head", "an object's metadata as JSON (like s3api head-object)",
                  [](CLI::App* app) {
                    auto url = std::make_shared<std::string>();
                    app->add_option("path", *url, "s3://bucket/key")->required();
                    return [url](Context& ctx) {
                      auto u = NeedS3(*url, true);
                      if (!u.ok()) return Context::Fail(u.status());
                      auto store = ctx.Store();
                      if (!store.ok()) return Context::Fail(store.status());
                      auto h = (*store)->HeadObject(u->bucket, u->key);
                      if (!h.ok()) return Context::Fail(h.status());
                      nlohmann::json j = {{"ContentLength", h->size},
                                          {"ETag", h->etag},
                                          {"LastModified", FormatHttpDate(h->last_modified)},
                                          {"ContentType", h->content_type},
                                          {"Metadata", h->user_metadata}};
                      std::printf("%s\n", j.dump(4).c_str());
                      return 0;
                    };
                  }});
  return cmds;
}

}  // namespace bucketd::cli
