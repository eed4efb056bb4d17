#include "stages/etl.h"

#include <fcntl.h>

#include "common/file_util.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/sqlite_db.h"
#include "stages/delivery.h"
#include "stages/delivery_loader.h"
#include "stages/seed_sql.h"
#include "stages/sql_script.h"
#include "stages/stage_input.h"

namespace bucketd::stages {
namespace {

using Clock = std::chrono::steady_clock;
int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

constexpr char kDeliveryMarkers[] = "LOGS_FTP_EXECUTION/";

Result<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("parameters file " + path + ": cannot read it");
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(path + ": not a JSON object (expected {\"queries\": [...], ...})");
  }
  return j;
}

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Stamps (YYYYMM01) of the complete deliveries up to `newest`, oldest first.
// With `landed`, when each one's marker was written.
Result<std::vector<std::string>> CompleteDeliveries(store::Store& store, const std::string& bucket,
                                                    const std::string& newest,
                                                    std::map<std::string, int64_t>* landed = nullptr) {
  std::vector<std::string> stamps;
  store::ListRequest req;
  req.prefix = std::string(kDeliveryMarkers) + "LOG_UKLTD_M_";
  for (;;) {
    ASSIGN_OR_RETURN(store::ListResult page, store.ListObjectsV2(bucket, req));
    for (const auto& o : page.contents) {
      std::string d = MarkerDate(o.key);
      if (!d.empty() && d <= newest) stamps.push_back(d);
      if (!d.empty() && landed != nullptr) (*landed)[d] = o.last_modified;
    }
    if (!page.is_truncated) break;
    req.continuation_token = page.next_continuation_token;
  }
  std::sort(stamps.begin(), stamps.end());
  return stamps;
}

// Stamps of the deliveries that have archives under DATA/RAW_DATA/ but no
// marker yet: still being extracted (or failed: their extract says why).
Result<std::vector<std::string>> PendingDeliveries(store::Store& store, const std::string& bucket,
                                                   const std::vector<std::string>& complete) {
  std::vector<std::string> pending;
  store::ListRequest req;
  req.prefix = "DATA/RAW_DATA/UKLTD_M_";
  req.delimiter = "/";
  for (;;) {
    ASSIGN_OR_RETURN(store::ListResult page, store.ListObjectsV2(bucket, req));
    for (const auto& p : page.common_prefixes) {
      std::string d = p.substr(req.prefix.size(), p.size() - req.prefix.size() - 1);
      if (d.size() == 8 && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
          !std::binary_search(complete.begin(), complete.end(), d)) {
        pending.push_back(d);
      }
    }
    if (!page.is_truncated) break;
    req.continuation_token = page.next_continuation_token;
  }
  std::sort(pending.begin(), pending.end());
  return pending;
}

std::string IsoDate(const std::string& stamp) {
  return stamp.substr(0, 4) + "-" + stamp.substr(4, 2) + "-" + stamp.substr(6, 2);
}

}  // namespace

Status EtlStage(runner::StageContext& ctx) {
  auto started = Clock::now();
  ASSIGN_OR_RETURN(MarkerRun run, StartFromMarker(ctx, kDeliveryMarkers, "LOG_UKLTD_M_YYYYMM01.json"));
  const nlohmann::json& in = run.input;
  std::string stamp = run.date;
  const std::string& bucket = run.marker.bucket;
  ASSIGN_OR_RETURN(bool rerun, BoolOption(in, "rerun", false));
  // Deliveries landing together (a stock fetch with its monthly files) each
  // fire the ETL, and their extracts may end in any order: one run, for the
  // newest, once every delivery before it is complete too — the marker that
  // completes the set starts it.
  std::map<std::string, int64_t> landed;
  ASSIGN_OR_RETURN(auto complete, CompleteDeliveries(*ctx.store, bucket, "99999999", &landed));
  if (!rerun) {
    const std::string newest = complete.empty() ? stamp : std::max(stamp, complete.back());
    ASSIGN_OR_RETURN(auto pending, PendingDeliveries(*ctx.store, bucket, complete));
    if (!pending.empty() && pending.front() < newest) {
      ctx.log("delivery " + pending.front() + " is still being extracted: its marker runs the ETL for " + newest +
              ", which includes " + stamp + "; skipping");
      return Status::OK();
    }
    if (newest != stamp) {
      // The newest's own run comes (or came) after it — unless it was
      // complete first, while this one was not: then that run skipped.
      if (landed[newest] > landed[stamp]) {
        ctx.log("delivery " + newest + " is complete too: its run includes " + stamp +
                "; skipping (\"rerun\": true runs it anyway)");
        return Status::OK();
      }
      ctx.log("delivery " + newest + " was complete before " + stamp + ": this is its run, and includes " + stamp);
      stamp = newest;
    }
  }
  const std::string out_marker = "LOGS_QUERY_EXECUTION/logs_tables_" + stamp + ".json";
  if (AlreadyDone(ctx, bucket, out_marker)) return Status::OK();
  std::string default_params = ctx.config_dir.empty() ? "" : ctx.config_dir + "/sql/parameters_ETL.json";
  ASSIGN_OR_RETURN(std::string params_path, StringOption(in, "parameters", default_params));
  if (params_path.empty()) {
    return Status::InvalidArgument("no parameters file: bucketd has no --config-dir and the input names no \"parameters\"");
  }
  ASSIGN_OR_RETURN(nlohmann::json params, ReadJsonFile(params_path));
  const std::string sql_dir = params_path.substr(0, params_path.find_last_of('/') == std::string::npos ? 0 : params_path.find_last_of('/'));
  if (!params.contains("queries") || !params["queries"].is_array()) {
    return Status::InvalidArgument(params_path + ": expected \"queries\": a list of SQL file names");
  }

  Fs& fs = ctx.store->env().fs();
  RETURN_IF_ERROR(MakeDirs(fs, ctx.state_dir + "/etl", 0700));
  const std::string db_path = ctx.state_dir + "/etl/etl_" + stamp + "_" + ctx.invocation_id + ".db";
  (void)fs.UnlinkAt(AT_FDCWD, db_path, false);
  struct Cleanup {
    Fs& fs;
    std::string path;
    ~Cleanup() { (void)fs.UnlinkAt(AT_FDCWD, path, false); }
  } cleanup{fs, db_path};
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open(db_path, false));
  // A scratch database: rebuilt from the store if anything goes wrong, so
  // no journal and no fsync.
  RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY; "
                           "PRAGMA cache_size=-262144;"));
  RETURN_IF_ERROR(RegisterSeedSqlFunctions(db->handle()));
  RETURN_IF_ERROR(CreateDeliveryTables(*db));

  // 1. deliveries
  ASSIGN_OR_RETURN(auto deliveries, CompleteDeliveries(*ctx.store, bucket, stamp));
  nlohmann::json loaded = nlohmann::json::object();
  auto load_started = Clock::now();
  for (size_t k = 0; k < deliveries.size(); ++k) {
    // kDurable leaves the scratch database's synchronous=OFF as it is.
    ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db));
    for (const auto& t : DeliveryTables()) {
      std::string key = "DATA/UNZIP_DATA_APPEND_ALL/" + t.name + "/" + TableFileName(t.name, deliveries[k]);
      ASSIGN_OR_RETURN(uint64_t rows, LoadDeliveryFile(*db, *ctx.store, bucket, key, t, static_cast<int>(k)));
      loaded[t.name] = loaded.value(t.name, uint64_t{0}) + rows;
    }
    RETURN_IF_ERROR(txn.Commit());
    if (ctx.cancelled && ctx.cancelled->load()) return Status::Cancelled("cancelled while loading");
  }
  int64_t load_ms = MsSince(load_started);
  ctx.log("loaded " + std::to_string(deliveries.size()) + " deliveries up to " + stamp + " in " +
          std::to_string(load_ms) + " ms");

  // 2. reference lists, parameters, queries
  if (params.contains("reference")) {
    for (auto& [table, file] : params["reference"].items()) {
      RETURN_IF_ERROR(LoadReferenceCsv(*db, table, sql_dir + "/" + file.get<std::string>()).status());
    }
  }
  RETURN_IF_ERROR(db->Exec("CREATE TABLE params (name TEXT PRIMARY KEY, value)"));
  {
    ASSIGN_OR_RETURN(SqliteStatement p, db->Prepare("INSERT INTO params VALUES (?, ?)"));
    RETURN_IF_ERROR(p.Bind(1, std::string_view("as_of")).Bind(2, std::string_view(IsoDate(stamp))).Run());
    for (const char* name : {"seed", "non_users_per_user"}) {
      p.Reset();
      int64_t fallback = std::string(name) == "seed" ? 42 : 3;
      RETURN_IF_ERROR(p.Bind(1, std::string_view(name)).Bind(2, params.value(name, fallback)).Run());
    }
  }
  nlohmann::json queries = nlohmann::json::array();
  for (const auto& q : params["queries"]) {
    std::string file = q.get<std::string>();
    ASSIGN_OR_RETURN(std::string sql, ReadText(sql_dir + "/" + file));
    ASSIGN_OR_RETURN(auto runs, RunSqlScript(*db, file, sql));
    for (const auto& r : runs) {
      queries.push_back({{"file", r.file}, {"line", r.line}, {"statement", r.head}, {"rows", r.rows},
                         {"duration_ms", r.duration_ms}});
    }
    if (ctx.cancelled && ctx.cancelled->load()) return Status::Cancelled("cancelled between queries");
  }

  // 3. exports, then the marker
  nlohmann::json tables = nlohmann::json::object();
  const nlohmann::json exports = params.value("exports", nlohmann::json::object());
  for (auto& [table, key_pattern] : exports.items()) {
    std::string key = key_pattern.get<std::string>();
    size_t at = key.find("{date}");
    if (at != std::string::npos) key.replace(at, 6, stamp);
    store::PutOptions put = ctx.PutOptions();
    put.content_type = "text/csv";
    ASSIGN_OR_RETURN(uint64_t rows, ExportCsv(*db, "SELECT * FROM " + table, *ctx.store, bucket, key, put));
    tables[table] = {{"key", key}, {"rows", rows}};
    ctx.log("exported " + table + ": " + std::to_string(rows) + " rows -> s3://" + bucket + "/" + key);
  }
  nlohmann::json log = {{"date", stamp},
                        {"as_of", IsoDate(stamp)},
                        {"deliveries", deliveries},
                        {"loaded_rows", loaded},
                        {"load_ms", load_ms},
                        {"queries", queries},
                        {"tables", tables},
                        {"duration_ms", MsSince(started)},
                        {"invocation_id", ctx.invocation_id}};
  ASSIGN_OR_RETURN(bool wrote, PutMarker(ctx, bucket, out_marker, log.dump(2) + "\n"));
  ctx.log(wrote ? "wrote " + out_marker : out_marker + " was already written");
  return Status::OK();
}

}  // namespace bucketd::stages
