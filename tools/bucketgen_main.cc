// bucketgen: writes credit-data deliveries as the bureau's SFTP server holds
// them (DATA.md), with a planted signal and its ground truth.
//
//   bucketgen --out DIR --companies N --months M --seed S [--format rar|zip|7z|tar.gz]
//
//   DIR/out/UKLTD_M_YYYYMM01/<TABLE>_M_YYYYMM01.<ext>   what the SFTP server serves
//   DIR/ground_truth.csv    REGNUMBER,ACCOUNTSDATE,PROBABILITY for every delivered sheet
//   DIR/summary.json        rows per table and delivery, users, the true probabilities' AUC
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "stages/delivery.h"
#include "tools/archive_writer.h"
#include "tools/civil_date.h"
#include "tools/credit_model.h"
#include "tools/delivery_writer.h"

namespace fs = std::filesystem;
using namespace bucketd;
using namespace bucketd::tools;

namespace {

// The stock is dated 1 January 2024, every later delivery a month on.
constexpr int kStockYear = 2024;

Status Generate(const std::string& dir, uint64_t companies, int months, uint64_t seed,
                ArchiveFormat format) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string work = dir + "/.work", out = dir + "/out";
  fs::remove_all(work, ec);
  fs::remove_all(out, ec);
  if (!fs::create_directories(work, ec) || !fs::create_directories(out, ec)) {
    return Status::IOError("cannot create " + work + " and " + out + ": " + ec.message());
  }
  Calendar cal{MonthIndex(kStockYear, 1), months};
  ASSIGN_OR_RETURN(auto writer, DeliveryWriter::Create(work, dir + "/ground_truth.csv", cal));
  for (uint64_t i = 0; i < companies; ++i) writer->Add(SimulateCompany(seed, i, cal));
  RETURN_IF_ERROR(writer->Finish());

  const auto& tables = stages::DeliveryTables();
  nlohmann::json summary;
  summary["companies"] = companies;
  summary["deliveries"] = nlohmann::json::array();
  for (int k = 0; k < months; ++k) {
    std::string stamp = FormatMonthStamp(cal.stock_month + k);
    std::string delivery_dir = out + "/" + stages::DeliveryName(stamp);
    fs::create_directories(delivery_dir, ec);
    int64_t mtime = FirstDayOfMonth(cal.stock_month + k) * 86400;
    nlohmann::json rows;
    for (size_t t = 0; t < tables.size(); ++t) {
      std::string text = writer->TextPath(k, t);
      std::string name = stages::TableFileName(tables[t].name, stamp);
      std::string archive = delivery_dir + "/" + tables[t].name + "_M_" + stamp + "." + ArchiveExtension(format);
      // Under a temporary name until complete: a reader of out/ (an SFTP
      // client) never sees half an archive.
      RETURN_IF_ERROR(WriteSingleFileArchive(format, text, name, mtime, archive + ".part"));
      fs::rename(archive + ".part", archive, ec);
      if (ec) return Status::IOError("cannot rename " + archive + ".part: " + ec.message());
      fs::remove(text, ec);
      rows[tables[t].name] = writer->stats().rows[static_cast<size_t>(k)][t];
    }
    summary["deliveries"].push_back({{"name", stages::DeliveryName(stamp)}, {"rows", rows}});
  }
  fs::remove_all(work, ec);
  const auto& st = writer->stats();
  summary["users"] = st.users;
  summary["sheets"] = st.sheets;
  summary["training_sheets"] = {{"positives", st.training_sheets.positives()},
                                {"negatives", st.training_sheets.negatives()},
                                {"true_probability_auc", st.training_sheets.Auc()}};
  std::ofstream(dir + "/summary.json") << summary.dump(2) << "\n";
  std::cout << summary.dump(2) << std::endl;
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bucketgen: generates credit-data deliveries with a planted signal (DATA.md)"};
  std::string out, format_name = "rar";
  uint64_t companies = 20000, seed = 1;
  int months = 3;
  app.add_option("--out", out, "output directory (deliveries under DIR/out/)")->required();
  app.add_option("--companies", companies, "number of companies")->check(CLI::PositiveNumber);
  app.add_option("--months", months, "number of deliveries, the stock included")->check(CLI::Range(1, 240));
  app.add_option("--seed", seed, "random seed: the same arguments give the same bytes");
  app.add_option("--format", format_name, "archive format: rar (RAR 5), rar4, zip, 7z, tar.gz");
  CLI11_PARSE(app, argc, argv);
  auto format = ParseArchiveFormat(format_name);
  if (!format.ok()) {
    std::cerr << "bucketgen: " << format.status().message() << "\n";
    return 2;
  }
  Status s = Generate(out, companies, months, seed, *format);
  if (!s.ok()) {
    std::cerr << "bucketgen: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
