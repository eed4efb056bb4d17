#include "common/sqlite_checkpointer.h"

#include <sqlite3.h>

#include <chrono>

namespace bucketd {

Result<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::Start(
    SqliteDb& db, int pages, std::function<void(const std::string&)> log_error) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> own, SqliteDb::Open(db.path(), /*read_only=*/false));
  std::unique_ptr<SqliteCheckpointer> c(new SqliteCheckpointer(db, std::move(own), pages, std::move(log_error)));
  // Replaces SQLite's own hook (the automatic checkpoint is one).
  sqlite3_wal_hook(db.handle(), &SqliteCheckpointer::OnCommit, c.get());
  c->thread_ = std::thread([p = c.get()] { p->Loop(); });
  return c;
}

SqliteCheckpointer::SqliteCheckpointer(SqliteDb& db, std::unique_ptr<SqliteDb> own, int pages,
                                       std::function<void(const std::string&)> log_error)
    : db_(db), own_(std::move(own)), pages_(pages), log_error_(std::move(log_error)) {}

SqliteCheckpointer::~SqliteCheckpointer() {
  sqlite3_wal_autocheckpoint(db_.handle(), 1000);  // SQLite's default
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

int SqliteCheckpointer::OnCommit(void* self, struct sqlite3*, const char*, int pages) {
  auto* c = static_cast<SqliteCheckpointer*>(self);
  if (pages < c->pages_) return SQLITE_OK;
  {
    std::lock_guard<std::mutex> l(c->mu_);
    c->due_ = true;
  }
  c->wake_.notify_one();
  return SQLITE_OK;
}

int64_t SqliteCheckpointer::checkpoints() const {
  std::lock_guard<std::mutex> l(mu_);
  return checkpoints_;
}

void SqliteCheckpointer::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    wake_.wait(l, [this] { return due_ || stopping_; });
    if (stopping_) return;
    due_ = false;
    l.unlock();
    // PASSIVE: copies what no reader still needs and waits for nobody; once
    // the whole log is in the file, the next commit starts it over.
    int rc = sqlite3_wal_checkpoint_v2(own_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    std::string error = rc == SQLITE_OK || rc == SQLITE_BUSY ? "" : sqlite3_errmsg(own_->handle());
    l.lock();
    ++checkpoints_;
    if (!error.empty() && !failing_ && log_error_) log_error_(own_->path() + ": checkpoint: " + error);
    failing_ = !error.empty();
    // A reader holding an old snapshot keeps the log from being finished;
    // each commit would ask again: one try per interval is enough.
    wake_.wait_for(l, std::chrono::milliseconds(50), [this] { return stopping_; });
  }
}

}  // namespace bucketd
