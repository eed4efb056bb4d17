// Exec targets through real supervisors: what a target gets, timeouts, bad
// programs, output lines, and surviving the runner's end.
#include <signal.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "runner/exec_run.h"
#include "tests/runner/runner_fixture.h"

#include <map>
#include <sstream>

namespace bucketd::runner {
namespace {

class ExecTest : public RunnerFixture {
 protected:
  void SetUp() override {
    RunnerFixture::SetUp();
    RunnerOptions o = Options();
    o.kill_grace_ns = 300'000'000;
    options_ = o;
    AddFunction(Exec("Probe", {{"MODE", "probe"}, {"GREETING", "hello world"}}));
    AddFunction(Exec("Record", {{"MODE", "record"}}));
    AddFunction(Exec("Sleep", {{"MODE", "sleep"}, {"SECONDS", "60"}}, 1));
    AddFunction(Exec("Stubborn", {{"MODE", "ignore-term"}, {"SECONDS", "60"}}, 1));
    AddFunction(Exec("Fail", {{"MODE", "fail"}, {"FIXED", tmp_ / "fixed"}}));
    AddFunction(Exec("SleepShort", {{"MODE", "sleep"}, {"SECONDS", "1"}}));
    AddFunction(Exec("ForkSleep", {{"MODE", "fork-sleep"}, {"SECONDS", "30"}}, 3));
    Function missing = Exec("Missing", {});
    missing.handler = "/nonexistent/program";
    AddFunction(missing);
    MakeRunner(options_);
  }
  std::string Once(const std::string& function, int retries = 0) {
    rules::Rule rule = MakeRule("r-" + function, Lambda(function));
    rule.targets[0].maximum_retry_attempts = retries;
    rules_.push_back(rule);
    return Queue(rules_.back(), Record("k-" + function), std::string("{\"input\": \"as given\"}\n"));
  }
  RunnerOptions options_;
  std::deque<rules::Rule> rules_;
};

TEST_F(ExecTest, TheTargetGetsItsInputItsEnvironmentAndOnlyStdio) {
  ::setenv("BUCKETD_TEST_SECRET", "must-not-leak", 1);
  std::string id = Once("Probe");
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  auto probe = nlohmann::json::parse(testing::ReadFile(tmp_ / "out/" + id + ".probe"));
  EXPECT_EQ(probe["stdin"], "{\"input\": \"as given\"}\n") << "stdin is the input verbatim";
  EXPECT_EQ(probe["fds"], nlohmann::json::parse("[0,1,2]"));
  std::map<std::string, std::string> env;
  for (const auto& e : probe["env"]) {
    std::string s = e.get<std::string>();
    env[s.substr(0, s.find('='))] = s.substr(s.find('=') + 1);
  }
  std::set<std::string> names;
  for (const auto& [k, v] : env) names.insert(k);
  EXPECT_EQ(names, (std::set<std::string>{"BUCKETD_ATTEMPT", "BUCKETD_CHAIN", "BUCKETD_DEADLINE", "BUCKETD_EVENT",
                                          "BUCKETD_FUNCTION", "BUCKETD_INVOCATION_ID", "BUCKETD_ROOT", "BUCKETD_RULE",
                                          "GREETING", "MODE", "OUT"}));
  EXPECT_EQ(env["GREETING"], "hello world");
  EXPECT_EQ(env["BUCKETD_INVOCATION_ID"], id);
  EXPECT_EQ(env["BUCKETD_ATTEMPT"], "1");
  // The chain with bucketd's proof, which only the store's key makes.
  EXPECT_EQ(env["BUCKETD_CHAIN"], store_->SignChain(id + ":1"));
  EXPECT_EQ(store_->VerifyChain(env["BUCKETD_CHAIN"]).value(), id + ":1");
  EXPECT_FALSE(store_->VerifyChain(id + ":1").ok()) << "a chain without the proof is not bucketd's";
  EXPECT_EQ(env["BUCKETD_DEADLINE"].size(), std::string("2026-11-22T10:00:00.000Z").size());
  EXPECT_EQ(testing::ReadFile(env["BUCKETD_EVENT"]), "{\"id\":\"event-1\"}");
  EXPECT_NE(Logs().find("[" + id + "#1 stdout] probe done"), std::string::npos) << Logs();
}

TEST_F(ExecTest, ATimeoutSendsSigtermAndAfterTheGracePeriodSigkill) {
  std::string polite = Once("Sleep");
  std::string stubborn = Once("Stubborn");
  ASSERT_TRUE(UntilState(polite, State::kDead, 10000)) << Logs();
  ASSERT_TRUE(UntilState(stubborn, State::kDead, 10000)) << Logs();
  EXPECT_NE(Get(polite).error.find("timed out (function Timeout); killed by signal 15 (Terminated)"), std::string::npos)
      << Get(polite).error;
  EXPECT_NE(Get(stubborn).error.find("timed out (function Timeout); killed by signal 9 (Killed)"), std::string::npos)
      << Get(stubborn).error;
  auto attempts = runner_->queue().Attempts(polite);
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].outcome, "timed out");
  int64_t took_ms = ((*attempts)[0].finished_ns - (*attempts)[0].started_ns) / 1'000'000;
  EXPECT_GE(took_ms, 900);
  EXPECT_LT(took_ms, 5000) << "the 60 s sleep was not cut off at its 1 s timeout";
}

TEST_F(ExecTest, AProgramThatDoesNotExistIsAClearErrorAndOthersRun) {
  std::string missing = Once("Missing");
  std::string probe = Once("Probe");
  ASSERT_TRUE(UntilState(missing, State::kDead)) << Logs();
  ASSERT_TRUE(UntilState(probe, State::kSucceeded)) << Logs();
  EXPECT_EQ(Get(missing).error, "cannot execute /nonexistent/program: No such file or directory (1 attempt); "
                                "no retries left (MaximumRetryAttempts 0)");
  EXPECT_NE(Logs().find("dead: cannot execute /nonexistent/program: No such file or directory"), std::string::npos);
}

TEST_F(ExecTest, FailingOutputIsLoggedWithTheInvocationAndRedriveRunsTheFixedTarget) {
  std::string id = Once("Fail");
  ASSERT_TRUE(UntilState(id, State::kDead)) << Logs();
  EXPECT_NE(Logs().find("[" + id + "#1 stdout] about to fail"), std::string::npos) << Logs();
  EXPECT_NE(Logs().find("[" + id + "#1 stderr] something is wrong"), std::string::npos) << Logs();
  EXPECT_NE(Get(id).error.find("exit status 3"), std::string::npos);
  testing::WriteFile(tmp_ / "fixed", "");
  ASSERT_TRUE(runner_->Redrive({}).ok());
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  EXPECT_EQ(testing::ReadFile(tmp_ / "out/" + id), "2\n") << "ran once more, as attempt 2";
}

TEST_F(ExecTest, ARunnerThatGoesAwayLeavesItsTargetsRunningAndTheNextCollectsThem) {
  std::string running = Once("SleepShort");
  std::string quick = Once("Record");
  ASSERT_TRUE(Until([&] { return testing::Exists(tmp_ / "out/" + quick); })) << Logs();
  ASSERT_EQ(ProbeRun(runner_->RunDir(running, 1)), RunState::kRunning);
  runner_.reset();  // as if bucketd died: nothing is told, nothing saved afterwards
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  MakeRunner(options_);
  ASSERT_TRUE(runner_->Recover().ok());
  EXPECT_NE(Logs().find("re-attached to attempt 1"), std::string::npos) << Logs();
  ASSERT_TRUE(UntilState(quick, State::kSucceeded)) << Logs();
  ASSERT_TRUE(UntilState(running, State::kSucceeded)) << Logs();
  EXPECT_EQ(Get(running).attempts, 1) << "a target that lived on was started again";
  EXPECT_EQ(testing::ReadFile(tmp_ / "out/" + quick), "1\n");
}

TEST_F(ExecTest, AnAttemptWhoseSupervisorDiedIsRetriedAsTheNextAttempt) {
  std::string id = Once("SleepShort", 3);
  ASSERT_TRUE(Until([&] { return ProbeRun(runner_->RunDir(id, 1)) == RunState::kRunning; }));
  runner_.reset();
  // kill -9 the supervisor (and its target's group): the attempt is cut off.
  std::string dir = tmp_ / "state/runs/" + RunDirName(id, 1);
  WaitWithoutRunner([&] { return testing::Exists(dir + "/supervisor.pid"); });
  int supervisor = std::atoi(testing::ReadFile(dir + "/supervisor.pid").c_str());
  ASSERT_GT(supervisor, 1);
  ::kill(supervisor, SIGKILL);
  ASSERT_TRUE(WaitWithoutRunner([&] { return ProbeRun(dir) == RunState::kInterrupted; }));
  MakeRunner(options_);
  ASSERT_TRUE(runner_->Recover().ok());
  ASSERT_TRUE(UntilState(id, State::kSucceeded, 20000)) << Logs();
  EXPECT_EQ(Get(id).attempts, 2);
  auto attempts = runner_->queue().Attempts(id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, "interrupted");
}


// A process that exists and is not a zombie.
bool Alive(pid_t pid) {
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// "<attempt> <pid> <child pid>" lines of a fork-sleep target.
std::map<int, std::pair<pid_t, pid_t>> TargetPids(const std::string& file) {
  std::map<int, std::pair<pid_t, pid_t>> out;
  std::istringstream in(testing::ReadFile(file));
  for (int attempt, pid, child; in >> attempt >> pid >> child;) out[attempt] = {pid, child};
  return out;
}

// Issue 12, item 4: a supervisor killed with SIGKILL left its target running
// past its Timeout, and the retry started beside it.
TEST_F(ExecTest, AKilledSupervisorTakesItsTargetsWholeGroupWithItBeforeTheRetryStarts) {
  std::string id = Once("ForkSleep", 1);
  std::string pids_file = tmp_ / "out/" + id + ".pids";
  ASSERT_TRUE(Until([&] { return TargetPids(pids_file).count(1) > 0; })) << Logs();
  auto [target, child] = TargetPids(pids_file)[1];
  ASSERT_TRUE(Alive(target) && Alive(child));
  std::string dir = runner_->RunDir(id, 1);
  int supervisor = std::atoi(testing::ReadFile(dir + "/supervisor.pid").c_str());
  ASSERT_GT(supervisor, 1);
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  bool overlapped = false;
  ASSERT_TRUE(Until([&] {
    if (TargetPids(pids_file).count(2) > 0 && (Alive(target) || Alive(child))) overlapped = true;
    return !Alive(target) && !Alive(child) && TargetPids(pids_file).count(2) > 0;
  }, 10000)) << "attempt 1's target " << Alive(target) << ", its child " << Alive(child) << "\n" << Logs();
  EXPECT_FALSE(overlapped) << "attempt 2 started while attempt 1's processes still ran";
  auto attempts = runner_->queue().Attempts(id);
  ASSERT_TRUE(attempts.ok());
  ASSERT_GE(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].outcome, "interrupted");
  // Attempt 2's processes go at its deadline (Timeout 3 s), not 30 s later.
  auto [target2, child2] = TargetPids(pids_file)[2];
  EXPECT_TRUE(Until([&] { return !Alive(target2) && !Alive(child2); }, 8000)) << Logs();
  ::kill(target2, SIGKILL);
  ::kill(child2, SIGKILL);
}

class HeldStartTest : public ExecTest {
 protected:
  // As the trail's append does: the invocation is inserted and handed to an
  // idle supervisor inside the transaction; the caller decides its end.
  std::string Stage(const rules::Rule& rule, const events::TrailRecord& rec) {
    rules::Match m{&rule, &rule.targets[0], &rec, "{}", rec.event_id, std::string("{}"), ""};
    auto txn = Transaction::Begin(trail_->db());
    EXPECT_TRUE(txn.ok());
    txn_ = std::make_unique<Transaction>(std::move(txn).value());
    EXPECT_TRUE(runner_->Enqueue(*txn_, {m}).ok());
    runner_->PrepareStarts();
    auto rows = runner_->queue().Find(RunQuery{"", std::nullopt, 0, "", 1});
    return rows.ok() && !rows->empty() ? rows->front().id : "";
  }
  void SetUp() override {
    ExecTest::SetUp();
    runner_->OnTick();  // fills the pool of idle supervisors
  }
  std::unique_ptr<Transaction> txn_;  // the one Stage opened
};

TEST_F(HeldStartTest, TheTargetStartsOnlyOnceTheCommitIsDone) {
  rules::Rule rule = MakeRule("r", Lambda("Record"));
  std::string id = Stage(rule, Record("a"));
  std::string dir = tmp_ / "state/runs/" + RunDirName(id, 1);
  ASSERT_EQ(ProbeRun(dir), RunState::kRunning) << "handed to a supervisor inside the transaction";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(testing::Exists(tmp_ / "out/" + id)) << "the target ran before its invocation was durable";
  ASSERT_TRUE(txn_->Commit().ok());
  runner_->OnDurable();
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  EXPECT_EQ(testing::ReadFile(tmp_ / "out/" + id), "1\n");
}

TEST_F(HeldStartTest, ARolledBackTransactionStartsNothing) {
  rules::Rule rule = MakeRule("r", Lambda("Record"));
  std::string id = Stage(rule, Record("a"));
  std::string dir = tmp_ / "state/runs/" + RunDirName(id, 1);
  txn_->Rollback();
  runner_->OnRollback();
  ASSERT_TRUE(Until([&] { return ProbeRun(dir) == RunState::kFinished; }));
  auto outcome = ReadOutcome(dir);
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->not_started);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(testing::Exists(tmp_ / "out/" + id));
  EXPECT_FALSE(runner_->queue().Get(id)->has_value());
  EXPECT_EQ(runner_->stats().running + runner_->stats().queued, 0u);
  // The runner goes on: the next invocation runs normally.
  std::string next = Once("Record");
  ASSERT_TRUE(UntilState(next, State::kSucceeded)) << Logs();
}

// The same firing (or replay) queued again after its transaction rolled
// back makes the same invocation id: the rolled-back attempt's directory is
// taken over, the target runs once as attempt 1.
TEST_F(HeldStartTest, TheSameMatchQueuedAgainAfterARollbackRunsOnceAsItsFirstAttempt) {
  rules::Rule rule = MakeRule("r", Lambda("Record"));
  events::TrailRecord rec = Record("a");
  std::string id = Stage(rule, rec);
  std::string dir = tmp_ / "state/runs/" + RunDirName(id, 1);
  txn_->Rollback();
  runner_->OnRollback();
  ASSERT_TRUE(Until([&] { return ProbeRun(dir) == RunState::kFinished; }));
  EXPECT_EQ(Queue(rule, rec), id);
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  EXPECT_EQ(testing::ReadFile(tmp_ / "out/" + id), "1\n");
  EXPECT_EQ(Get(id).attempts, 1);
}

TEST_F(HeldStartTest, BucketdDyingBeforeTheReleaseCostsNoRetryAndTheTargetRunsOnce) {
  rules::Rule rule = MakeRule("r", Lambda("Record"));
  rule.targets[0].maximum_retry_attempts = 0;
  std::string id = Stage(rule, Record("a"));
  ASSERT_TRUE(txn_->Commit().ok());
  runner_.reset();  // dies between the commit and the release
  std::string dir = tmp_ / "state/runs/" + RunDirName(id, 1);
  WaitWithoutRunner([&] { return ProbeRun(dir) == RunState::kFinished; });
  MakeRunner(options_);
  ASSERT_TRUE(runner_->Recover().ok());
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  EXPECT_EQ(testing::ReadFile(tmp_ / "out/" + id), "2\n") << "ran once, as attempt 2";
  auto attempts = runner_->queue().Attempts(id);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, "not started");
  EXPECT_EQ((*attempts)[1].outcome, "succeeded");
}


std::vector<std::string> Spares(const std::string& runs) {
  std::vector<std::string> out;
  for (const auto& name : testing::ListDir(runs)) {
    if (name.rfind(".spare-", 0) == 0) out.push_back(runs + "/" + name);
  }
  return out;
}

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// An idle supervisor waits with a run directory made ahead (its lock file,
// and the files the supervisor writes): the hand-over renames it, so no
// directory is made on the path from an event to its target.
TEST_F(HeldStartTest, TheRunDirectoryIsTheIdleSupervisorsSpareRenamed) {
  std::string runs = tmp_ / "state/runs";
  ASSERT_TRUE(Until([&] {
    auto spares = Spares(runs);
    return !spares.empty() && testing::Exists(spares[0] + "/supervisor.pid.tmp");
  })) << "no spare beside the idle supervisor";
  std::map<ino_t, std::string> spare_inodes;
  for (const auto& s : Spares(runs)) spare_inodes[InodeOf(s)] = s;
  rules::Rule rule = MakeRule("r", Lambda("Record"));
  std::string id = Stage(rule, Record("a"));
  std::string dir = runs + "/" + RunDirName(id, 1);
  ASSERT_EQ(spare_inodes.count(InodeOf(dir)), 1u) << dir << " was made anew, not taken from a spare";
  ASSERT_TRUE(txn_->Commit().ok());
  runner_->OnDurable();
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  EXPECT_EQ(testing::ReadFile(tmp_ / "out/" + id), "1\n");
  EXPECT_EQ(testing::ReadFile(dir + "/input"), "{}");
  EXPECT_TRUE(testing::Exists(dir + "/supervisor.pid"));
  EXPECT_FALSE(testing::Exists(dir + "/supervisor.pid.tmp"));
  EXPECT_EQ(testing::ListDir(runs).size(), Spares(runs).size() + 1) << "no other directory was made";
}

// Spares a bucketd left (it was killed) are no attempts: the next runner
// removes them and lists none of them as a run.
TEST_F(HeldStartTest, SparesLeftByAnEarlierBucketdAreRemovedAtTheNextStart) {
  std::string runs = tmp_ / "state/runs";
  ASSERT_TRUE(Until([&] { return !Spares(runs).empty(); }));
  std::string stale = runs + "/.spare-1-1";
  ASSERT_EQ(::mkdir(stale.c_str(), 0700), 0);
  testing::WriteFile(stale + "/input", "");
  testing::WriteFile(stale + "/lock", "");
  runner_.reset();
  MakeRunner(options_);
  EXPECT_FALSE(testing::Exists(stale));
  EXPECT_TRUE(runner_->stats().running == 0);
  std::string id = Once("Record");
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
}

class RunRetentionTest : public RunnerFixture {
 protected:
  // Starts at the real time: exec attempts' times come from their
  // supervisors, which keep real time.
  RunRetentionTest() {
    use_fake_clock_ = true;
    clock_.Set(Env::Default().clock().NowNanos());
  }
};

TEST_F(RunRetentionTest, RunDirectoriesOfFinishedInvocationsGoAfterTheRetention) {
  AddFunction(Exec("Record", {{"MODE", "record"}}));
  MakeRunner(Options());
  rules::Rule rule = MakeRule("r", Lambda("Record"));
  std::string id = Queue(rule, Record("k"));
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  std::string dir = tmp_ / "state/runs/" + RunDirName(id, 1);
  clock_.Advance(6LL * 24 * 3600 * 1'000'000'000);
  runner_->OnTick();
  EXPECT_TRUE(testing::Exists(dir)) << "removed before 7 days";
  clock_.Advance(2LL * 24 * 3600 * 1'000'000'000);
  runner_->OnTick();
  EXPECT_FALSE(testing::Exists(dir));
  EXPECT_EQ(Get(id).state, State::kSucceeded) << "the record stays";
}

}  // namespace
}  // namespace bucketd::runner
