// Issue 13, item 4: object metadata is trusted only under bucketd's seal;
// the store's metadata key and what an opener without it may do.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <nlohmann/json.hpp>

#include "common/md5.h"
#include "store/meta_key.h"
#include "tests/deny_fs.h"
#include "tests/store/store_fixture.h"

namespace bucketd::store {
namespace {

std::string MetaOf(const std::string& path) {
  std::string buf(8192, '\0');
  ssize_t n = ::getxattr(path.c_str(), "user.bucketd.meta", buf.data(), buf.size());
  return n < 0 ? "" : buf.substr(0, static_cast<size_t>(n));
}

void SetMeta(const std::string& path, const std::string& value) {
  ASSERT_EQ(::setxattr(path.c_str(), "user.bucketd.meta", value.data(), value.size(), 0), 0) << path;
}

TEST_F(StoreTest, ASealedRecordSurvivesAReopenAndAnEditedOneIsRecomputedWhole) {
  PutOptions o;
  o.content_type = "text/csv";
  o.user_metadata["source-etag"] = "\"abc\"";
  ASSERT_TRUE(Put("t.csv", "a,b\n", o).ok());
  Reopen();
  auto head = store_->HeadObject("bkt", "t.csv");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "text/csv");
  EXPECT_EQ(head->user_metadata["source-etag"], "\"abc\"");

  auto rec = nlohmann::json::parse(MetaOf(BucketDir() + "/t.csv"));
  EXPECT_EQ(rec["v"], 2);
  rec["etag"] = "\"00000000000000000000000000000000\"";  // the seal is kept, the record edited
  SetMeta(BucketDir() + "/t.csv", rec.dump());
  head = store_->HeadObject("bkt", "t.csv");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, QuotedMd5("a,b\n"));
  EXPECT_EQ(head->content_type, "binary/octet-stream") << "nothing of an untrusted record is kept";
  EXPECT_TRUE(head->user_metadata.empty());
  // The recomputed record is sealed again.
  EXPECT_EQ(nlohmann::json::parse(MetaOf(BucketDir() + "/t.csv"))["etag"], QuotedMd5("a,b\n"));
}

// The store remembers the records it verified; one copied onto another file
// (another inode) is still not trusted, even while the original is remembered.
TEST_F(StoreTest, ARememberedRecordCopiedOntoAnotherFileIsNotTrusted) {
  PutOptions o;
  o.content_type = "text/csv";
  ASSERT_TRUE(Put("a.csv", "a,b\n", o).ok());
  ASSERT_TRUE(Put("b.csv", "a,b\n").ok());
  auto a = store_->HeadObject("bkt", "a.csv");  // verified, and remembered
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->content_type, "text/csv");
  SetMeta(BucketDir() + "/b.csv", MetaOf(BucketDir() + "/a.csv"));
  auto b = store_->HeadObject("bkt", "b.csv");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->content_type, "binary/octet-stream");
  EXPECT_EQ(store_->HeadObject("bkt", "a.csv")->content_type, "text/csv");
}

TEST_F(StoreTest, TagsChangeUnderTheSealWithoutANewVersionAndANewPutHasOnlyItsOwn) {
  PutOptions o;
  o.tags = {{"team", "risk"}};
  ASSERT_TRUE(Put("t.csv", "a,b\n", o).ok());
  struct stat before;
  ASSERT_EQ(::stat((BucketDir() + "/t.csv").c_str(), &before), 0);
  ASSERT_TRUE(store_->SetObjectTags("bkt", "t.csv", {{"stage", "raw"}, {"team", "ops"}}).ok());
  Reopen();
  auto head = store_->HeadObject("bkt", "t.csv");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->tags, (std::map<std::string, std::string>{{"stage", "raw"}, {"team", "ops"}}));
  EXPECT_EQ(head->etag, QuotedMd5("a,b\n"));
  struct stat after;
  ASSERT_EQ(::stat((BucketDir() + "/t.csv").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the same version";
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  ASSERT_TRUE(Put("t.csv", "c,d\n").ok());
  EXPECT_TRUE(store_->HeadObject("bkt", "t.csv")->tags.empty());
  EXPECT_TRUE(store_->SetObjectTags("bkt", "missing", {{"a", "b"}}).IsNotFound());
}

TEST_F(StoreTest, ARecordWithFieldsOfTheWrongTypeIsIgnoredNotAnException) {
  ASSERT_TRUE(Put("t.csv", "a,b\n").ok());
  for (const char* forged : {R"({"v":"2"})", R"({"v":2,"size":"x"})", R"({"v":2,"size":4,"mtime_ns":1,"etag":"e","meta":{"k":1}})",
                             R"([1,2])", "not json"}) {
    SetMeta(BucketDir() + "/t.csv", forged);
    auto head = store_->HeadObject("bkt", "t.csv");
    ASSERT_TRUE(head.ok()) << forged << ": " << head.status().ToString();
    EXPECT_EQ(head->etag, QuotedMd5("a,b\n")) << forged;
  }
}

TEST_F(StoreTest, AFolderMarkerAnUploaderSetIsNoFolder) {
  ASSERT_TRUE(Put("real/", "").ok());
  ASSERT_EQ(::mkdir((BucketDir() + "/fake").c_str(), 0755), 0);
  SetMeta(BucketDir() + "/fake", MetaOf(BucketDir() + "/real"));  // bucketd's record, another directory
  EXPECT_EQ(AllKeys(), std::vector<std::string>{"real/"});
  EXPECT_TRUE(store_->HeadObject("bkt", "fake/").status().IsNotFound());
}

TEST_F(StoreTest, AKeyFileOthersMayReadIsRefusedWithTheFixAndOneOfTheWrongSizeToo) {
  std::string key = root_ + "/.meta-key";
  struct stat st;
  ASSERT_EQ(::stat(key.c_str(), &st), 0) << "the first open makes the key";
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  store_.reset();
  auto s = Store::Open(Env::Default(), root_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("run chmod o-rwx '" + key + "'"), std::string::npos) << s.status().ToString();
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  ASSERT_EQ(::truncate(key.c_str(), 5), 0);
  s = Store::Open(Env::Default(), root_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("holds 5 bytes, not 32"), std::string::npos) << s.status().ToString();
}

// root's bucketctl may be the first to open a fresh store; the key it makes
// must belong to bucketd's user (the root directory's owner), or bucketd
// could not read it.
TEST_F(StoreTest, AKeyMadeByRootBelongsToTheOwnerOfTheStoreRoot) {
  if (::geteuid() != 0) GTEST_FAIL() << "needs root: the key is given to the root directory's owner";
  std::string other = tmp_ / "owned";
  ASSERT_EQ(::mkdir(other.c_str(), 0750), 0);
  ASSERT_EQ(::chown(other.c_str(), 65533, 65534), 0);
  auto s = Store::Open(Env::Default(), other);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->has_meta_key());
  struct stat st;
  ASSERT_EQ(::stat((other + "/.meta-key").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65533u);
  EXPECT_EQ(st.st_gid, 65534u);
}

TEST_F(StoreTest, AnOpenerWithoutTheKeyTrustsNothingAndRefusesToSetMetadataItCouldNotSeal) {
  PutOptions o;
  o.content_type = "text/csv";
  ASSERT_TRUE(Put("t.csv", "a,b\n", o).ok());
  testing::DenyFs deny(Env::Default().fs());
  deny.Deny(".meta-key");
  Env denied_env(deny, Env::Default().clock());
  Reopen(denied_env);
  EXPECT_FALSE(store_->has_meta_key());
  auto head = store_->HeadObject("bkt", "t.csv");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, QuotedMd5("a,b\n"));
  EXPECT_EQ(head->content_type, "binary/octet-stream") << "a record it cannot verify is not trusted";
  auto refused = Put("u.csv", "x", o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("needs the store's metadata key '" + root_ + "/.meta-key'"),
            std::string::npos) << refused.status().ToString();
  ASSERT_TRUE(Put("plain.txt", "x").ok()) << "a put without metadata needs no seal";
  Reopen();
  head = store_->HeadObject("bkt", "t.csv");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "text/csv") << "the keyless opener left bucketd's record alone";
  EXPECT_EQ(store_->HeadObject("bkt", "plain.txt")->etag, QuotedMd5("x"));
}

TEST(MetaKeyTest, AChainProofHoldsOnlyForItsChainAndItsKey) {
  std::string key(32, 'k'), other(32, 'o');
  std::string signed_chain = SignChain(key, "abc:3");
  EXPECT_EQ(VerifyChain(key, signed_chain).value(), "abc:3");
  EXPECT_FALSE(VerifyChain(other, signed_chain).ok());
  EXPECT_FALSE(VerifyChain(key, "abc:4" + signed_chain.substr(5)).ok()) << "a proof for hop 3 is none for hop 4";
  EXPECT_FALSE(VerifyChain(key, "abc:3").ok());
  EXPECT_FALSE(VerifyChain("", signed_chain).ok()) << "without the key nothing is proven";
}

}  // namespace
}  // namespace bucketd::store
