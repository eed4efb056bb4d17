// A store on a fresh temp directory, with helpers to put and read strings.
#ifndef BUCKETD_TESTS_STORE_STORE_FIXTURE_H_
#define BUCKETD_TESTS_STORE_STORE_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/store.h"
#include "tests/test_util.h"

namespace bucketd::store {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "root";
    Reopen();
    ASSERT_TRUE(store_->CreateBucket("bkt").ok());
  }
  void Reopen(Env& env = Env::Default()) {
    store_.reset();
    auto s = Store::Open(env, root_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  Result<ObjectInfo> Put(const std::string& key, const std::string& data,
                         const PutOptions& o = {}) {
    return store_->PutObjectFromString("bkt", key, data, o);
  }
  // The object's bytes, or "<error: …>".
  std::string Get(const std::string& key, const GetOptions& o = {}) {
    StringSink sink;
    auto r = store_->GetObject("bkt", key, sink, o);
    return r.ok() ? sink.data() : "<error: " + r.status().ToString() + ">";
  }
  std::vector<std::string> AllKeys(const std::string& prefix = "") {
    ListRequest req;
    req.prefix = prefix;
    std::vector<std::string> keys;
    for (;;) {
      auto r = store_->ListObjectsV2("bkt", req);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return keys;
      for (auto& o : r->contents) keys.push_back(o.key);
      if (!r->is_truncated) return keys;
      req.continuation_token = r->next_continuation_token;
    }
  }
  std::string BucketDir() { return root_ + "/buckets/bkt"; }

  testing::TempDir tmp_;
  std::string root_;
  std::unique_ptr<Store> store_;
};

}  // namespace bucketd::store

#endif  // BUCKETD_TESTS_STORE_STORE_FIXTURE_H_
