// bucketctl end to end: the real binary on a real store.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/store.h"
#include "tests/test_util.h"

namespace bucketd {
namespace {

using testing::ReadFile;
using testing::RunResult;
using testing::TempDir;
using testing::WriteFile;

class CliTest : public ::testing::Test {
 protected:
  RunResult Ctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {testing::BinDir() + "/bucketctl", "--root", root_});
    return testing::Run(args, input);
  }
  TempDir tmp_;
  std::string root_ = tmp_ / "root";
};

TEST_F(CliTest, MakeCopyListCatHeadMoveRemoveLikeAwsS3) {
  EXPECT_EQ(Ctl({"mb", "s3://data"}).out, "make_bucket: data\n");
  WriteFile(tmp_ / "report.csv", "a,b\n1,2\n");
  auto up = Ctl({"cp", tmp_ / "report.csv", "s3://data/in/", "--content-type", "text/csv",
                 "--metadata", "stage=etl"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "upload: " + (tmp_ / "report.csv") + " to s3://data/in/report.csv\n");
  EXPECT_EQ(Ctl({"cat", "s3://data/in/report.csv"}).out, "a,b\n1,2\n");
  EXPECT_EQ(Ctl({"cat", "--range", "bytes=4-", "s3://data/in/report.csv"}).out, "1,2\n");

  auto head = nlohmann::json::parse(Ctl({"head", "s3://data/in/report.csv"}).out);
  EXPECT_EQ(head["ContentLength"], 8);
  EXPECT_EQ(head["ContentType"], "text/csv");
  EXPECT_EQ(head["Metadata"]["stage"], "etl");
  EXPECT_EQ(head["ETag"], "\"" + std::string("e5ebd4c02cefbe7955977c67ada242b7") + "\"")
      << "md5 of 'a,b\\n1,2\\n'";

  auto ls = Ctl({"ls", "s3://data"});
  EXPECT_NE(ls.out.find("PRE in/"), std::string::npos) << ls.out;
  auto lsr = Ctl({"ls", "--recursive", "s3://data"});
  EXPECT_NE(lsr.out.find("         8 in/report.csv"), std::string::npos) << lsr.out;

  ASSERT_EQ(Ctl({"cp", "s3://data/in/report.csv", "s3://data/copy/r.csv"}).exit_code, 0);
  auto down = Ctl({"mv", "s3://data/copy/r.csv", tmp_ / "out/"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(ReadFile(tmp_ / "out/r.csv"), "a,b\n1,2\n");
  EXPECT_EQ(Ctl({"cat", "s3://data/copy/r.csv"}).exit_code, 1);  // moved away

  auto rm = Ctl({"rm", "s3://data/in/report.csv"});
  EXPECT_EQ(rm.out, "delete: s3://data/in/report.csv\n");
  EXPECT_EQ(Ctl({"rb", "s3://data"}).out, "remove_bucket: data\n");
}

TEST_F(CliTest, RecursiveCopiesBothWaysAndRecursiveRemove) {
  ASSERT_EQ(Ctl({"mb", "s3://tree"}).exit_code, 0);
  ::mkdir((tmp_ / "src").c_str(), 0755);
  ::mkdir((tmp_ / "src/sub").c_str(), 0755);
  WriteFile(tmp_ / "src/one.txt", "1");
  WriteFile(tmp_ / "src/sub/two.txt", "22");
  auto up = Ctl({"cp", "--recursive", tmp_ / "src", "s3://tree/base"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  auto ls = nlohmann::json::parse(Ctl({"ls", "--recursive", "--json", "s3://tree"}).out);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0]["Key"], "base/one.txt");
  EXPECT_EQ(ls[1]["Key"], "base/sub/two.txt");
  auto down = Ctl({"cp", "--recursive", "s3://tree/base", tmp_ / "dst"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(ReadFile(tmp_ / "dst/sub/two.txt"), "22");
  auto rb = Ctl({"rb", "s3://tree"});
  EXPECT_EQ(rb.exit_code, 1);
  EXPECT_NE(rb.err.find("not empty"), std::string::npos) << rb.err;
  ASSERT_EQ(Ctl({"rm", "--recursive", "s3://tree/base"}).exit_code, 0);
  EXPECT_EQ(Ctl({"rb", "s3://tree"}).exit_code, 0);
}

TEST_F(CliTest, BadUsageExitsTwoWithOneLineAndErrorsNameTheProblem) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"frobnicate"}, {"cp", "only-one-arg"}, {"ls", "--no-such-flag"}}) {
    auto r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  auto bad_bucket = Ctl({"mb", "s3://Bad_Bucket"});
  EXPECT_EQ(bad_bucket.exit_code, 1);
  EXPECT_NE(bad_bucket.err.find("'Bad_Bucket'"), std::string::npos) << bad_bucket.err;
  auto missing = Ctl({"cat", "s3://nobucket/key"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("bucket 'nobucket' does not exist"), std::string::npos) << missing.err;
  auto no_root = testing::Run({testing::BinDir() + "/bucketctl", "ls"});
  EXPECT_EQ(no_root.exit_code, 1);
  EXPECT_NE(no_root.err.find("--root"), std::string::npos);
}

// Issue 13: `cp s3://b/k -` wrote a file named "-"; aws s3 cp streams.
TEST_F(CliTest, DashIsStandardInputAndOutputAsForAwsS3Cp) {
  ASSERT_EQ(Ctl({"mb", "s3://data"}).exit_code, 0);
  auto up = Ctl({"cp", "-", "s3://data/in/piped.txt"}, "line 1\nline 2\n");
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "");
  auto down = Ctl({"cp", "s3://data/in/piped.txt", "-"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, "line 1\nline 2\n") << "only the object's bytes on standard output";
  struct stat st;
  EXPECT_NE(::stat("-", &st), 0) << "a file named '-' was written";
  auto no_key = Ctl({"cp", "-", "s3://data/in/"}, "x");
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_NE(no_key.err.find("names no key"), std::string::npos) << no_key.err;
  auto recursive = Ctl({"cp", "--recursive", "s3://data/in/", "-"});
  EXPECT_EQ(recursive.exit_code, 1);
  EXPECT_NE(recursive.err.find("not --recursive"), std::string::npos) << recursive.err;
}

TEST_F(CliTest, AnUnknownCommandIsNamedWithTheCommandsThatExist) {
  auto r = Ctl({"frob"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bucketctl: unknown command 'frob'; expected one of mb, rb, ls, cp"), std::string::npos) << r.err;
  auto sub = Ctl({"events", "tial"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_NE(sub.err.find("bucketctl events: unknown command 'tial'; expected one of tail, lookup"), std::string::npos)
      << sub.err;
  auto none = Ctl({"dlq"});
  EXPECT_NE(none.err.find("bucketctl dlq: a command is required: one of list, redrive"), std::string::npos) << none.err;
}

// A copy by hand carried the source's chain metadata, so copies counted
// toward the recursive-loop limit; inside a stage a copy continues its chain.
TEST_F(CliTest, ACopyByAPersonStartsNoChainAndACopyInsideAStageContinuesItsOwn) {
  ASSERT_EQ(Ctl({"mb", "s3://data"}).exit_code, 0);
  auto env_ctl = [&](const std::string& chain, std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", "BUCKETD_CHAIN=" + chain, testing::BinDir() + "/bucketctl", "--root", root_});
    return testing::Run(args, "payload");
  };
  auto store = store::Store::Open(Env::Default(), root_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto signed_chain = [&](const std::string& chain) { return (*store)->SignChain(chain); };
  ASSERT_EQ(env_ctl(signed_chain("chain-a:7"), {"cp", "-", "s3://data/staged.txt", "--metadata", "team=risk"}).exit_code, 0);
  auto chain_of = [&](const std::string& key) {
    std::string meta(4096, '\0');
    ssize_t n = ::getxattr((root_ + "/buckets/data/" + key).c_str(), "user.bucketd.meta", meta.data(), meta.size());
    if (n < 0) return std::string("(no metadata)");
    auto j = nlohmann::json::parse(meta.substr(0, static_cast<size_t>(n)));
    std::string dump = j.dump();
    return dump;
  };
  ASSERT_NE(chain_of("staged.txt").find("chain-a:7"), std::string::npos) << chain_of("staged.txt");
  ASSERT_EQ(Ctl({"cp", "s3://data/staged.txt", "s3://data/by-hand.txt"}).exit_code, 0);
  EXPECT_EQ(chain_of("by-hand.txt").find("chain-a"), std::string::npos) << chain_of("by-hand.txt");
  EXPECT_NE(chain_of("by-hand.txt").find("risk"), std::string::npos) << "other metadata is copied";
  ASSERT_EQ(env_ctl(signed_chain("chain-b:2"), {"cp", "s3://data/staged.txt", "s3://data/in-stage.txt"}).exit_code, 0);
  EXPECT_NE(chain_of("in-stage.txt").find("chain-b:2"), std::string::npos) << chain_of("in-stage.txt");
  EXPECT_EQ(chain_of("in-stage.txt").find("chain-a"), std::string::npos) << chain_of("in-stage.txt");
  // Issue 13, item 4: a chain typed by hand (one that could make a stage's
  // work look like a recursive loop) carries no proof and is not honoured.
  auto forged = env_ctl("chain-c:15", {"cp", "-", "s3://data/forged.txt"});
  ASSERT_EQ(forged.exit_code, 0) << forged.err;
  EXPECT_NE(forged.err.find("'chain-c:15' carries no proof that bucketd issued it; what this command writes starts no chain"),
            std::string::npos) << forged.err;
  EXPECT_EQ(chain_of("forged.txt").find("chain-c"), std::string::npos) << chain_of("forged.txt");
  auto wrong = env_ctl("chain-c:15:0123456789abcdef0123456789abcdef", {"cp", "-", "s3://data/forged2.txt"});
  EXPECT_NE(wrong.err.find("carries a proof that bucketd did not issue"), std::string::npos) << wrong.err;
  EXPECT_EQ(chain_of("forged2.txt").find("chain-c"), std::string::npos) << chain_of("forged2.txt");
}

// Issue 13, item 5: names that cannot be keys were listed (then refused by
// head and cat), `ls --json` aborted for the whole bucket, and a key with a
// newline printed as a forged line.
TEST_F(CliTest, NamesThatAreNoKeysAreNotListedAndControlCharactersPrintEscaped) {
  ASSERT_EQ(Ctl({"mb", "s3://data"}).exit_code, 0);
  std::string b = root_ + "/buckets/data/";
  WriteFile(b + "ok.txt", "1");
  WriteFile(b + "bad\xff", "2");
  std::string deep = b;
  for (int i = 0; i < 5; ++i) {
    deep += std::string(250, 'd') + "/";
    ::mkdir(deep.c_str(), 0755);
  }
  WriteFile(deep + "too-long", "3");  // a key of 1,263 bytes
  WriteFile(b + "evil\n2026-12-01 00:00:00          1 forged", "4");
  auto json = Ctl({"ls", "--recursive", "--json", "s3://data"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto listed = nlohmann::json::parse(json.out);
  std::vector<std::string> keys;
  for (const auto& o : listed) keys.push_back(o["Key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{"evil\n2026-12-01 00:00:00          1 forged", "ok.txt"}));
  for (const auto& k : keys) EXPECT_EQ(Ctl({"head", "s3://data/" + k}).exit_code, 0) << "listed but refused: " << k;
  auto text = Ctl({"ls", "--recursive", "s3://data"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(" evil\\n2026-12-01 00:00:00          1 forged\n"), std::string::npos) << text.out;
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 2) << "one line per object\n" << text.out;
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* cmd : {"mb", "rb", "ls", "cp", "mv", "rm", "cat", "head"}) {
    auto r = Ctl({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << ": " << r.out;
  }
}

TEST_F(CliTest, RootFromEnvironment) {
  auto r = testing::Run({testing::BinDir() + "/bucketctl", "mb", "s3://from-env"}, "",
                        {"BUCKETD_ROOT=" + root_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(testing::Exists(root_ + "/buckets/from-env"));
}

}  // namespace
}  // namespace bucketd

namespace bucketd {
namespace {

// A progress bar only on a terminal, for copies of 4 MiB and more: run
// bucketctl under script(1), which gives it a pseudo-terminal.
TEST(CliProgressTest, LargeCopyOnATerminalShowsProgressAndPipesGetNone) {
  TempDir tmp;
  std::string root = tmp / "root";
  std::string ctl = testing::BinDir() + "/bucketctl --root " + root;
  ASSERT_EQ(std::system((ctl + " mb s3://big >/dev/null").c_str()), 0);
  WriteFile(tmp / "big.bin", std::string(6 << 20, 'x'));
  auto tty = testing::Run({"/usr/bin/script", "-qfec", ctl + " cp " + (tmp / "big.bin") + " s3://big/big.bin",
                           "/dev/null"});
  EXPECT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  EXPECT_NE(tty.out.find("6.0/6.0 MiB"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("upload: "), std::string::npos);
  auto piped = testing::Run({testing::BinDir() + "/bucketctl", "--root", root, "cp", tmp / "big.bin",
                             "s3://big/again.bin"});
  EXPECT_EQ(piped.err.find("MiB"), std::string::npos) << piped.err;
}

}  // namespace
}  // namespace bucketd
