// Test hooks: with BUCKETD_TEST_HOOKS set, variables that make bucketd stop
// at an exact window (tests/integration/crash_window_test.cc). Never set in
// production; without BUCKETD_TEST_HOOKS they are ignored.
#ifndef BUCKETD_DAEMON_TEST_HOOKS_H_
#define BUCKETD_DAEMON_TEST_HOOKS_H_

#include <cstdlib>
#include <string>

namespace bucketd::daemon {

// Whether the hook `name` is set to `value` (and hooks are on).
inline bool TestHook(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return std::getenv("BUCKETD_TEST_HOOKS") != nullptr && v != nullptr && std::string(v) == value;
}

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_TEST_HOOKS_H_
