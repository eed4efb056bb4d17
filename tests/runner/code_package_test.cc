// A deployment package is unpacked whole into a directory of its version, or
// refused naming the entry; zips made here with libarchive's writer.
#include "runner/code_package.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace bucketd::runner {
namespace {

struct Entry {
  Entry(std::string n, std::string d, mode_t t = AE_IFREG, mode_t p = 0644, std::string l = "")
      : name(std::move(n)), data(std::move(d)), type(t), perm(p), link(std::move(l)) {}
  std::string name;
  std::string data;
  mode_t type;
  mode_t perm;
  std::string link;
};

std::string Zip(const std::vector<Entry>& entries) {
  std::string out(1 << 20, '\0');
  size_t used = 0;
  struct archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  EXPECT_EQ(archive_write_open_memory(a, out.data(), out.size(), &used), ARCHIVE_OK);
  for (const Entry& e : entries) {
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.perm);
    if (!e.link.empty()) archive_entry_set_symlink(ae, e.link.c_str());
    archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
    archive_write_header(a, ae);
    if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

TEST(CodePackageTest, APackageIsUnpackedIntoItsVersionsDirectoryWithOnlyTheExecuteBitKept) {
  testing::TempDir tmp;
  std::string zip = Zip({{"app.py", "def h(e, c): return 1\n"},
                         {"lib/", "", AE_IFDIR, 0777},
                         {"lib/helper.py", "X = 1\n", AE_IFREG, 0666},
                         {"bin/tool", "#!/bin/sh\n", AE_IFREG, 0777}});
  auto dir = UnpackCode(tmp.path(), "Fn", "v1", zip, "f.zip");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, tmp.path() + "/lambda/code/Fn/v1");
  EXPECT_EQ(testing::ReadFile(*dir + "/app.py"), "def h(e, c): return 1\n");
  EXPECT_EQ(testing::ReadFile(*dir + "/lib/helper.py"), "X = 1\n");
  struct stat st;
  ASSERT_EQ(::stat((*dir + "/lib/helper.py").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u) << "not group or world writable";
  ASSERT_EQ(::stat((*dir + "/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  // The same version again is the same directory; versions beyond three go.
  EXPECT_EQ(UnpackCode(tmp.path(), "Fn", "v1", "not even a zip", "f.zip").value(), *dir);
  for (const char* v : {"v2", "v3", "v4"}) ASSERT_TRUE(UnpackCode(tmp.path(), "Fn", v, zip, "f.zip").ok());
  size_t versions = 0;
  for (const auto& d : std::filesystem::directory_iterator(tmp.path() + "/lambda/code/Fn")) {
    (void)d;
    ++versions;
  }
  EXPECT_EQ(versions, 3u);
}

// An environment runs in its code directory: a relative one would name
// nothing there (bucketd started with --root given relative).
TEST(CodePackageTest, TheCodeDirectoryIsAbsoluteForARelativeStateDirectory) {
  testing::TempDir tmp;
  std::string cwd = std::filesystem::current_path().string();
  std::filesystem::current_path(tmp.path());
  auto dir = UnpackCode("state", "Fn", "v1", Zip({{"app.py", "x = 1\n"}}), "f.zip");
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, std::filesystem::path(tmp.path()).lexically_normal().string() + "/state/lambda/code/Fn/v1");
}

TEST(CodePackageTest, AHostilePackageIsRefusedNamingItsEntryAndLeavesNothing) {
  testing::TempDir tmp;
  struct Case {
    std::vector<Entry> entries;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{{"ok.py", "x"}, {"../up.py", "x"}}, "f.zip: entry '../up.py': expected a relative path without '..' segments"},
      {{{"/etc/cron.d/x", "x"}}, "f.zip: entry '/etc/cron.d/x': expected a relative path"},
      {{{"a/./b.py", "x"}}, "entry 'a/./b.py': expected a relative path"},
      {{{"link", "", AE_IFLNK, 0777, "/etc/passwd"}}, "f.zip: entry 'link' is a link or a special file"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto dir = UnpackCode(tmp.path(), "Fn", "bad" + std::to_string(i), Zip(cases[i].entries), "f.zip");
    ASSERT_FALSE(dir.ok()) << "case " << i;
    EXPECT_NE(dir.status().message().find(cases[i].error), std::string::npos) << dir.status().message();
  }
  auto garbage = UnpackCode(tmp.path(), "Fn", "g", "PK\x03\x04 this is no zip", "f.zip");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("f.zip"), std::string::npos) << garbage.status().message();
  // Nothing half-unpacked, nothing outside.
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path() + "/lambda/code/Fn", ec)) << ec.message();
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/lambda/code/up.py"));
}

}  // namespace
}  // namespace bucketd::runner
