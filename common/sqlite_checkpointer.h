// Copies a WAL database's log back into its file on a thread of its own, so
// the checkpoint (two fsyncs and a thousand page writes) is never part of a
// commit that a caller waits for — SQLite runs it inside the COMMIT that
// crosses the threshold otherwise.
//
// Thread-safety: constructed and destroyed on the thread that owns `db`;
// the checkpoints run on a second connection of the checkpointer's own.
#ifndef BUCKETD_COMMON_SQLITE_CHECKPOINTER_H_
#define BUCKETD_COMMON_SQLITE_CHECKPOINTER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/sqlite_db.h"

namespace bucketd {

class SqliteCheckpointer {
 public:
  // Takes over `db`'s checkpoints: none runs in its commits any more; once
  // its log holds `pages` pages, a passive checkpoint runs here (readers and
  // the writer go on meanwhile). `log_error` hears a checkpoint that failed,
  // once until one works again.
  static Result<std::unique_ptr<SqliteCheckpointer>> Start(SqliteDb& db, int pages,
                                                           std::function<void(const std::string&)> log_error);
  // Hands the checkpoints back to `db` (SQLite's own, at its default
  // threshold) and ends the thread.
  ~SqliteCheckpointer();

  // Checkpoints done so far (for tests).
  int64_t checkpoints() const;

 private:
  SqliteCheckpointer(SqliteDb& db, std::unique_ptr<SqliteDb> own, int pages,
                     std::function<void(const std::string&)> log_error);
  static int OnCommit(void* self, struct sqlite3* db, const char* name, int pages);
  void Loop();

  SqliteDb& db_;
  std::unique_ptr<SqliteDb> own_;
  const int pages_;
  std::function<void(const std::string&)> log_error_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false, stopping_ = false, failing_ = false;
  int64_t checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace bucketd

#endif  // BUCKETD_COMMON_SQLITE_CHECKPOINTER_H_
