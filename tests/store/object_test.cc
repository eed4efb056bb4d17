// Buckets and single-object operations against a store on a real directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "common/md5.h"
#include "store/md5_source.h"
#include "store/read_ahead.h"
#include "tests/store/pieces_source.h"
#include "tests/store/store_fixture.h"

namespace bucketd::store {
namespace {

using testing::Exists;
using testing::ListDir;
using testing::ReadFile;
using testing::WriteFile;

TEST_F(StoreTest, BucketsAreCreatedListedAndDeletedOnlyWhenEmpty) {
  EXPECT_TRUE(store_->CreateBucket("bkt").IsAlreadyExists());
  ASSERT_TRUE(store_->CreateBucket("another-one").ok());
  EXPECT_EQ(store_->CreateBucket("Bad_Name").code(), StatusCode::kInvalidArgument);
  auto list = store_->ListBuckets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "another-one");
  EXPECT_EQ((*list)[1].name, "bkt");
  EXPECT_GT((*list)[1].creation_date, 0);

  ASSERT_TRUE(Put("deep/dir/obj", "x").ok());
  Status s = store_->DeleteBucket("bkt");
  EXPECT_TRUE(s.IsAlreadyExists());
  EXPECT_NE(s.message().find("not empty"), std::string::npos) << s.message();
  ASSERT_TRUE(store_->DeleteObject("bkt", "deep/dir/obj").ok());
  EXPECT_TRUE(store_->DeleteBucket("bkt").ok());
  EXPECT_TRUE(store_->HeadBucket("bkt").IsNotFound());
  EXPECT_FALSE(Exists(BucketDir()));
}

// Issue 13, item 6: a store root bucketd creates is not for others to read.
TEST_F(StoreTest, ARootBucketdCreatesIsNotWorldReadableAndPrivateObjectsAreNotEither) {
  struct stat st;
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  PutOptions o;
  o.private_object = true;
  ASSERT_TRUE(store_->PutObjectFromString("bkt", "dlq/rec.json", "{}", o).ok());
  ASSERT_EQ(::stat((root_ + "/buckets/bkt/dlq/rec.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007, 0u);
}

TEST_F(StoreTest, PutGetHeadRoundTripWithS3Etag) {
  PutOptions o;
  o.content_type = "text/plain";
  o.user_metadata = {{"Owner", "team-a"}, {"x-run", "7"}};
  auto put = Put("dir/hello.txt", "hello", o);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->etag, "\"5d41402abc4b2a76b9719d911017c592\"");
  EXPECT_EQ(Get("dir/hello.txt"), "hello");
  EXPECT_EQ(ReadFile(BucketDir() + "/dir/hello.txt"), "hello");  // a plain file on disk
  auto head = store_->HeadObject("bkt", "dir/hello.txt");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 5u);
  EXPECT_EQ(head->etag, put->etag);
  EXPECT_EQ(head->content_type, "text/plain");
  EXPECT_EQ(head->user_metadata.at("owner"), "team-a");  // names are lower-cased
  EXPECT_EQ(head->user_metadata.at("x-run"), "7");
  EXPECT_GT(head->last_modified, 0);
}

TEST_F(StoreTest, DefaultContentTypeAndMissingKeyOrBucket) {
  ASSERT_TRUE(Put("k", "").ok());
  EXPECT_EQ(store_->HeadObject("bkt", "k")->content_type, "binary/octet-stream");
  EXPECT_EQ(store_->HeadObject("bkt", "k")->etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
  auto missing = store_->HeadObject("bkt", "nope");
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  EXPECT_TRUE(store_->HeadObject("no-such-bucket", "k").status().IsNotFound());
}

TEST_F(StoreTest, RangeGetsFollowHttpSemantics) {
  ASSERT_TRUE(Put("r", "0123456789").ok());
  auto get = [&](const char* h) {
    GetOptions o;
    o.range = *ByteRange::Parse(h);
    return Get("r", o);
  };
  EXPECT_EQ(get("bytes=0-4"), "01234");
  EXPECT_EQ(get("bytes=7-"), "789");
  EXPECT_EQ(get("bytes=-3"), "789");
  EXPECT_EQ(get("bytes=8-100"), "89");      // last beyond the end is clamped
  EXPECT_EQ(get("bytes=-100"), "0123456789");
  EXPECT_NE(get("bytes=10-").find("InvalidRange"), std::string::npos);
}

TEST_F(StoreTest, OverwriteReplacesBytesAndEtag) {
  auto a = Put("k", "first");
  auto b = Put("k", "second version");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->etag, b->etag);
  EXPECT_EQ(Get("k"), "second version");
  EXPECT_EQ(store_->HeadObject("bkt", "k")->etag, b->etag);
}

TEST_F(StoreTest, IfNoneMatchCreatesOnlyOnce) {
  PutOptions create_only;
  create_only.if_none_match = true;
  ASSERT_TRUE(Put("marker.json", "{\"a\":1}", create_only).ok());
  auto again = Put("marker.json", "{\"a\":2}", create_only);
  EXPECT_EQ(again.status().code(), StatusCode::kPreconditionFailed);
  EXPECT_EQ(Get("marker.json"), "{\"a\":1}");
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());  // the loser's temp file is gone
}

TEST_F(StoreTest, IfNoneMatchRaceHasExactlyOneWinner) {
  PutOptions create_only;
  create_only.if_none_match = true;
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = Put("race/marker", "writer " + std::to_string(i), create_only);
      (r.ok() ? winners : losers)++;
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kPreconditionFailed);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(losers.load(), 7);
}

TEST_F(StoreTest, IfMatchWritesOnlyOverTheExpectedVersion) {
  auto v1 = Put("k", "v1");
  ASSERT_TRUE(v1.ok());
  PutOptions o;
  o.if_match = "\"0123\"";
  EXPECT_EQ(Put("k", "v2", o).status().code(), StatusCode::kPreconditionFailed);
  EXPECT_EQ(Get("k"), "v1");
  o.if_match = v1->etag;
  ASSERT_TRUE(Put("k", "v2", o).ok());
  EXPECT_EQ(Get("k"), "v2");
  o.if_match = v1->etag.substr(1, 32);  // unquoted works too
  EXPECT_EQ(Put("k", "v3", o).status().code(), StatusCode::kPreconditionFailed);
  EXPECT_TRUE(Put("absent", "x", o).status().IsNotFound());
  EXPECT_TRUE(store_->HeadObject("bkt", "absent").status().IsNotFound());
}

TEST_F(StoreTest, IfMatchRaceLetsOnlyOneWriterReplaceAVersion) {
  auto v1 = Put("k", "base");
  ASSERT_TRUE(v1.ok());
  PutOptions o;
  o.if_match = v1->etag;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (Put("k", "update " + std::to_string(i), o).ok()) winners++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_F(StoreTest, CopyKeepsOrReplacesMetadata) {
  PutOptions o;
  o.content_type = "application/json";
  o.user_metadata = {{"stage", "etl"}};
  ASSERT_TRUE(Put("src.json", "{}", o).ok());
  ASSERT_TRUE(store_->CreateBucket("other").ok());
  auto c = store_->CopyObject("bkt", "src.json", "other", "copies/dst.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto h = store_->HeadObject("other", "copies/dst.json");
  EXPECT_EQ(h->content_type, "application/json");
  EXPECT_EQ(h->user_metadata.at("stage"), "etl");
  EXPECT_EQ(h->etag, "\"99914b932bd37a50b983c5e7c90ae93b\"");

  EXPECT_EQ(store_->CopyObject("bkt", "src.json", "bkt", "src.json").status().code(),
            StatusCode::kInvalidArgument);
  CopyOptions replace;
  replace.directive = MetadataDirective::kReplace;
  replace.put.content_type = "text/plain";
  ASSERT_TRUE(store_->CopyObject("bkt", "src.json", "bkt", "src.json", replace).ok());
  h = store_->HeadObject("bkt", "src.json");
  EXPECT_EQ(h->content_type, "text/plain");
  EXPECT_TRUE(h->user_metadata.empty());
  EXPECT_TRUE(store_->CopyObject("bkt", "missing", "bkt", "x").status().IsNotFound());
}

TEST_F(StoreTest, ACopyTakesTheSourcesETagOnlyWhileItMatchesTheBytes) {
  // Dropped in by hand, its ETag cached, then rewritten in place by hand.
  testing::WriteFile(BucketDir() + "/drop.txt", "first");
  ASSERT_EQ(store_->HeadObject("bkt", "drop.txt")->etag, "\"8b04d5e3775d298e78455efc5ca404d5\"");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  testing::WriteFile(BucketDir() + "/drop.txt", "other");
  auto c = store_->CopyObject("bkt", "drop.txt", "bkt", "copy.txt");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->etag, "\"795f3202b17cb6bc3d4b771d8c6c9eaf\"") << "the copy carries a stale ETag";
  EXPECT_EQ(store_->HeadObject("bkt", "copy.txt")->etag, c->etag);
}

// Issue 16: a copy that would get the source's metadata may be a second
// name of its file; each key stays its own object for every later write.
TEST_F(StoreTest, ASharedCopyIsASecondNameOfTheFileUntilEitherKeyIsWritten) {
  PutOptions o;
  o.content_type = "text/plain";
  o.user_metadata = {{"rows", "2"}};
  o.caller = R"({"type":"Stage"})";
  ASSERT_TRUE(Put("a/t.txt", "one\ntwo\n", o).ok());
  CopyOptions share;
  share.share_bytes = true;
  share.put.caller = o.caller;
  auto c = store_->CopyObject("bkt", "a/t.txt", "bkt", "b/t.txt", share);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  struct stat sa, sb;
  ASSERT_EQ(::stat((BucketDir() + "/a/t.txt").c_str(), &sa), 0);
  ASSERT_EQ(::stat((BucketDir() + "/b/t.txt").c_str(), &sb), 0);
  EXPECT_EQ(sa.st_ino, sb.st_ino) << "no bytes should have been written for the copy";
  EXPECT_EQ(sb.st_nlink, 2u);
  auto h = store_->HeadObject("bkt", "b/t.txt");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->etag, c->etag);
  Md5 md5;
  md5.Update("one\ntwo\n");
  EXPECT_EQ(h->etag, "\"" + md5.HexDigest() + "\"");
  EXPECT_EQ(h->content_type, "text/plain");
  EXPECT_EQ(h->user_metadata.at("rows"), "2");
  EXPECT_EQ(h->caller, o.caller);

  // Tagging one key gives it a file of its own; the other keeps no tags.
  ASSERT_TRUE(store_->SetObjectTags("bkt", "b/t.txt", {{"k", "v"}}).ok());
  ASSERT_EQ(::stat((BucketDir() + "/b/t.txt").c_str(), &sb), 0);
  EXPECT_NE(sa.st_ino, sb.st_ino);
  EXPECT_EQ(store_->HeadObject("bkt", "b/t.txt")->tags, (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_TRUE(store_->HeadObject("bkt", "a/t.txt")->tags.empty());
  EXPECT_EQ(store_->HeadObject("bkt", "b/t.txt")->etag, c->etag);
  EXPECT_EQ(store_->HeadObject("bkt", "b/t.txt")->user_metadata.at("rows"), "2");

  // A put replaces the name it is made to, not the other.
  ASSERT_TRUE(store_->CopyObject("bkt", "a/t.txt", "bkt", "c/t.txt", share).ok());
  ASSERT_TRUE(Put("a/t.txt", "new").ok());
  EXPECT_EQ(Get("c/t.txt"), "one\ntwo\n");
  EXPECT_EQ(Get("a/t.txt"), "new");
  ASSERT_TRUE(store_->DeleteObject("bkt", "c/t.txt").ok());
  EXPECT_EQ(Get("b/t.txt"), "one\ntwo\n");
}

TEST_F(StoreTest, ACopyThatWouldDifferFromItsSourceIsNotShared) {
  PutOptions o;
  o.user_metadata = {{"rows", "2"}};
  ASSERT_TRUE(Put("src.txt", "body", o).ok());
  struct stat ss, sd;
  ASSERT_EQ(::stat((BucketDir() + "/src.txt").c_str(), &ss), 0);
  CopyOptions replace;
  replace.share_bytes = true;
  replace.directive = MetadataDirective::kReplace;
  replace.put.user_metadata = {{"rows", "3"}};
  ASSERT_TRUE(store_->CopyObject("bkt", "src.txt", "bkt", "replaced.txt", replace).ok());
  CopyOptions other_writer;
  other_writer.share_bytes = true;
  other_writer.put.caller = R"({"type":"Other"})";
  ASSERT_TRUE(store_->CopyObject("bkt", "src.txt", "bkt", "other.txt", other_writer).ok());
  // Dropped in by hand and rewritten in place: its cached record is stale.
  testing::WriteFile(BucketDir() + "/drop.txt", "first");
  ASSERT_TRUE(store_->HeadObject("bkt", "drop.txt").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  testing::WriteFile(BucketDir() + "/drop.txt", "other");
  CopyOptions share;
  share.share_bytes = true;
  auto c = store_->CopyObject("bkt", "drop.txt", "bkt", "drop-copy.txt", share);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->etag, "\"795f3202b17cb6bc3d4b771d8c6c9eaf\"");
  for (const char* k : {"replaced.txt", "other.txt"}) {
    ASSERT_EQ(::stat((BucketDir() + "/" + k).c_str(), &sd), 0);
    EXPECT_NE(ss.st_ino, sd.st_ino) << k;
    EXPECT_EQ(Get(k), "body");
  }
  EXPECT_EQ(store_->HeadObject("bkt", "replaced.txt")->user_metadata.at("rows"), "3");
  EXPECT_EQ(store_->HeadObject("bkt", "src.txt")->user_metadata.at("rows"), "2");
  EXPECT_EQ(store_->HeadObject("bkt", "drop-copy.txt")->etag, c->etag);
}

TEST_F(StoreTest, LateUserMetadataJoinsTheRecordAndIsValidated) {
  std::map<std::string, std::string> late{{"rows", "7"}};
  PutOptions o;
  o.user_metadata = {{"source", "x"}};
  o.late_user_metadata = &late;
  ASSERT_TRUE(Put("late.txt", "abc", o).ok());
  auto h = store_->HeadObject("bkt", "late.txt");
  EXPECT_EQ(h->user_metadata, (std::map<std::string, std::string>{{"rows", "7"}, {"source", "x"}}));
  late = {{"big", std::string(3000, 'x')}};
  EXPECT_EQ(Put("late2.txt", "abc", o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Exists(BucketDir() + "/late2.txt"));
}

TEST_F(StoreTest, AnEtagTheSourceComputedIsTheOneRecordedAndTheBytesAreIntact) {
  const std::string data = "id|name\n1|one\n2|two\n";
  PiecesSource pieces(data, 3);
  Md5Source hashed(pieces);
  ReadAheadSource ahead(hashed, 5, 2);
  PutOptions o;
  o.late_etag = &hashed.etag();
  ASSERT_TRUE(store_->PutObject("bkt", "hashed.txt", ahead, o).ok());
  EXPECT_EQ(hashed.etag(), QuotedMd5(data));
  EXPECT_EQ(store_->HeadObject("bkt", "hashed.txt")->etag, QuotedMd5(data));
  EXPECT_EQ(Get("hashed.txt"), data);
}

// The put records the source's ETag as given rather than hashing the bytes
// again: that is what lets the MD5 run on another thread.
TEST_F(StoreTest, ALateEtagIsRecordedAsTheSourceGaveIt) {
  const std::string given = "\"0123456789abcdef0123456789abcdef\"";  // not the bytes' MD5
  PutOptions o;
  o.late_etag = &given;
  ASSERT_TRUE(Put("given.txt", "abc", o).ok());
  EXPECT_EQ(store_->HeadObject("bkt", "given.txt")->etag, given);
}

TEST_F(StoreTest, ASourceThatEndsWithoutItsPromisedEtagPublishesNothing) {
  const std::string never;  // no source sets it
  PutOptions o;
  o.late_etag = &never;
  Result<ObjectInfo> put = Put("unhashed.txt", "abc", o);
  EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(put.status().message().find("unhashed.txt"), std::string::npos);
  EXPECT_FALSE(Exists(BucketDir() + "/unhashed.txt"));
}

TEST_F(StoreTest, DeleteIsIdempotentAndPrunesEmptyDirectories) {
  ASSERT_TRUE(Put("a/b/c/one", "1").ok());
  ASSERT_TRUE(Put("a/keep", "k").ok());
  EXPECT_TRUE(store_->DeleteObject("bkt", "never/was").ok());
  ASSERT_TRUE(store_->DeleteObject("bkt", "a/b/c/one").ok());
  EXPECT_FALSE(Exists(BucketDir() + "/a/b"));
  EXPECT_TRUE(Exists(BucketDir() + "/a/keep"));
  EXPECT_TRUE(store_->DeleteObject("bkt", "a").ok());  // a "directory" is no key
  EXPECT_EQ(Get("a/keep"), "k");
}

TEST_F(StoreTest, DeleteObjectsReportsPerKeyErrors) {
  ASSERT_TRUE(Put("x/1", "1").ok());
  ASSERT_TRUE(Put("x/2", "2").ok());
  auto r = store_->DeleteObjects("bkt", {"x/1", "x/2", "../bad", "x/3"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].key, "../bad");
  EXPECT_TRUE(AllKeys().empty());
}

TEST_F(StoreTest, FolderObjectsAreEmptyDirectoriesWithAMarker) {
  ASSERT_TRUE(Put("photos/", "").ok());
  EXPECT_EQ(Put("bad/", "content").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AllKeys(), std::vector<std::string>{"photos/"});
  ASSERT_TRUE(Put("photos/cat.jpg", "meow").ok());
  EXPECT_EQ(AllKeys(), (std::vector<std::string>{"photos/", "photos/cat.jpg"}));
  ASSERT_TRUE(store_->DeleteObject("bkt", "photos/cat.jpg").ok());
  EXPECT_EQ(AllKeys(), std::vector<std::string>{"photos/"});  // the folder stays
  ASSERT_TRUE(store_->DeleteObject("bkt", "photos/").ok());
  EXPECT_TRUE(AllKeys().empty());
  EXPECT_FALSE(Exists(BucketDir() + "/photos"));
}

TEST_F(StoreTest, KeyThatIsBothObjectAndFolderIsRefusedWithBothNames) {
  ASSERT_TRUE(Put("a", "file").ok());
  auto r = Put("a/b", "under a file");
  EXPECT_TRUE(r.status().IsAlreadyExists());
  EXPECT_NE(r.status().message().find("'a/b'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("'a'"), std::string::npos);
  ASSERT_TRUE(Put("x/y", "1").ok());
  auto r2 = Put("x", "over a folder");
  EXPECT_TRUE(r2.status().IsAlreadyExists()) << r2.status().ToString();
  EXPECT_EQ(Get("x/y"), "1");
  EXPECT_EQ(Get("a"), "file");
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());
}

TEST_F(StoreTest, DroppedInFilesAreObjectsAndTheirCacheIsNeverTrustedWhenStale) {
  ASSERT_EQ(::mkdir((BucketDir() + "/in").c_str(), 0755), 0);
  WriteFile(BucketDir() + "/in/dropped.txt", "abc");
  auto h = store_->HeadObject("bkt", "in/dropped.txt");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->etag, "\"900150983cd24fb0d6963f7d28e17f72\"");
  // Rewritten in place by another program: same size, new bytes and mtime.
  WriteFile(BucketDir() + "/in/dropped.txt", "xyz");
  struct timespec times[2] = {{0, UTIME_OMIT}, {h->last_modified / 1000000000 + 5, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (BucketDir() + "/in/dropped.txt").c_str(), times, 0), 0);
  EXPECT_EQ(store_->HeadObject("bkt", "in/dropped.txt")->etag, QuotedMd5("xyz"));
  WriteFile(BucketDir() + "/in/dropped.txt", "longer now");
  EXPECT_EQ(store_->HeadObject("bkt", "in/dropped.txt")->etag, QuotedMd5("longer now"));
  EXPECT_EQ(AllKeys(), std::vector<std::string>{"in/dropped.txt"});
}

}  // namespace
}  // namespace bucketd::store
