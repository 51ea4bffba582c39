// The column model: every event type of `tapir.v1.Event` as a flat table,
// derived from the proto descriptors so that storage, the query API, the
// OpenAPI document and the UI never list fields by hand.
//
// Flattening rules: nested messages are joined with `_` (src.port ->
// `src_port`); google.protobuf.Timestamp is one int64 column of nanoseconds
// since the epoch; repeated and map fields are one JSON text column; bytes
// with a (tapir.v1.format) option are text (IP, MAC, hex); enums are numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

namespace tapir::schema {

enum class ColType {
  kInt,        // signed integer
  kUint,       // unsigned integer (stored as SQLite INTEGER, i.e. int64)
  kBool,       // 0/1
  kDouble,     // float/double
  kText,       // string
  kTimestamp,  // int64 ns since the epoch, NULL when unset; RFC 3339 in the API
  kIp,         // canonical IP text (dotted quad / RFC 5952)
  kMac,        // lower-case colon-separated MAC text
  kHex,        // lower-case hex text
  kBytes,      // bytes without a format: hex text as well
  kEnum,       // enum number; shown by name in the API
  kJson,       // repeated or map field as JSON text
};

// Name of a column type as used in the schema document ("integer", "ip" ...).
const char* col_type_name(ColType t);
// SQLite declared type for a column type.
const char* col_sql_type(ColType t);

// What produces a column's value.
enum class ColSource { kField, kId, kAgentId, kIngestTs };

struct Column {
  std::string name;
  ColType type = ColType::kText;
  ColSource source = ColSource::kField;
  std::string description;
  // Fields from the event message down to the leaf (empty for extra columns).
  std::vector<const google::protobuf::FieldDescriptor*> path;
  const google::protobuf::EnumDescriptor* enum_type = nullptr;  // kEnum, or kJson of enums
};

// A stored value, in SQLite's own type system.
using Value = std::variant<std::monostate, int64_t, double, std::string>;

struct Resource {
  std::string name;  // the Event oneof member name: flow, dns ...; "rejects"
  const google::protobuf::Descriptor* message = nullptr;
  // The member of tapir.v1.Event; null for the collector's own records
  // (rejects), which agents cannot send.
  const google::protobuf::FieldDescriptor* event_field = nullptr;
  std::string description;
  std::vector<Column> columns;  // id, agent_id, ingest_ts first, then the fields

  const Column* find(std::string_view column) const;
  int index_of(std::string_view column) const;  // -1 if unknown
};

// Number of extra columns (id, agent_id, ingest_ts) before the event fields.
constexpr int kExtraColumns = 3;

class Model {
 public:
  // The model for the compiled-in tapir.v1 events (built once, thread-safe).
  static const Model& get();

  // The event types, in tapir.v1.Event order, then the collector's records.
  const std::vector<Resource>& resources() const { return resources_; }
  const Resource* find(std::string_view name) const;
  // The event type with this tapir.v1.Event field number; null if none.
  const Resource* find(int event_field_number) const;
  // What the collector refused to store as events (tapir.v1.Reject).
  const Resource& rejects() const { return resources_.back(); }

  // Values of the field columns (not the extra columns) of one event body,
  // appended to `out` in column order.
  static void extract(const Resource& r, const google::protobuf::Message& body,
                      std::vector<Value>& out);

 private:
  Model();
  std::vector<Resource> resources_;
};

// Text forms used by storage and the API.
std::string hex_encode(std::string_view raw);

}  // namespace tapir::schema
