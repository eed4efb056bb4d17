// The shape of a credit-data delivery (../shared/DATA.md): which tables it
// holds, their columns, and the names of its folders and files. Shared by the
// generator (tools/), the extract stage and the ETL.
#ifndef BUCKETD_STAGES_DELIVERY_H_
#define BUCKETD_STAGES_DELIVERY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bucketd::stages {

struct TableSpec {
  std::string name;  // "CI01"
  std::vector<std::string> columns;
  bool lookup = false;  // complete in the stock, header-only afterwards
};

// The eleven tables of DATA.md, in its order.
const std::vector<TableSpec>& DeliveryTables();
const TableSpec* FindTable(std::string_view name);

// "UKLTD_M_20240101"
std::string DeliveryName(std::string_view stamp);
// "CI01_M_20240101.txt"
std::string TableFileName(std::string_view table, std::string_view stamp);

// The parts of a delivery file or archive name "<TABLE>_M_YYYYMM01.<ext>".
struct DeliveryFileName {
  std::string table;  // "CI01"
  std::string stamp;  // "20240101"
  std::string ext;    // "rar", "tar.gz", "txt"
};
std::optional<DeliveryFileName> ParseDeliveryFileName(std::string_view file_name);
// "UKLTD_M_YYYYMM01" -> "YYYYMM01"
std::optional<std::string> ParseDeliveryName(std::string_view name);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_DELIVERY_H_
