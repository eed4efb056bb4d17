#include "events/trail_publisher.h"

#include <zlib.h>

#include <cstdio>
#include <ctime>

namespace bucketd::events {

std::string TrailFileKey(const std::string& prefix, const TrailIdentity& id,
                         const std::vector<TrailRecord>& records) {
  time_t secs = static_cast<time_t>(records.front().time_ns / 1000000000LL);
  struct tm t;
  gmtime_r(&secs, &t);
  char day[16], stamp[24], range[48];
  std::strftime(day, sizeof(day), "%Y/%m/%d", &t);
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%MZ", &t);
  std::snprintf(range, sizeof(range), "%s-%s", records.front().Sequencer().c_str(),
                records.back().Sequencer().c_str());
  return prefix + "AWSLogs/" + id.account + "/CloudTrail/" + id.region + "/" + day + "/" +
         id.account + "_CloudTrail_" + id.region + "_" + stamp + "_" + range + ".json.gz";
}

Result<std::string> Gzip(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::IOError("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::IOError("gzip: deflate did not finish");
  return out;
}

Result<std::string> Gunzip(std::string_view data) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::IOError("gunzip: inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[65536];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::Corruption(std::string("gunzip: ") + (zs.msg ? zs.msg : "bad data"));
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

Status PublishTrailFile(store::Store& store, const std::string& bucket, const std::string& prefix,
                        const TrailIdentity& id, const std::vector<TrailRecord>& records,
                        const std::vector<std::string>& rendered) {
  std::string file = "{\"Records\":[";
  for (size_t i = 0; i < rendered.size(); ++i) {
    if (i > 0) file.push_back(',');
    file += rendered[i];
  }
  file += "]}";
  ASSIGN_OR_RETURN(std::string gz, Gzip(file));
  store::PutOptions o;
  o.if_none_match = true;
  o.content_type = "application/gzip";
  auto put = store.PutObjectFromString(bucket, TrailFileKey(prefix, id, records), gz, o);
  if (put.ok() || put.status().code() == StatusCode::kPreconditionFailed) return Status::OK();
  return put.status();
}

}  // namespace bucketd::events
