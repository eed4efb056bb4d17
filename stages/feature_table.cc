#include "stages/feature_table.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace bucketd::stages {
namespace {

bool ParseFloat(const std::string& s, float* out) {
  if (s.empty()) {
    *out = std::numeric_limits<float>::quiet_NaN();
    return true;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  *out = static_cast<float>(v);
  return true;
}

}  // namespace

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

Result<FeatureTable> ReadFeatureTable(store::Store& store, const std::string& bucket, const std::string& key,
                                      const std::set<std::string>& exclude, const std::vector<std::string>* wanted) {
  store::StringSink sink;
  RETURN_IF_ERROR(store.GetObject(bucket, key, sink).status());
  FeatureTable t;
  size_t at = 0, line_no = 0;
  while (at < sink.data().size()) {
    size_t nl = sink.data().find('\n', at);
    if (nl == std::string::npos) nl = sink.data().size();
    std::string line = sink.data().substr(at, nl - at);
    at = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    if (t.columns.empty()) {
      t.columns = SplitCsvLine(line);
      continue;
    }
    t.lines.push_back(std::move(line));
  }
  sink.data().clear();
  sink.data().shrink_to_fit();
  auto index_of = [&](const std::string& name) -> int {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (t.columns[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  int reg = index_of("REGNUMBER"), date = index_of("ACCOUNTSDATE"), label = index_of("LABEL");
  if (reg < 0 || date < 0) return Status::InvalidArgument(key + ": expected columns REGNUMBER and ACCOUNTSDATE");
  // Which columns are numeric everywhere (a first pass), unless named.
  std::vector<char> numeric(t.columns.size(), 1);
  for (size_t r = 0; r < t.rows(); ++r) {
    auto fields = SplitCsvLine(t.lines[r]);
    if (fields.size() != t.columns.size()) {
      return Status::InvalidArgument(key + ": row " + std::to_string(r + 2) + ": expected " +
                                     std::to_string(t.columns.size()) + " fields, found " + std::to_string(fields.size()));
    }
    float v;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (numeric[i] && !ParseFloat(fields[i], &v)) numeric[i] = 0;
    }
  }
  std::vector<int> cols;
  if (wanted) {
    for (const auto& name : *wanted) {
      int i = index_of(name);
      if (i < 0) return Status::InvalidArgument(key + ": has no column " + name + ", which the model was trained on");
      cols.push_back(i);
      t.features.push_back(name);
    }
  } else {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      int ii = static_cast<int>(i);
      if (exclude.count(t.columns[i]) || ii == reg || ii == date || ii == label || !numeric[i]) continue;
      cols.push_back(ii);
      t.features.push_back(t.columns[i]);
    }
  }
  t.matrix.resize(t.rows() * cols.size());
  for (size_t r = 0; r < t.rows(); ++r) {
    auto row = SplitCsvLine(t.lines[r]);
    t.regnumber.push_back(row[static_cast<size_t>(reg)]);
    t.accounts_date.push_back(row[static_cast<size_t>(date)]);
    if (label >= 0) {
      float v = 0;
      if (!ParseFloat(row[static_cast<size_t>(label)], &v) || std::isnan(v)) {
        return Status::InvalidArgument(key + ": row " + std::to_string(r + 2) + ": LABEL must be 0 or 1");
      }
      t.label.push_back(v);
    }
    for (size_t c = 0; c < cols.size(); ++c) {
      float v;
      if (!ParseFloat(row[static_cast<size_t>(cols[c])], &v)) {
        return Status::InvalidArgument(key + ": row " + std::to_string(r + 2) + ": column " + t.features[c] +
                                       ": expected a number, found \"" + row[static_cast<size_t>(cols[c])] + "\"");
      }
      t.matrix[r * cols.size() + c] = v;
    }
  }
  return t;
}

}  // namespace bucketd::stages
