// bucketd's logging: spdlog with sinks of the project's own. Under journald
// (JOURNAL_STREAM names our stderr) every line goes to the journal through
// sd_journal_sendv with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the fields
// that apply (BUCKET, KEY, RULE, TARGET, FUNCTION, INVOCATION_ID, ATTEMPT,
// STAGE, DURATION_MS, ERROR, STREAM), so `journalctl -u bucketd STAGE=train`
// and `-o json` work; spdlog 1.10's systemd_sink sends only the first three.
// Otherwise lines go to stderr, readable: time, level, message, fields.
//
// Thread-safety: as spdlog's (the sinks lock); fields travel with the call.
#ifndef BUCKETD_DAEMON_LOGGING_H_
#define BUCKETD_DAEMON_LOGGING_H_

#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace bucketd::daemon {

using LogFieldList = std::vector<std::pair<std::string, std::string>>;  // journal name, value

// Installs the default logger named `identifier`: the journal sink when
// stderr is connected to the journal, else the stderr sink.
void InitLogging(const std::string& identifier);

// Whether stderr is the journal (JOURNAL_STREAM matches it).
bool StderrIsJournal();

// One line with fields. Lines logged through spdlog directly carry none.
void LogWithFields(spdlog::level::level_enum level, const LogFieldList& fields, const std::string& message);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_LOGGING_H_
