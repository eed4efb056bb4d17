// Issue 12, item 2: the state directory on a small tmpfs (in a private mount
// namespace) fills up while invocations wait. The runner used to start
// targets that could not write their status and count each as "supervisor
// died": some ran 7-8 times, and the log took ~110 lines/s. Now nothing
// starts and no attempt is spent while bucketd cannot record; one line says
// so, one says it resumed; everything runs once when space returns; and a
// start on a full disk says "no space left on device" and names the
// directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

constexpr int kFiles = 30;

constexpr char kScript[] = R"SH(
set -u
B=$1; BIN=$2; N=$3
S=$B/state
mkdir -p "$S" "$B/root/buckets/data/in"
mount -t tmpfs -o size=4m,mode=0700 tmpfs "$S"
log=$B/bucketd.log
"$BIN/bucketd" --root "$B/root" --config-dir "$B/cfg" --state-dir "$S" --socket "$B/control.sock" 2>"$log" &
pid=$!
wait_for() {  # wait_for SECONDS COMMAND…: polls every 0.1 s
  local n=$(( $1 * 10 )); shift
  while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
queued() { [ "$(grep -c 'queued by rule' "$log")" -ge "$N" ]; }
wait_for 20 grep -q "bucketd serving store" "$log" || { echo "NOT-READY"; exit 1; }
for i in $(seq 1 "$N"); do echo "$i" > "$B/root/buckets/data/in/f$i"; done
wait_for 20 queued || { echo "NOT-QUEUED"; exit 1; }
# Full while most invocations still wait for a worker.
dd if=/dev/zero of="$S/filler" bs=64k 2>/dev/null
echo "FULL-AFTER $(ls "$B/out" | wc -l)"
sleep 5
echo "DONE-WHILE-FULL $(ls "$B/out" | wc -l)"
rm -f "$S/filler"
done_all() { [ "$(grep -c 'succeeded in' "$log")" -ge "$N" ]; }
wait_for 60 done_all || echo "NOT-ALL-DONE"
kill -TERM $pid; wait $pid
echo "STOPPED $?"
# A start on a full disk.
dd if=/dev/zero of="$S/filler" bs=64k 2>/dev/null
"$BIN/bucketd" --root "$B/root" --config-dir "$B/cfg" --state-dir "$S" --socket "$B/control.sock" 2>"$B/start.log"
echo "FULL-START $?"
)SH";

TEST(FullStateDirTest, WhileTheStateDirectoryIsFullNothingStartsAndEverythingRunsOnceWhenSpaceReturns) {
  if (::geteuid() != 0) GTEST_FAIL() << "needs root: a tmpfs in a private mount namespace";
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("record", "in/", "Record");
  d.AddProbeFunction("Record", "record", R"(,"DELAY_MS":"300")");
  testing::WriteFile(d.cfg() + "/bucketd.json", R"({"Runner": {"Workers": 2}})");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  testing::WriteFile(tmp / "run.sh", kScript);
  auto r = testing::Run({"/usr/bin/unshare", "--mount", "/bin/bash", tmp / "run.sh", tmp.path(), testing::BinDir(),
                         std::to_string(kFiles)});
  std::string log = testing::ReadFile(tmp / "bucketd.log");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log;
  EXPECT_EQ(r.out.find("NOT-"), std::string::npos) << r.out << log;
  EXPECT_NE(r.out.find("STOPPED 0"), std::string::npos) << r.out;

  // Every invocation ran exactly once, as its first attempt or (when a
  // supervisor could not say it started) a later one that cost no retry.
  auto files = testing::ListDir(d.out());
  EXPECT_EQ(files.size(), static_cast<size_t>(kFiles)) << r.out << log;
  for (const auto& f : files) {
    std::string lines = testing::ReadFile(d.out() + "/" + f);
    EXPECT_EQ(PipelineDaemon::Count(lines, "\n"), 1) << f << " ran " << lines;
  }
  EXPECT_EQ(PipelineDaemon::Count(log, "supervisor died"), 0) << log;
  EXPECT_EQ(PipelineDaemon::Count(log, " dead"), 0) << log;
  // The stall really happened, and was said once each way.
  EXPECT_EQ(PipelineDaemon::Count(log, "runner: cannot record in " + tmp.path() + "/state"), 1) << r.out << log;
  EXPECT_EQ(PipelineDaemon::Count(log, "runner: recording works again; resuming"), 1) << log;

  std::string start = testing::ReadFile(tmp / "start.log");
  EXPECT_NE(r.out.find("FULL-START 1"), std::string::npos) << r.out << start;
  EXPECT_NE(start.find("no space left on device"), std::string::npos) << start;
  EXPECT_NE(start.find(tmp.path() + "/state"), std::string::npos) << start;
}

}  // namespace
}  // namespace bucketd
