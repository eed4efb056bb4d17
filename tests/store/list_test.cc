// ListObjectsV2, checked against S3's documented behaviour: byte order,
// prefix, delimiter -> CommonPrefixes (each counting once against max-keys),
// start-after, and continuation tokens.
#include <algorithm>

#include "tests/store/store_fixture.h"

namespace bucketd::store {
namespace {

// The key set of S3's "Organizing objects using prefixes" example plus some
// that test byte order.
const std::vector<std::string> kKeys = {
    "sample.jpg",
    "photos/2006/January/sample.jpg",
    "photos/2006/February/sample2.jpg",
    "photos/2006/February/sample3.jpg",
    "photos/2006/February/sample4.jpg",
    "a.txt", "a/b", "a0", "a-", "A", "z", "\xc3\xa9t\xc3\xa9",  // "été"
    "logs/2024-01-01.gz", "logs/2024-01-02.gz", "logs/2024-02-01.gz",
};

struct ListCase {
  const char* name;
  ListRequest req;
  std::vector<std::string> keys;
  std::vector<std::string> prefixes;
  bool truncated;
};

class ListTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    for (const auto& k : kKeys) ASSERT_TRUE(Put(k, "data:" + k).ok()) << k;
  }
  static ListRequest Req(std::string prefix, std::string delim, std::string start_after = "",
                         int max_keys = 1000) {
    ListRequest r;
    r.prefix = std::move(prefix);
    r.delimiter = std::move(delim);
    r.start_after = std::move(start_after);
    r.max_keys = max_keys;
    return r;
  }
  // Pages through the whole listing with `page` items per request.
  void Paged(ListRequest req, int page, std::vector<std::string>* keys,
             std::vector<std::string>* prefixes) {
    req.max_keys = page;
    for (int guard = 0; guard < 1000; ++guard) {
      auto r = store_->ListObjectsV2("bkt", req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_LE(r->key_count, page);
      for (auto& o : r->contents) keys->push_back(o.key);
      for (auto& p : r->common_prefixes) prefixes->push_back(p);
      if (!r->is_truncated) return;
      req.continuation_token = r->next_continuation_token;
    }
    FAIL() << "listing did not end";
  }
};

TEST_F(ListTest, DocumentedCases) {
  const ListCase cases[] = {
      {"whole bucket in UTF-8 byte order", Req("", ""),
       {"A", "a-", "a.txt", "a/b", "a0", "logs/2024-01-01.gz", "logs/2024-01-02.gz",
        "logs/2024-02-01.gz", "photos/2006/February/sample2.jpg",
        "photos/2006/February/sample3.jpg", "photos/2006/February/sample4.jpg",
        "photos/2006/January/sample.jpg", "sample.jpg", "z", "\xc3\xa9t\xc3\xa9"},
       {}, false},
      {"delimiter at top level rolls folders into CommonPrefixes", Req("", "/"),
       {"A", "a-", "a.txt", "a0", "sample.jpg", "z", "\xc3\xa9t\xc3\xa9"},
       {"a/", "logs/", "photos/"}, false},
      {"prefix plus delimiter lists sub-folders (S3 docs photos/2006/)",
       Req("photos/2006/", "/"), {}, {"photos/2006/February/", "photos/2006/January/"}, false},
      {"prefix that is not a folder boundary", Req("photos/2006/F", ""),
       {"photos/2006/February/sample2.jpg", "photos/2006/February/sample3.jpg",
        "photos/2006/February/sample4.jpg"},
       {}, false},
      {"non-slash delimiter", Req("logs/", "-"), {}, {"logs/2024-"}, false},
      {"delimiter with more text after the prefix", Req("logs/2024-0", "-"),
       {}, {"logs/2024-01-", "logs/2024-02-"}, false},
      {"start-after inside a folder", Req("", "", "photos/2006/February/sample3.jpg"),
       {"photos/2006/February/sample4.jpg", "photos/2006/January/sample.jpg", "sample.jpg", "z",
        "\xc3\xa9t\xc3\xa9"},
       {}, false},
      {"start-after that is no key", Req("", "", "b"),
       {"logs/2024-01-01.gz", "logs/2024-01-02.gz", "logs/2024-02-01.gz",
        "photos/2006/February/sample2.jpg", "photos/2006/February/sample3.jpg",
        "photos/2006/February/sample4.jpg", "photos/2006/January/sample.jpg", "sample.jpg", "z",
        "\xc3\xa9t\xc3\xa9"},
       {}, false},
      {"max-keys counts a common prefix once", Req("", "/", "", 4), {"A", "a-", "a.txt"}, {"a/"}, true},
      {"max-keys 0 returns nothing", Req("", "", "", 0), {}, {}, false},
      {"prefix matching nothing", Req("nothing/", "/"), {}, {}, false},
      {"exact key as prefix", Req("a", "/"), {"a-", "a.txt", "a0"}, {"a/"}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = store_->ListObjectsV2("bkt", c.req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> keys;
    for (auto& o : r->contents) keys.push_back(o.key);
    EXPECT_EQ(keys, c.keys);
    EXPECT_EQ(r->common_prefixes, c.prefixes);
    EXPECT_EQ(r->is_truncated, c.truncated);
    EXPECT_EQ(r->key_count, static_cast<int>(c.keys.size() + c.prefixes.size()));
    EXPECT_EQ(r->next_continuation_token.empty(), !c.truncated);
  }
}

TEST_F(ListTest, ContentsCarrySizeEtagAndTime) {
  auto r = store_->ListObjectsV2("bkt", Req("sample", ""));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->contents.size(), 1u);
  EXPECT_EQ(r->contents[0].size, std::string("data:sample.jpg").size());
  EXPECT_EQ(r->contents[0].etag, store_->HeadObject("bkt", "sample.jpg")->etag);
  EXPECT_GT(r->contents[0].last_modified, 0);
}

TEST_F(ListTest, EveryPageSizeGivesTheSameListing) {
  for (const char* delim : {"", "/", "-"}) {
    std::vector<std::string> all_keys, all_prefixes;
    Paged(Req("", delim), 1000, &all_keys, &all_prefixes);
    for (int page : {1, 2, 3, 7}) {
      SCOPED_TRACE(std::string("delimiter '") + delim + "' page " + std::to_string(page));
      std::vector<std::string> keys, prefixes;
      Paged(Req("", delim), page, &keys, &prefixes);
      EXPECT_EQ(keys, all_keys);
      EXPECT_EQ(prefixes, all_prefixes);
    }
  }
}

TEST_F(ListTest, ContinuationTokenStaysValidWhileObjectsAreAdded) {
  auto first = store_->ListObjectsV2("bkt", Req("photos/", "", "", 2));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->is_truncated);
  EXPECT_EQ(first->contents.back().key, "photos/2006/February/sample3.jpg");
  ASSERT_TRUE(Put("photos/2006/February/sample1.jpg", "before the token").ok());
  ASSERT_TRUE(Put("photos/2006/March/new.jpg", "after the token").ok());
  ASSERT_TRUE(store_->DeleteObject("bkt", "photos/2006/February/sample4.jpg").ok());
  ListRequest next = Req("photos/", "", "", 1000);
  next.continuation_token = first->next_continuation_token;
  auto rest = store_->ListObjectsV2("bkt", next);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  std::vector<std::string> keys;
  for (auto& o : rest->contents) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"photos/2006/January/sample.jpg",
                                            "photos/2006/March/new.jpg"}));
}

TEST_F(ListTest, ContinuingAfterACommonPrefixSkipsItsKeys) {
  auto first = store_->ListObjectsV2("bkt", Req("", "/", "", 4));  // A a- a.txt a/
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->common_prefixes, std::vector<std::string>{"a/"});
  ASSERT_TRUE(Put("a/c", "lands inside the returned prefix").ok());
  ListRequest next = Req("", "/", "", 1);
  next.continuation_token = first->next_continuation_token;
  auto r = store_->ListObjectsV2("bkt", next);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->contents.size(), 1u);
  EXPECT_EQ(r->contents[0].key, "a0");
}

TEST_F(ListTest, BadRequestsAreRefused) {
  ListRequest r;
  r.continuation_token = "not-a-token";
  EXPECT_EQ(store_->ListObjectsV2("bkt", r).status().code(), StatusCode::kInvalidArgument);
  r = ListRequest();
  r.max_keys = -1;
  EXPECT_EQ(store_->ListObjectsV2("bkt", r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->ListObjectsV2("missing-bucket", ListRequest()).status().IsNotFound());
}

TEST_F(ListTest, MaxKeysAboveOneThousandIsAcceptedNotRefused) {
  ListRequest r;
  r.max_keys = 5000;
  auto res = store_->ListObjectsV2("bkt", r);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->contents.size(), kKeys.size());
}

}  // namespace
}  // namespace bucketd::store
