// What an unprivileged uploader can do to a bucket bucketd watches (issue
// 13), tried for real: bucketd runs as a user of its own, the uploader as
// another, with real inotify and real permissions.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/test_util.h"

namespace bucketd {
namespace {

// The start of each script: $B runs as bucketd's user, $U as an uploader;
// s3://uploads is a bucket both may write (mode 1777, as an SFTP drop).
constexpr char kUploadBucket[] = R"SH(
set -eu
T=$1; BIN=$2
B="setpriv --reuid=65533 --regid=65533 --clear-groups"
U="setpriv --reuid=65532 --regid=65532 --clear-groups"
mkdir -p "$T/root" "$T/state"
chown 65533:65533 "$T/root" "$T/state"
$B "$BIN/bucketctl" --root "$T/root" --state-dir "$T/state" mb s3://uploads
chmod 0755 "$T/root" "$T/root/buckets"
chmod 1777 "$T/root/buckets/uploads"
)SH";

// Item 1: `chmod 000` on an uploaded file stopped the next start (exit 1,
// a restart loop under Restart=on-failure), and a file (or directory) made
// readable later was never recorded until a restart.
TEST(HostileFilesTest, UnreadableUploadsDoNotStopAStartAndAreRecordedOnceTheUploaderMakesThemReadable) {
  if (::geteuid() != 0) GTEST_FAIL() << "needs root: a bucketd user and an uploader user";
  testing::TempDir tmp;
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
  std::string script = std::string(kUploadBucket) + R"SH(
UP="$T/root/buckets/uploads"
$U sh -c "echo z > $UP/f && echo ok > $UP/g && mkdir $UP/d && echo y > $UP/d/x && touch -m -d 2026-01-01 $UP/f $UP/g $UP/d/x && chmod 000 $UP/f $UP/d"
$B "$BIN/bucketd" --root "$T/root" --state-dir "$T/state" --socket "$T/state/control.sock" 2>"$T/bucketd.log" &
pid=$!
for i in $(seq 1 200); do [ -S "$T/state/control.sock" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
if ! kill -0 $pid 2>/dev/null; then echo "BUCKETD-EXITED"; exit 0; fi
# Files changed less than a second ago whose writer bucketd cannot ask
# about (no lease on another user's file) wait a moment before they count.
for i in $(seq 1 200); do
  $B "$BIN/bucketctl" --root "$T/root" --state-dir "$T/state" events tail > "$T/before.txt"
  grep -q "uploads/g" "$T/before.txt" && grep -q "skipping s3://uploads/f" "$T/bucketd.log" && break
  sleep 0.05
done
$U chmod 644 "$UP/f"
$U chmod 755 "$UP/d"
for i in $(seq 1 200); do
  $B "$BIN/bucketctl" --root "$T/root" --state-dir "$T/state" events tail > "$T/after.txt"
  grep -q "uploads/f" "$T/after.txt" && grep -q "uploads/d/x" "$T/after.txt" && break
  sleep 0.05
done
kill -0 $pid && echo "ALIVE"
kill -TERM $pid; wait $pid || true
)SH";
  testing::WriteFile(tmp / "run.sh", script);
  auto r = testing::Run({"/bin/sh", tmp / "run.sh", tmp.path(), testing::BinDir()});
  std::string log = testing::ReadFile(tmp / "bucketd.log");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log;
  ASSERT_EQ(r.out.find("BUCKETD-EXITED"), std::string::npos) << "an unreadable upload stopped the start\n" << log;
  EXPECT_NE(r.out.find("ALIVE"), std::string::npos) << r.out << log;
  std::string before = testing::ReadFile(tmp / "before.txt"), after = testing::ReadFile(tmp / "after.txt");
  EXPECT_NE(before.find("uploads/g"), std::string::npos) << before;
  EXPECT_EQ(before.find("uploads/f"), std::string::npos) << "recorded while unreadable?\n" << before;
  EXPECT_NE(after.find("uploads/f"), std::string::npos) << "not recorded after its chmod\n" << after << log;
  EXPECT_NE(after.find("uploads/d/x"), std::string::npos) << "a directory made readable is not read\n" << after << log;
  EXPECT_NE(log.find("skipping s3://uploads/f (a file bucketd cannot read"), std::string::npos) << log;
  EXPECT_NE(log.find("skipping s3://uploads/d/ (a directory bucketd cannot read"), std::string::npos) << log;
}

// Item 4: an uploader who set user.bucketd.meta (matching size and mtime)
// before the mv put a fake ETag into the trail and HEAD, a fake chain into
// the record (its invocations died as a "recursive loop") and a fake
// source-etag (which extract's "already extracted" check trusts).
TEST(HostileFilesTest, MetadataAnUploaderForgedIsNotTrustedAndTheRecordHasTheRealETagAndNoChain) {
  if (::geteuid() != 0) GTEST_FAIL() << "needs root: a bucketd user and an uploader user";
  testing::TempDir tmp;
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
  std::string script = std::string(kUploadBucket) + R"SH(
mkdir -p "$T/up"
chown 65532:65532 "$T/up"
$B "$BIN/bucketd" --root "$T/root" --state-dir "$T/state" --socket "$T/state/control.sock" 2>"$T/bucketd.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for i in $(seq 1 200); do [ -S "$T/state/control.sock" ] && break; sleep 0.05; done
printf 'fake bytes\n' > "$T/genuine.csv"
$B "$BIN/bucketctl" --root "$T/root" --state-dir "$T/state" cp "$T/genuine.csv" s3://uploads/genuine.csv --content-type text/csv
$U /usr/bin/python3 - "$T/up" "$T/root/buckets/uploads/genuine.csv" <<'PY'
import json, os, sys
# forged.csv: a record in the format bucketd trusted before its seal.
p = os.path.join(sys.argv[1], "forged.csv")
with open(p, "w") as f: f.write("real bytes\n")
os.utime(p, ns=(1767225600 * 10**9, 1767225600 * 10**9))
st = os.stat(p)
rec = {"v": 1, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "etag": '"' + "0" * 32 + '"',
       "content_type": "text/csv", "meta": {"bucketd-chain": "c0ffee:16", "source-etag": '"abc"'}}
os.setxattr(p, "user.bucketd.meta", json.dumps(rec).encode())
# copied.csv: bucketd's own sealed record of another object of the same
# size, copied over with that object's mtime.
genuine = os.getxattr(sys.argv[2], "user.bucketd.meta")
p = os.path.join(sys.argv[1], "copied.csv")
with open(p, "w") as f: f.write("real bytes\n")
m = json.loads(genuine)["mtime_ns"]
os.utime(p, ns=(m, m))
os.setxattr(p, "user.bucketd.meta", genuine)
PY
$U mv "$T/up/forged.csv" "$T/up/copied.csv" "$T/root/buckets/uploads/"
for i in $(seq 1 200); do
  $B "$BIN/bucketctl" --root "$T/root" --state-dir "$T/state" events tail > "$T/tail.txt"
  grep -q "uploads/forged.csv" "$T/tail.txt" && grep -q "uploads/copied.csv" "$T/tail.txt" && break
  sleep 0.05
done
kill -TERM $pid; wait $pid || true
$B /usr/bin/python3 -c 'import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute("select key, etag, chain from trail")]' "$T/state/trail.db" > "$T/trail.txt"
$B "$BIN/bucketctl" --root "$T/root" --state-dir "$T/state" head s3://uploads/forged.csv > "$T/head.json"
$B "$BIN/bucketctl" --root "$T/root" --state-dir "$T/state" head s3://uploads/copied.csv > "$T/copied.json"
)SH";
  testing::WriteFile(tmp / "run.sh", script);
  auto r = testing::Run({"/bin/sh", tmp / "run.sh", tmp.path(), testing::BinDir()});
  std::string log = testing::ReadFile(tmp / "bucketd.log");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log;
  std::string trail = testing::ReadFile(tmp / "trail.txt");
  // md5("real bytes\n")
  EXPECT_NE(trail.find("forged.csv \"0307b13e3c765656b828cb854e469c0f\""), std::string::npos) << trail;
  EXPECT_EQ(trail.find("00000000000000000000000000000000"), std::string::npos) << "the forged ETag was recorded\n" << trail;
  EXPECT_EQ(trail.find("c0ffee"), std::string::npos) << "the forged chain was recorded\n" << trail;
  // md5("fake bytes\n") belongs to genuine.csv only.
  EXPECT_NE(trail.find("copied.csv \"0307b13e3c765656b828cb854e469c0f\""), std::string::npos) << trail;
  EXPECT_EQ(trail.find("copied.csv \"b059a3c53536bb35092e4b97727bd3c8\""), std::string::npos) << trail;
  std::string head = testing::ReadFile(tmp / "head.json");
  EXPECT_NE(head.find("0307b13e3c765656b828cb854e469c0f"), std::string::npos) << head;
  EXPECT_EQ(head.find("source-etag"), std::string::npos) << "forged user metadata is shown\n" << head;
  EXPECT_EQ(head.find("text/csv"), std::string::npos) << "a forged Content-Type is shown\n" << head;
  std::string copied = testing::ReadFile(tmp / "copied.json");
  EXPECT_NE(copied.find("0307b13e3c765656b828cb854e469c0f"), std::string::npos) << copied;
  EXPECT_EQ(copied.find("text/csv"), std::string::npos) << "a copied record's Content-Type is shown\n" << copied;
}

// Item 2: a huge sparse file (truncate -s 20G) took 67 s to hash on the
// main loop: status timed out, watchdog pings were 67 s apart, and the
// startup catch-up held READY for it. With the test hook that makes hashing
// slow (64 KiB steps of 20 ms: 8 MiB take ~2.6 s), a file found at the
// catch-up and one written later are hashed in steps while the loop answers
// and records other files.
TEST(HostileFilesTest, ABigFileIsHashedInStepsWhileTheLoopAnswersAndRecordsOtherFiles) {
  testing::TempDir tmp;
  std::string script = R"SH(
set -eu
T=$1; BIN=$2
CTL="$BIN/bucketctl --root $T/root --state-dir $T/state"
$CTL mb s3://data >/dev/null
head -c 8388608 /dev/urandom > "$T/root/buckets/data/big.bin"
echo small > "$T/root/buckets/data/small.txt"
touch -m -d 2026-01-01 "$T/root/buckets/data/big.bin" "$T/root/buckets/data/small.txt"
BUCKETD_TEST_HOOKS=1 BUCKETD_TEST_SLOW_HASH=1 "$BIN/bucketd" --root "$T/root" --state-dir "$T/state" \
  --socket "$T/state/control.sock" 2>"$T/bucketd.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for i in $(seq 1 400); do [ -S "$T/state/control.sock" ] && break; sleep 0.01; done
$CTL status > "$T/status.txt"
$CTL events tail > "$T/at-ready.txt"
echo later > "$T/root/buckets/data/later.txt"
for i in $(seq 1 200); do
  $CTL events tail > "$T/meanwhile.txt"
  grep -q "data/later.txt" "$T/meanwhile.txt" && break
  sleep 0.01
done
$CTL status > "$T/status2.txt"
head -c 4194304 /dev/urandom > "$T/root/buckets/data/big2.bin"
for i in $(seq 1 1000); do
  $CTL events tail > "$T/end.txt"
  grep -q "data/big.bin" "$T/end.txt" && grep -q "data/big2.bin" "$T/end.txt" && break
  sleep 0.02
done
md5sum "$T/root/buckets/data/big.bin" "$T/root/buckets/data/big2.bin" > "$T/md5.txt"
)SH";
  testing::WriteFile(tmp / "run.sh", script);
  auto r = testing::Run({"/bin/sh", tmp / "run.sh", tmp.path(), testing::BinDir()});
  std::string log = testing::ReadFile(tmp / "bucketd.log");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log;
  std::string status = testing::ReadFile(tmp / "status.txt"), at_ready = testing::ReadFile(tmp / "at-ready.txt");
  EXPECT_NE(status.find("hashing 1 big file(s)"), std::string::npos) << "status waited for the hash\n" << status;
  EXPECT_NE(at_ready.find("data/small.txt"), std::string::npos) << at_ready;
  EXPECT_EQ(at_ready.find("data/big.bin"), std::string::npos) << "READY waited for the big file\n" << at_ready;
  std::string meanwhile = testing::ReadFile(tmp / "meanwhile.txt");
  EXPECT_NE(meanwhile.find("data/later.txt"), std::string::npos) << meanwhile << log;
  EXPECT_EQ(meanwhile.find("data/big.bin"), std::string::npos) << "not hashed in steps?\n" << meanwhile;
  EXPECT_NE(testing::ReadFile(tmp / "status2.txt").find("hashing 1 big file(s)"), std::string::npos);
  std::string end = testing::ReadFile(tmp / "end.txt"), md5 = testing::ReadFile(tmp / "md5.txt");
  for (const char* name : {"big.bin", "big2.bin"}) {
    std::string line = md5.substr(0, md5.find('\n'));
    if (std::string(name) == "big2.bin") line = md5.substr(md5.find('\n') + 1);
    std::string want = "s3://data/" + std::string(name) + " " + (std::string(name) == "big.bin" ? "8388608" : "4194304") +
                       " \"" + line.substr(0, 32) + "\"";
    EXPECT_NE(end.find(want), std::string::npos) << want << "\n" << end << log;
    size_t first = end.find("s3://data/" + std::string(name) + " ");
    EXPECT_EQ(end.find("s3://data/" + std::string(name) + " ", first + 1), std::string::npos) << "recorded twice\n" << end;
  }
}

// A metadata key bucketd cannot read (made by hand, or left root's) would
// leave it unable to seal or trust anything: it refuses to start and says
// what to do.
TEST(HostileFilesTest, BucketdRefusesAStoreWhoseMetadataKeyItCannotRead) {
  if (::geteuid() != 0) GTEST_FAIL() << "needs root: a bucketd user";
  testing::TempDir tmp;
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
  std::string script = std::string(kUploadBucket) + R"SH(
chown root:root "$T/root/.meta-key"
chmod 0600 "$T/root/.meta-key"
$B "$BIN/bucketd" --root "$T/root" --state-dir "$T/state" --socket "$T/state/control.sock" && echo STARTED || true
)SH";
  testing::WriteFile(tmp / "run.sh", script);
  auto r = testing::Run({"/bin/sh", tmp / "run.sh", tmp.path(), testing::BinDir()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("STARTED"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("cannot read the store's metadata key " + tmp.path() + "/root/.meta-key (it must belong to "
                       "bucketd's user: chown it"),
            std::string::npos)
      << r.err;
}

// Item 6: a state directory others could write (or owned by another user)
// was used as it was: whoever can write it can queue what bucketd runs.
TEST(HostileFilesTest, AStateDirectoryOthersCanWriteOrOwnIsRefusedWithTheFix) {
  testing::TempDir tmp;
  std::string root = tmp / "root", state = tmp / "state";
  ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(state.c_str(), 0777), 0);
  auto r = testing::Run({testing::BinDir() + "/bucketd", "--root", root, "--state-dir", state});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("the state directory: " + state + " is writable by others (mode 0777)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("chmod go-w " + state), std::string::npos) << r.err;
  ASSERT_EQ(::chmod(state.c_str(), 0700), 0);
  ASSERT_EQ(::chown(state.c_str(), 65533, 65533), 0);
  r = testing::Run({testing::BinDir() + "/bucketd", "--root", root, "--state-dir", state});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(state + " is owned by uid 65533"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bucketd
