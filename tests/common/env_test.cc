// PosixFs against real directories.
#include "common/env.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace bucketd {
namespace {

using testing::TempDir;

TEST(PosixFsTest, OpenBeneathRefusesEscapes) {
  TempDir tmp;
  Fs& fs = Env::Default().fs();
  ASSERT_EQ(::mkdir((tmp / "base").c_str(), 0755), 0);
  testing::WriteFile(tmp / "secret", "s");
  ASSERT_EQ(::symlink("../secret", (tmp / "base/out").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (tmp / "base/abs").c_str()), 0);
  testing::WriteFile(tmp / "base/in", "i");
  ASSERT_EQ(::symlink("in", (tmp / "base/in-link").c_str()), 0);
  auto base = fs.OpenAt(AT_FDCWD, tmp / "base", O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(base.ok());
  for (const char* p : {"../secret", "out", "abs", "/etc/passwd"}) {
    auto r = fs.OpenBeneath(base->get(), p, O_RDONLY);
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << p << ": " << r.status().ToString();
  }
  EXPECT_TRUE(fs.OpenBeneath(base->get(), "in-link", O_RDONLY).ok());
}

TEST(PosixFsTest, RenameNoReplaceKeepsTheTarget) {
  TempDir tmp;
  Fs& fs = Env::Default().fs();
  testing::WriteFile(tmp / "a", "new");
  testing::WriteFile(tmp / "b", "old");
  Status s = fs.RenameAt(AT_FDCWD, tmp / "a", AT_FDCWD, tmp / "b", true);
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
  EXPECT_EQ(testing::ReadFile(tmp / "b"), "old");
}

TEST(PosixFsTest, XattrRoundTripAndMissing) {
  TempDir tmp;
  Fs& fs = Env::Default().fs();
  auto fd = fs.OpenAt(AT_FDCWD, tmp / "f", O_CREAT | O_RDWR, 0644);
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(fs.GetXattr(fd->get(), "user.x").status().IsNotFound());
  std::string big(3000, 'v');
  ASSERT_TRUE(fs.SetXattr(fd->get(), "user.x", big).ok());
  EXPECT_EQ(*fs.GetXattr(fd->get(), "user.x"), big);
}

TEST(PosixFsTest, LockIsExclusiveAcrossOpenFiles) {
  TempDir tmp;
  Fs& fs = Env::Default().fs();
  auto a = fs.OpenAt(AT_FDCWD, tmp / "l", O_CREAT | O_RDWR, 0644);
  auto b = fs.OpenAt(AT_FDCWD, tmp / "l", O_RDWR);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*fs.Lock(a->get(), true, false));
  EXPECT_FALSE(*fs.Lock(b->get(), true, false));
  a->Reset();
  EXPECT_TRUE(*fs.Lock(b->get(), true, false));
}

}  // namespace
}  // namespace bucketd
