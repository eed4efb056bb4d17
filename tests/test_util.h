// Helpers shared by the tests: temp directories and small file utilities.
#ifndef BUCKETD_TESTS_TEST_UTIL_H_
#define BUCKETD_TESTS_TEST_UTIL_H_

#include <string>
#include <vector>

namespace bucketd::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& data);
std::string ReadFile(const std::string& path);
bool Exists(const std::string& path);
// Names in a directory (not recursive), sorted; empty when it is missing.
std::vector<std::string> ListDir(const std::string& path);

// Result of running a program to completion.
struct RunResult {
  int exit_code = -1;  // -signal when killed
  std::string out;
  std::string err;
};
// Runs argv (argv[0] a path) with `input` on stdin and extra "K=V" env.
RunResult Run(const std::vector<std::string>& argv, const std::string& input = "",
              const std::vector<std::string>& env = {});

// Starts argv in the background; its stdin is `stdin_fd` when >= 0, its
// stdout/stderr go to the test's. Returns the pid.
int Spawn(const std::vector<std::string>& argv, int stdin_fd = -1,
          const std::vector<std::string>& env = {});
// Waits for pid; returns its exit code, or -signal when it was killed.
int Wait(int pid);

// A connected Unix stream socket to `path` (close-on-exec), or -1.
int ConnectUnix(const std::string& path);

// Directory of the built binaries (set by CMake as BUCKETD_BIN_DIR).
std::string BinDir();

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_TEST_UTIL_H_
