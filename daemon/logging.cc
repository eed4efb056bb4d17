#include "daemon/logging.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <systemd/sd-journal.h>

namespace bucketd::daemon {

namespace {

// The fields of the line being logged on this thread (set by LogWithFields
// around its spdlog call; sinks run synchronously on the caller's thread).
thread_local const LogFieldList* t_fields = nullptr;

int Priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return LOG_DEBUG;
    case spdlog::level::info: return LOG_INFO;
    case spdlog::level::warn: return LOG_WARNING;
    case spdlog::level::err: return LOG_ERR;
    case spdlog::level::critical: return LOG_CRIT;
    default: return LOG_INFO;
  }
}

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(std::string identifier) : identifier_(std::move(identifier)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::vector<std::string> items;
    items.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
    items.push_back("PRIORITY=" + std::to_string(Priority(msg.level)));
    items.push_back("SYSLOG_IDENTIFIER=" + identifier_);
    if (t_fields != nullptr) {
      for (const auto& [name, value] : *t_fields) {
        if (!value.empty()) items.push_back(name + "=" + value);
      }
    }
    std::vector<struct iovec> iov;
    for (auto& i : items) iov.push_back({i.data(), i.size()});
    (void)sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
  }
  void flush_() override {}

 private:
  std::string identifier_;
};

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::string text(line.data(), line.size());
    if (t_fields != nullptr && !t_fields->empty()) {
      if (!text.empty() && text.back() == '\n') text.pop_back();
      // On a terminal only what the line does not say already (the journal
      // gets every field): most lines name their function, invocation, key
      // and error in the text.
      std::string extra;
      for (const auto& [name, value] : *t_fields) {
        if (!value.empty() && text.find(value) == std::string::npos) extra += " " + name + "=" + value;
      }
      text += extra.empty() ? "\n" : " {" + extra.substr(1) + "}\n";
    }
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void InitLogging(const std::string& identifier) {
  spdlog::sink_ptr sink;
  if (StderrIsJournal()) {
    sink = std::make_shared<JournalSink>(identifier);
  } else {
    sink = std::make_shared<StderrSink>();
  }
  auto logger = std::make_shared<spdlog::logger>(identifier, sink);
  spdlog::set_default_logger(logger);
}

void LogWithFields(spdlog::level::level_enum level, const LogFieldList& fields, const std::string& message) {
  const LogFieldList* saved = t_fields;
  t_fields = &fields;
  spdlog::log(level, "{}", message);
  t_fields = saved;
}

}  // namespace bucketd::daemon
