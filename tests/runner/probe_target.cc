// An exec target for the runner's tests and bench. What it does comes from
// its environment (its function's Environment.Variables):
//   MODE=record       append "<attempt>\n" to $OUT/<invocation id>, then
//                     sleep $DELAY_MS (so crashes find it running)
//   MODE=probe        write what it was given (env, fds, stdin, cwd) as
//                     JSON to $OUT/<invocation id>.probe
//   MODE=stamp        write the CLOCK_REALTIME ns of its first instruction
//                     in main to $OUT/<stdin, '/' as '_'>.stamp
//   MODE=sleep        sleep $SECONDS (SIGTERM ends it)
//   MODE=ignore-term  ignore SIGTERM, then sleep $SECONDS
//   MODE=fork-sleep   fork a child; both sleep $SECONDS; "<attempt> <pid>
//                     <child pid>\n" is appended to $OUT/<invocation id>.pids
//   MODE=fail         print a line on stdout and stderr, exit 3 — unless
//                     the file $FIXED exists, then record and exit 0
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\u00";
      out.push_back("0123456789abcdef"[(c >> 4) & 15]);
      out.push_back("0123456789abcdef"[c & 15]);
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void WriteTo(const std::string& path, const std::string& data, bool append) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) std::exit(10);
  if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) std::exit(11);
  close(fd);
}

std::string Record() { return Env("OUT") + "/" + Env("BUCKETD_INVOCATION_ID"); }

}  // namespace

int main() {
  struct timespec start;
  clock_gettime(CLOCK_REALTIME, &start);
  std::string mode = Env("MODE");
  if (mode == "stamp") {
    std::string name;
    char buf[4096];
    for (ssize_t n; (n = read(0, buf, sizeof buf)) > 0;) name.append(buf, static_cast<size_t>(n));
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();  // a line's end
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    WriteTo(Env("OUT") + "/" + name + ".stamp",
            std::to_string(static_cast<int64_t>(start.tv_sec) * 1000000000 + start.tv_nsec), false);
    return 0;
  }
  if (mode == "record") {
    WriteTo(Record(), Env("BUCKETD_ATTEMPT") + "\n", true);
    // With CAPS set, the capability lines of /proc/self/status: a target
    // must get none of what bucketd's unit grants bucketd.
    if (!Env("CAPS").empty()) {
      std::string caps;
      if (FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
          if (std::strncmp(line, "Cap", 3) == 0) caps += line;
        }
        std::fclose(f);
      }
      WriteTo(Record() + ".caps", caps, false);
    }
    usleep(static_cast<useconds_t>(std::atoi(Env("DELAY_MS").c_str())) * 1000);
    return 0;
  }
  if (mode == "probe") {
    std::string json = "{\"env\":[";
    for (char** e = environ; *e != nullptr; ++e) json += std::string(e == environ ? "" : ",") + "\"" + Escape(*e) + "\"";
    json += "],\"fds\":[";
    DIR* d = opendir("/proc/self/fd");
    bool first = true;
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] == '.' || std::atoi(e->d_name) == dirfd(d)) continue;
      json += std::string(first ? "" : ",") + e->d_name;
      first = false;
    }
    closedir(d);
    std::string in;
    char buf[4096];
    for (ssize_t n; (n = read(0, buf, sizeof buf)) > 0;) in.append(buf, static_cast<size_t>(n));
    char cwd[4096];
    json += "],\"stdin\":\"" + Escape(in) + "\",\"cwd\":\"" + Escape(getcwd(cwd, sizeof cwd)) + "\"}";
    WriteTo(Record() + ".probe", json, false);
    std::printf("probe done\n");
    return 0;
  }
  if (mode == "sleep" || mode == "ignore-term") {
    if (mode == "ignore-term") signal(SIGTERM, SIG_IGN);
    std::printf("sleeping\n");
    std::fflush(stdout);
    sleep(static_cast<unsigned>(std::atoi(Env("SECONDS").c_str())));
    return 0;
  }
  if (mode == "fork-sleep") {
    unsigned seconds = static_cast<unsigned>(std::atoi(Env("SECONDS").c_str()));
    pid_t child = fork();
    if (child == 0) {
      sleep(seconds);
      _exit(0);
    }
    WriteTo(Record() + ".pids", Env("BUCKETD_ATTEMPT") + " " + std::to_string(getpid()) + " " +
                                    std::to_string(child) + "\n", true);
    sleep(seconds);
    return 0;
  }
  if (mode == "fail") {
    if (access(Env("FIXED").c_str(), F_OK) == 0) {
      WriteTo(Record(), Env("BUCKETD_ATTEMPT") + "\n", true);
      return 0;
    }
    std::printf("about to fail\n");
    std::fprintf(stderr, "something is wrong\n");
    return 3;
  }
  std::fprintf(stderr, "unknown MODE '%s'\n", mode.c_str());
  return 2;
}
