// InotifyWatcher: libinotifytools on a dedicated thread.
//
// libinotifytools keeps the watches and the watch-descriptor -> path table
// (recursive watches, excludes, renames of watched directories). What it
// cannot do is done here with the raw inotify API:
//  * it exposes no descriptor and opens it without O_CLOEXEC: the inotify
//    descriptor is found in /proc/self/fd right after initialisation and made
//    close-on-exec, so child processes never inherit it;
//  * its inotifytools_next_event() cannot be polled: any timeout <= 0 blocks
//    forever, and it may hold events in a private buffer, so neither a stop
//    request nor "nothing left right now" can be observed. This thread
//    therefore reads the descriptor itself, non-blocking, in large batches
//    (a burst of events is handed over together), and polls it with an
//    eventfd that stops the thread. IN_IGNORED, which the library would have
//    handled, drops the watch from its table here;
//  * new directories must be watched by the caller: done on this thread as
//    soon as their event arrives, before the main loop scans them, so no file
//    created inside them can be missed (the scan finds what came before the
//    watch, the watch what came after; the event plane de-duplicates).
#include <dirent.h>
#include <fcntl.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "events/watcher.h"

namespace bucketd::events {

namespace {

constexpr int kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                      IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB;

std::set<int> InotifyFds() {
  std::set<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  while (struct dirent* e = ::readdir(d)) {
    char target[64];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (std::strcmp(target, "anon_inode:inotify") == 0) fds.insert(std::atoi(e->d_name));
  }
  ::closedir(d);
  return fds;
}

std::string StripSlash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string Normal(const std::string& p) { return StripSlash(std::filesystem::path(p).lexically_normal().string()); }

class InotifyWatcher final : public Watcher {
 public:
  InotifyWatcher()
      : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~InotifyWatcher() override { Stop(); }

  Status Start(const std::string& root, const std::vector<std::string>& exclude) override {
    std::promise<Status> started;
    auto ready = started.get_future();
    thread_ = std::thread([this, root, exclude, &started] { Loop(root, exclude, &started); });
    Status s = ready.get();
    if (!s.ok()) Stop();
    return s;
  }

  int wake_fd() const override { return wake_.get(); }

  std::vector<WatchHint> Drain() override {
    uint64_t v;
    (void)!::read(wake_.get(), &v, sizeof(v));
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(hints_, {});
  }

  void Stop() override {
    if (!thread_.joinable()) return;
    stopping_ = true;
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
    thread_.join();
  }

  int watch_count() const override { return watches_.load(); }

  void TEST_PauseReading(bool paused) override {
    paused_ = paused;
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));  // re-evaluate the poll set
  }

 private:
  void Push(WatchHint h) {
    h.read_ns = read_ns_;
    std::lock_guard<std::mutex> l(mu_);
    hints_.push_back(std::move(h));
  }

  void Wake() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
  }

  // Returns false when the directory could not be watched. One bucketd
  // may not read (an uploader's chmod 000) is left unwatched without a full
  // rescan: its kDirAppeared tells the plane, and its chmod (IN_ATTRIB)
  // brings it here again.
  bool WatchNewDir(const std::string& path) {
    if (!WatchOne(path)) return false;
    // libinotifytools lists a directory before it watches it, so a
    // subdirectory made in between (mkdir -p a/b/c as a new object's
    // parents) would never be seen, nor anything later put in it. Once the
    // watches stand, anything made from now on is reported; what was made
    // before is found by looking again, until a look adds nothing.
    for (int pass = 0; pass < 16; ++pass) {
      std::vector<std::string> missed;
      FindUnwatched(path, 0, &missed);
      if (missed.empty()) break;
      for (const std::string& dir : missed) {
        if (WatchOne(dir)) Push({WatchHint::Kind::kDirAppeared, dir, IN_CREATE | IN_ISDIR});
      }
    }
    return true;
  }

  bool WatchOne(const std::string& path) {
    if (inotifytools_watch_recursively(path.c_str(), kMask)) return true;
    int err = inotifytools_error();
    if (err == EACCES || err == ENOENT) return false;
    Push({err == ENOSPC ? WatchHint::Kind::kWatchLimit : WatchHint::Kind::kRescanAll, path,
          static_cast<uint32_t>(err)});
    return false;
  }

  // The directories beneath `path` without a watch (the topmost of each
  // unwatched subtree: watching it watches what is beneath).
  void FindUnwatched(const std::string& path, int depth, std::vector<std::string>* out) {
    if (depth > 256) return;
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      std::string sub = path + "/" + e->d_name;
      struct stat st;
      bool dir = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && ::lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
      if (!dir || excluded_.count(Normal(sub)) != 0) continue;
      if (inotifytools_wd_from_filename((sub + "/").c_str()) < 0) {
        out->push_back(sub);
      } else {
        FindUnwatched(sub, depth + 1, out);
      }
    }
    ::closedir(d);
  }

  void Handle(struct inotify_event* ev) {
    if (ev->mask & IN_IGNORED) {
      (void)inotifytools_remove_watch_by_wd(ev->wd);  // the kernel removed it already
      return;
    }
    if (ev->mask & IN_Q_OVERFLOW) {
      Push({WatchHint::Kind::kRescanAll, root_, ev->mask});
      return;
    }
    const char* dir = inotifytools_filename_from_wd(ev->wd);
    if (dir == nullptr) {  // an unknown watch: we cannot say where it happened
      Push({WatchHint::Kind::kRescanAll, root_, ev->mask});
      return;
    }
    std::string path = StripSlash(std::string(dir) + (ev->len ? ev->name : ""));
    if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
      if (path == root_) Push({WatchHint::Kind::kRescanAll, root_, ev->mask});
      return;  // a subdirectory: its parent reports it
    }
    if (!(ev->mask & IN_ISDIR)) {
      // A file's attributes matter too: a chmod can make an unreadable
      // upload readable (the plane finds nothing new for its own xattrs).
      Push({WatchHint::Kind::kFile, path, ev->mask});
      return;
    }
    if (ev->mask & IN_MOVED_FROM) {
      moved_from_ = path;
      moved_cookie_ = ev->cookie;
      Push({WatchHint::Kind::kDirGone, path, ev->mask});
    } else if (ev->mask & IN_MOVED_TO) {
      if (!moved_from_.empty() && ev->cookie == moved_cookie_) {
        // Renamed inside the tree: its watches stay valid under the new name.
        inotifytools_replace_filename((moved_from_ + "/").c_str(), (path + "/").c_str());
        moved_from_.clear();
      } else {
        WatchNewDir(path);
      }
      Push({WatchHint::Kind::kDirAppeared, path, ev->mask});
    } else if (ev->mask & IN_CREATE) {
      WatchNewDir(path);
      Push({WatchHint::Kind::kDirAppeared, path, ev->mask});
    } else if (ev->mask & IN_DELETE) {
      Push({WatchHint::Kind::kDirGone, path, ev->mask});
    } else if (ev->mask & IN_ATTRIB) {
      // A directory that could not be watched (unreadable) may be readable now.
      if (inotifytools_wd_from_filename((path + "/").c_str()) < 0 && WatchNewDir(path)) {
        Push({WatchHint::Kind::kDirAppeared, path, ev->mask});
      }
      Push({WatchHint::Kind::kFile, path, ev->mask});  // a folder marker may have changed
    }
  }

  void Loop(std::string root, std::vector<std::string> exclude, std::promise<Status>* started) {
    root_ = StripSlash(root);
    std::set<int> before = InotifyFds();
    if (!inotifytools_initialize()) {
      started->set_value(Status::IOError(std::string("inotify: cannot initialise: ") +
                                         std::strerror(inotifytools_error())));
      return;
    }
    int fd = -1;
    for (int f : InotifyFds()) {
      if (!before.count(f)) fd = f;
    }
    if (fd < 0) {
      inotifytools_cleanup();
      started->set_value(Status::IOError("inotify: cannot find libinotifytools' descriptor"));
      return;
    }
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    std::vector<std::string> ex_slash;
    for (const auto& e : exclude) ex_slash.push_back(StripSlash(e));
    for (const auto& e : ex_slash) excluded_.insert(Normal(e));
    std::vector<const char*> ex;
    for (const auto& e : ex_slash) ex.push_back(e.c_str());
    ex.push_back(nullptr);
    if (!inotifytools_watch_recursively_with_exclude(root_.c_str(), kMask, ex.data())) {
      int err = inotifytools_error();
      if (err != ENOSPC) {
        inotifytools_cleanup();
        started->set_value(Status::IOError("inotify: cannot watch '" + root_ + "': " +
                                           std::strerror(err)));
        return;
      }
      Push({WatchHint::Kind::kWatchLimit, root_, static_cast<uint32_t>(err)});
      Wake();
    }
    // What was made while the tree was being watched (see WatchNewDir); the
    // plane's first reconcile reads what is in it.
    std::vector<std::string> missed;
    FindUnwatched(root_, 0, &missed);
    for (const std::string& dir : missed) WatchNewDir(dir);
    watches_ = inotifytools_get_num_watches();
    started->set_value(Status::OK());
    std::vector<char> buf(256 * 1024);
    for (;;) {
      struct pollfd p[2] = {{stop_.get(), POLLIN, 0}, {fd, POLLIN, 0}};
      if (::poll(p, paused_ ? 1 : 2, -1) < 0 && errno != EINTR) break;
      if (p[0].revents & POLLIN) {
        uint64_t v;
        (void)!::read(stop_.get(), &v, sizeof(v));
        if (stopping_) break;
        continue;
      }
      bool any = false;
      for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n <= 0) break;  // EAGAIN: drained
        struct timespec now;
        ::clock_gettime(CLOCK_REALTIME, &now);  // the time base of mtimes
        read_ns_ = static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
        for (ssize_t off = 0; off < n;) {
          auto* ev = reinterpret_cast<struct inotify_event*>(buf.data() + off);
          Handle(ev);
          off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
        }
        any = true;
      }
      moved_from_.clear();  // a move whose other half never came went out of the tree
      watches_ = inotifytools_get_num_watches();
      if (any) Wake();
    }
    inotifytools_cleanup();
  }

  int64_t read_ns_ = 0;  // when the events being handled were read (watcher thread only)
  UniqueFd wake_, stop_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<WatchHint> hints_;  // guarded by mu_
  std::atomic<int> watches_{0};
  std::atomic<bool> paused_{false};
  std::atomic<bool> stopping_{false};
  // Watcher-thread only:
  std::string root_;
  std::set<std::string> excluded_;
  std::string moved_from_;
  uint32_t moved_cookie_ = 0;
};

}  // namespace

std::unique_ptr<Watcher> NewInotifyWatcher() { return std::make_unique<InotifyWatcher>(); }

}  // namespace bucketd::events
