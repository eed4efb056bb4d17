#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <thread>

#include "stages/delivery.h"
#include "stages/extract.h"
#include "tests/stages/stage_fixture.h"
#include "tools/archive_writer.h"
#include "tools/rar_writer.h"

namespace bucketd::stages {
namespace {

using nlohmann::json;

class ExtractTest : public StageTest {
 protected:
  // Puts an archive file into the store under DATA/RAW_DATA/ and returns its key.
  std::string Land(const std::string& file, const std::string& delivery) {
    std::string name = file.substr(file.find_last_of('/') + 1);
    std::string key = "DATA/RAW_DATA/" + delivery + "/" + name;
    EXPECT_TRUE(store_->PutObjectFromFile(kBucket, key, file).ok());
    return key;
  }
  Status Extract(const std::string& key, json extra = json::object()) {
    json in = {{"version", "0"},
               {"detail-type", "Object Created"},
               {"detail", {{"bucket", {{"name", kBucket}}}, {"object", {{"key", key}}}}}};
    for (auto& [k, v] : extra.items()) in[k] = v;
    auto ctx = Context(in);
    return ExtractStage(ctx);
  }
  // Lands and extracts every table of the generated delivery but `skip`.
  void ExtractDelivery(const std::string& delivery, const std::string& ext, const std::string& skip = "") {
    std::string stamp = *ParseDeliveryName(delivery);
    for (const auto& t : DeliveryTables()) {
      if (t.name == skip) continue;
      std::string file = tmp_ / "gen/out/" + delivery + "/" + t.name + "_M_" + stamp + "." + ext;
      Status s = Extract(Land(file, delivery));
      ASSERT_TRUE(s.ok()) << t.name << ": " << s.message();
    }
  }
  // A one-entry archive written by libarchive with whatever entry we like.
  std::string CraftZip(const std::string& name, const std::string& entry_path, const std::string& data,
                       int type = AE_IFREG, const char* link = nullptr) {
    std::string path = tmp_ / name;
    archive* a = archive_write_new();
    // zip for most; pax tar where an entry must be a device, which zip cannot hold
    if (name.ends_with(".tar")) {
      archive_write_set_format_pax_restricted(a);
    } else {
      archive_write_set_format_zip(a);
    }
    archive_write_open_filename(a, path.c_str());
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, entry_path.c_str());
    archive_entry_set_filetype(e, static_cast<unsigned>(type));
    archive_entry_set_perm(e, 0644);
    if (link) archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, type == AE_IFREG ? static_cast<la_int64_t>(data.size()) : 0);
    archive_write_header(a, e);
    if (type == AE_IFREG) archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    return path;
  }
  std::string Header(const std::string& table) {
    std::string h;
    for (const auto& c : FindTable(table)->columns) h += (h.empty() ? "" : "|") + c;
    return h + "\n";
  }
};

class ExtractFormatTest : public ExtractTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ExtractFormatTest, EveryTableIsUnpackedIntoBothLayoutsAndTheMarkerSaysWhat) {
  std::string format = GetParam();
  json summary = Generate(300, 1, format);
  std::string ext = format == std::string("rar4") ? "rar" : format;
  ExtractDelivery("UKLTD_M_20240101", ext);
  for (const auto& t : DeliveryTables()) {
    std::string archive = tmp_ / "gen/out/UKLTD_M_20240101/" + t.name + "_M_20240101." + ext;
    // A second reader, bsdtar (or unar for RAR), gives the same bytes.
    auto want = testing::Run({"/usr/bin/bsdtar", "-xOf", archive});
    ASSERT_EQ(want.exit_code, 0) << want.err;
    std::string unzip = "DATA/UNZIP_DATA/UKLTD_M_20240101/" + t.name + "/" + t.name + "_M_20240101.txt";
    EXPECT_EQ(Get(unzip), want.out) << t.name;
    std::string all = "DATA/UNZIP_DATA_APPEND_ALL/" + t.name + "/" + t.name + "_M_20240101.txt";
    EXPECT_EQ(Get(all), want.out);
    // Issue 16: one durable copy, under both keys, with one record.
    struct stat a, b;
    std::string objects = tmp_ / ("root/buckets/" + std::string(kBucket) + "/");
    ASSERT_EQ(::stat((objects + unzip).c_str(), &a), 0);
    ASSERT_EQ(::stat((objects + all).c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << t.name;
    auto ha = store_->HeadObject(kBucket, unzip), hb = store_->HeadObject(kBucket, all);
    ASSERT_TRUE(ha.ok() && hb.ok());
    EXPECT_EQ(ha->etag, hb->etag);
    EXPECT_EQ(hb->user_metadata, ha->user_metadata);
    EXPECT_EQ(hb->user_metadata.at("rows"), std::to_string(summary["deliveries"][0]["rows"][t.name].get<uint64_t>()));
  }
  json marker = json::parse(Get("LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json"));
  ASSERT_EQ(marker["tables"].size(), 11u);
  for (const auto& t : marker["tables"]) {
    EXPECT_EQ(t["rows"], summary["deliveries"][0]["rows"][t["table"].get<std::string>()]) << t.dump();
    EXPECT_EQ(t["md5"].get<std::string>().size(), 32u);
  }
  EXPECT_NE(Logs().find("every table extracted; wrote LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json"),
            std::string::npos) << Logs();
}

INSTANTIATE_TEST_SUITE_P(Formats, ExtractFormatTest, ::testing::Values("rar", "rar4", "zip", "7z", "tar.gz"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n == "tar.gz" ? std::string("targz") : n == "7z" ? std::string("sevenz") : n;
                         });

TEST_F(ExtractTest, OurRarFilesAreReadByUnarAsWell) {
  std::string text = Header("LUSC02") + "A|Agriculture, Forestry & Fishing\nC|O'Manufacturing\n";
  testing::WriteFile(tmp_ / "in.txt", text);
  for (auto [v, name] : {std::pair{tools::RarVersion::kRar4, "RAR"}, {tools::RarVersion::kRar5, "RAR 5"}}) {
    std::string rar = tmp_ / "t.rar";
    ASSERT_TRUE(tools::WriteStoredRar(v, tmp_ / "in.txt", "LUSC02_M_20240101.txt", 1704067200, rar).ok());
    auto list = testing::Run({"/usr/bin/lsar", "-t", rar});
    EXPECT_EQ(list.exit_code, 0) << list.out << list.err;
    EXPECT_NE(list.out.find(std::string(": ") + name + "\n"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("1 passed, 0 failed"), std::string::npos) << list.out;
    auto out = testing::Run({"/usr/bin/unar", "-q", "-f", "-o", tmp_ / "unar", rar});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(testing::ReadFile(tmp_ / "unar/LUSC02_M_20240101.txt"), text) << name;
  }
}

TEST_F(ExtractTest, ADeliveryWithATableMissingGetsNoMarkerAndTheLogSaysWhichTable) {
  Generate(100, 1, "zip");
  ExtractDelivery("UKLTD_M_20240101", "zip", "MR02");
  EXPECT_FALSE(Has("LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json"));
  EXPECT_NE(Logs().find("UKLTD_M_20240101: 10 of 11 tables extracted; no marker until MR02 is"),
            std::string::npos) << Logs();
  // The late table completes the delivery.
  ASSERT_TRUE(Extract(Land(tmp_ / "gen/out/UKLTD_M_20240101/MR02_M_20240101.zip", "UKLTD_M_20240101")).ok());
  EXPECT_TRUE(Has("LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json"));
}

TEST_F(ExtractTest, ACorruptArchiveFailsWithLibarchivesMessageAndLeavesNothing) {
  Generate(100, 1, "rar");
  std::string file = tmp_ / "gen/out/UKLTD_M_20240101/AC01_M_20240101.rar";
  std::string bytes = testing::ReadFile(file);
  // A damaged file header (its CRC no longer matches). libarchive does not
  // check the CRC32 of stored RAR data, so a flipped data byte would pass.
  bytes[40] ^= 0x55;
  testing::WriteFile(tmp_ / "AC01_M_20240101.rar", bytes);
  Status s = Extract(Land(tmp_ / "AC01_M_20240101.rar", "UKLTD_M_20240101"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("s3://creditsafedata/DATA/RAW_DATA/UKLTD_M_20240101/AC01_M_20240101.rar: "),
            std::string::npos) << s.message();
  EXPECT_TRUE(Keys("DATA/UNZIP_DATA").empty());

  // Cut short in the middle of the data: the put is abandoned.
  std::string whole = testing::ReadFile(file);
  testing::WriteFile(tmp_ / "AC01_M_20240101.rar", whole.substr(0, whole.size() / 2));
  s = Extract(Land(tmp_ / "AC01_M_20240101.rar", "UKLTD_M_20240101"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("AC01_M_20240101.rar: entry 1 \"AC01_M_20240101.txt\": "), std::string::npos)
      << s.message();
  EXPECT_TRUE(Keys("DATA/UNZIP_DATA").empty());

  testing::WriteFile(tmp_ / "CI01_M_20240101.tar.gz", std::string("\x1f\x8b\x08\x00garbage", 11));
  s = Extract(Land(tmp_ / "CI01_M_20240101.tar.gz", "UKLTD_M_20240101"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("CI01_M_20240101.tar.gz: "), std::string::npos) << s.message();
  EXPECT_TRUE(Keys("DATA/UNZIP_DATA").empty());
  EXPECT_TRUE(testing::ListDir(tmp_ / "root/.staging").empty()) << "a half-written put was left in staging";
}

// Issue 13, item 8: libarchive does not check the CRC32 of a stored RAR 5
// entry, so a flipped data byte extracted "successfully" as corrupted text.
TEST_F(ExtractTest, AByteFlippedInAStoredRar5EntryIsRefusedNamingTheEntryAsAPermanentError) {
  Generate(100, 1, "rar");
  std::string file = tmp_ / "gen/out/UKLTD_M_20240101/AC01_M_20240101.rar";
  std::string bytes = testing::ReadFile(file);
  size_t data = bytes.find(Header("AC01"));
  ASSERT_NE(data, std::string::npos) << "stored: the text is in the archive as it is";
  size_t flip = bytes.find('\n', data + Header("AC01").size() + 10) - 3;  // inside the first data row
  bytes[flip] = bytes[flip] == 'X' ? 'Y' : 'X';
  testing::WriteFile(tmp_ / "AC01_M_20240101.rar", bytes);
  auto bsdtar = testing::Run({"/usr/bin/bsdtar", "-xOf", tmp_ / "AC01_M_20240101.rar"});
  EXPECT_EQ(bsdtar.exit_code, 0) << "libarchive itself takes it: the check is ours";
  json in = {{"detail", {{"bucket", {{"name", kBucket}}},
                         {"object", {{"key", Land(tmp_ / "AC01_M_20240101.rar", "UKLTD_M_20240101")}}}}}};
  auto ctx = Context(in);
  Status s = ExtractStage(ctx);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("AC01_M_20240101.rar: entry 1 \"AC01_M_20240101.txt\": its data has CRC32 "),
            std::string::npos) << s.message();
  EXPECT_NE(s.message().find("(damaged archive)"), std::string::npos) << s.message();
  EXPECT_TRUE(ctx.permanent_failure) << "what the archive holds is the same at the next attempt";
  EXPECT_TRUE(Keys("DATA/UNZIP_DATA").empty());
  EXPECT_TRUE(testing::ListDir(tmp_ / "root/.staging").empty());
  // The undamaged archive passes the same check.
  EXPECT_TRUE(Extract(Land(file, "UKLTD_M_20240101")).ok());
}

TEST_F(ExtractTest, RefusalsArePermanentAndACancelledExtractionIsNot) {
  std::string body = Header("MR02");
  while (body.size() < (3u << 20)) body += "SC0000010001|HSBC INVOICE FINANCE (UK) LIMITED\n";
  std::string key = Land(CraftZip("MR02_M_20240101.zip", "MR02_M_20240101.txt", body), "UKLTD_M_20240101");
  json in = {{"detail", {{"bucket", {{"name", kBucket}}}, {"object", {{"key", key}}}}}, {"max_ratio", 2}};
  auto bomb = Context(in);
  ASSERT_FALSE(ExtractStage(bomb).ok());
  EXPECT_TRUE(bomb.permanent_failure);
  std::string slip = Land(CraftZip("CI01_M_20240101.zip", "../CI01_M_20240101.txt", Header("CI01")), "UKLTD_M_20240101");
  auto slipped = Context({{"detail", {{"bucket", {{"name", kBucket}}}, {"object", {{"key", slip}}}}}});
  ASSERT_FALSE(ExtractStage(slipped).ok());
  EXPECT_TRUE(slipped.permanent_failure);
  std::atomic<bool> cancelled{true};
  auto late = Context({{"detail", {{"bucket", {{"name", kBucket}}}, {"object", {{"key", key}}}}}});
  late.cancelled = &cancelled;
  Status s = ExtractStage(late);
  ASSERT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
  EXPECT_FALSE(late.permanent_failure) << "a deadline or a shutdown is no verdict on the archive";
}

TEST_F(ExtractTest, ZipSlipLinksAndDevicesAreRefusedNamingTheEntry) {
  std::string body = Header("CI01");
  struct Case {
    std::string entry;
    int type;
    const char* link;
    std::string why;
  } cases[] = {
      {"../../CI01_M_20240101.txt", AE_IFREG, nullptr, "its path leaves the folder (\"..\")"},
      {"/etc/CI01_M_20240101.txt", AE_IFREG, nullptr, "its path is absolute"},
      {"CI01_M_20240101.txt", AE_IFLNK, "/etc/passwd", "it is a symbolic link"},
      {"CI01_M_20240101.txt", AE_IFCHR, nullptr, "it is a device"},
  };
  for (const auto& c : cases) {
    std::string zip = CraftZip("CI01_M_20240101.tar", c.entry, body, c.type, c.link);
    Status s = Extract(Land(zip, "UKLTD_M_20240101"));
    ASSERT_FALSE(s.ok()) << c.entry;
    EXPECT_NE(s.message().find("entry 1 \"" + c.entry + "\" refused: " + c.why), std::string::npos)
        << s.message();
  }
  EXPECT_TRUE(Keys("DATA/").size() == 1u) << "only the archive itself";
  EXPECT_FALSE(testing::Exists(tmp_ / "root/buckets/CI01_M_20240101.txt"));
  EXPECT_FALSE(testing::Exists(tmp_ / "root/CI01_M_20240101.txt"));
}

// Issue 13, item 8: a zip holding the table's file twice was refused, but
// only after the first copy was published (and had fired its events).
TEST_F(ExtractTest, AnArchiveRefusedForALaterEntryPublishesNothing) {
  std::string path = tmp_ / "CI01_M_20240101.zip";
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_filename(a, path.c_str());
  std::string body = Header("CI01");
  for (int copy = 0; copy < 2; ++copy) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "CI01_M_20240101.txt");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
    archive_write_header(a, e);
    archive_write_data(a, body.data(), body.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  Status s = Extract(Land(path, "UKLTD_M_20240101"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("entry 2 \"CI01_M_20240101.txt\": CI01_M_20240101.txt appears twice"), std::string::npos)
      << s.message();
  EXPECT_TRUE(Keys("DATA/UNZIP_DATA").empty()) << "the first copy was published before the refusal";
}

TEST_F(ExtractTest, AnArchiveBombStopsAtTheLimitsWithAClearError) {
  std::string body = Header("MR02");
  while (body.size() < (6u << 20)) body += "SC0000010001|HSBC INVOICE FINANCE (UK) LIMITED\n";
  std::string zip = CraftZip("MR02_M_20240101.zip", "MR02_M_20240101.txt", body);
  std::string key = Land(zip, "UKLTD_M_20240101");
  Status s = Extract(key, {{"max_ratio", 2}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("refused as an archive bomb: it expands past 2097152 bytes, max_ratio 2 times"),
            std::string::npos) << s.message();
  s = Extract(key, {{"max_bytes", 1000000}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("refused as an archive bomb: it expands past max_bytes 1000000"), std::string::npos)
      << s.message();
  EXPECT_TRUE(Keys("DATA/UNZIP_DATA").empty());
  EXPECT_TRUE(Extract(key).ok()) << "within the default limits the same archive is fine";
}

TEST_F(ExtractTest, AWrongHeaderOrEntryNameOrKeyIsAClearError) {
  std::string zip = CraftZip("CI01_M_20240101.zip", "CI01_M_20240101.txt", "REG|NAME\n1|x\n");
  Status s = Extract(Land(zip, "UKLTD_M_20240101"));
  EXPECT_NE(s.message().find("line 1: expected the header \"REGNUMBER|COMPANYNAME|"), std::string::npos)
      << s.message();
  zip = CraftZip("CI01_M_20240101.zip", "notes.txt", Header("CI01"));
  s = Extract(Land(zip, "UKLTD_M_20240101"));
  EXPECT_NE(s.message().find("entry 1 \"notes.txt\" is not the table's file; expected CI01_M_20240101.txt"),
            std::string::npos) << s.message();
  s = Extract("DATA/RAW_DATA/2024/CI01_M_20240101.zip");
  EXPECT_NE(s.message().find("folder \"2024\" is not UKLTD_M_YYYYMM01; expected DATA/RAW_DATA/"),
            std::string::npos) << s.message();
  EXPECT_TRUE(Keys("DATA/UNZIP_DATA").empty());
}

TEST_F(ExtractTest, ExtractingTheSameArchiveAgainChangesNothing) {
  Generate(100, 1, "tar.gz");
  ExtractDelivery("UKLTD_M_20240101", "tar.gz");
  auto marker = store_->HeadObject(kBucket, "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json");
  auto ci01 = store_->HeadObject(kBucket, "DATA/UNZIP_DATA_APPEND_ALL/CI01/CI01_M_20240101.txt");
  ASSERT_TRUE(marker.ok() && ci01.ok());
  ASSERT_TRUE(Extract("DATA/RAW_DATA/UKLTD_M_20240101/CI01_M_20240101.tar.gz").ok());
  EXPECT_NE(Logs().find("CI01 of UKLTD_M_20240101 was already extracted from this archive"), std::string::npos);
  EXPECT_EQ(store_->HeadObject(kBucket, "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json")->last_modified,
            marker->last_modified);
  EXPECT_EQ(store_->HeadObject(kBucket, "DATA/UNZIP_DATA_APPEND_ALL/CI01/CI01_M_20240101.txt")->last_modified,
            ci01->last_modified);
}

TEST_F(ExtractTest, TwoInvocationsFinishingADeliveryAtOnceWriteOneMarker) {
  Generate(50, 2, "zip");
  for (std::string delivery : {"UKLTD_M_20240101", "UKLTD_M_20240201"}) {
    std::string stamp = *ParseDeliveryName(delivery);
    ExtractDelivery(delivery, "zip", "LUSC01");  // (LUSC02 also waits below)
    ASSERT_TRUE(store_->DeleteObject(kBucket, "DATA/UNZIP_DATA_APPEND_ALL/LUSC02/LUSC02_M_" + stamp + ".txt").ok());
    std::string a = Land(tmp_ / "gen/out/" + delivery + "/LUSC01_M_" + stamp + ".zip", delivery);
    std::string b = "DATA/RAW_DATA/" + delivery + "/LUSC02_M_" + stamp + ".zip";
    Status sa, sb;
    std::thread ta([&] { sa = Extract(a); });
    std::thread tb([&] { sb = Extract(b); });
    ta.join();
    tb.join();
    ASSERT_TRUE(sa.ok() && sb.ok()) << sa.message() << sb.message();
    std::string logs = Logs();
    std::string wrote = delivery + ": every table extracted; wrote";
    size_t first = logs.find(wrote);
    ASSERT_NE(first, std::string::npos) << logs;
    EXPECT_EQ(logs.find(wrote, first + 1), std::string::npos) << "two markers written:\n" << logs;
  }
}

}  // namespace
}  // namespace bucketd::stages
