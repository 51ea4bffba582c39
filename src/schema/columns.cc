#include "schema/columns.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "common/ip.h"
#include "schema/json.h"
#include "common/time.h"
#include "tapir/v1/events.pb.h"
#include "tapir/v1/options.pb.h"
#include "tapir/v1/reject.pb.h"

extern const unsigned char tapir_events_descriptor_set[];
extern const std::size_t tapir_events_descriptor_set_size;

namespace tapir::schema {
namespace pb = google::protobuf;

namespace {

// Nested messages deeper than this are stored as JSON rather than flattened;
// the events nest at most two levels (Flow.src.ip) and a bound keeps a
// recursive proto from looping.
constexpr int kMaxFlattenDepth = 4;

// The descriptor pool parsed from the embedded descriptor set: it carries the
// source comments that the compiled-in pool lacks.
class CommentPool {
 public:
  CommentPool() {
    pb::FileDescriptorSet set;
    if (!set.ParseFromArray(tapir_events_descriptor_set,
                            static_cast<int>(tapir_events_descriptor_set_size)))
      throw std::runtime_error("embedded descriptor set is corrupt");
    for (const auto& f : set.file()) pool_.BuildFile(f);
  }
  std::string field(const pb::FieldDescriptor* f) const {
    const auto* d = pool_.FindFieldByName(f->full_name());
    return d ? comment(d) : std::string();
  }
  std::string message(const pb::Descriptor* m) const {
    const auto* d = pool_.FindMessageTypeByName(m->full_name());
    return d ? comment(d) : std::string();
  }

 private:
  template <typename D>
  static std::string comment(const D* d) {
    pb::SourceLocation loc;
    if (!d->GetSourceLocation(&loc)) return {};
    std::string s = loc.leading_comments;
    // Proto comments keep a leading space per line and a trailing newline.
    std::string out;
    bool line_start = true;
    for (char c : s) {
      if (line_start && c == ' ') {
        line_start = false;
        continue;
      }
      line_start = false;
      if (c == '\n') {
        out += ' ';
        line_start = true;
        continue;
      }
      out += c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }
  pb::DescriptorPool pool_;
};

ColType leaf_type(const pb::FieldDescriptor* f) {
  if (f->is_repeated()) return ColType::kJson;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return ColType::kInt;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return ColType::kUint;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return ColType::kBool;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return ColType::kDouble;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return ColType::kEnum;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      if (f->type() == pb::FieldDescriptor::TYPE_STRING) return ColType::kText;
      switch (f->options().GetExtension(v1::format)) {
        case v1::FORMAT_IP:
          return ColType::kIp;
        case v1::FORMAT_MAC:
          return ColType::kMac;
        case v1::FORMAT_HEX:
          return ColType::kHex;
        default:
          return ColType::kBytes;
      }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      if (f->message_type()->full_name() == "google.protobuf.Timestamp") return ColType::kTimestamp;
      return ColType::kJson;
  }
  return ColType::kText;
}

void add_columns(const CommentPool& comments, const pb::Descriptor* m, const std::string& prefix,
                 const std::string& parent_desc,
                 std::vector<const pb::FieldDescriptor*>& path, std::vector<Column>& out,
                 int depth) {
  for (int i = 0; i < m->field_count(); ++i) {
    const auto* f = m->field(i);
    path.push_back(f);
    std::string name = prefix.empty() ? f->name() : prefix + "_" + f->name();
    // A field named like an extra column (Agent.agent_id) is the same fact;
    // the extra column, filled from the authenticated stream, wins.
    bool taken = false;
    for (const auto& c : out) taken |= c.source != ColSource::kField && c.name == name;
    if (taken) {
      path.pop_back();
      continue;
    }
    std::string desc = comments.field(f);
    if (!parent_desc.empty()) desc = parent_desc + " " + desc;
    bool flatten = !f->is_repeated() && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
                   f->message_type()->full_name() != "google.protobuf.Timestamp" &&
                   depth < kMaxFlattenDepth;
    if (flatten) {
      std::string p = comments.field(f);
      while (!p.empty() && (p.back() == '.' || p.back() == ' ')) p.pop_back();
      add_columns(comments, f->message_type(), name, p.empty() ? p : p + ":", path, out,
                  depth + 1);
    } else {
      Column c;
      c.name = name;
      c.type = leaf_type(f);
      c.description = desc;
      c.path = path;
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM) c.enum_type = f->enum_type();
      out.push_back(std::move(c));
    }
    path.pop_back();
  }
}

std::string bytes_text(const pb::FieldDescriptor* f, const std::string& raw) {
  switch (f->options().GetExtension(v1::format)) {
    case v1::FORMAT_IP:
      return ip_bytes_to_string(raw);
    case v1::FORMAT_MAC:
      return mac_bytes_to_string(raw);
    default:
      return hex_encode(raw);
  }
}

int64_t timestamp_ns(const pb::Message& ts) {
  const auto* r = ts.GetReflection();
  const auto* d = ts.GetDescriptor();
  int64_t sec = r->GetInt64(ts, d->FindFieldByNumber(1));
  int32_t nanos = r->GetInt32(ts, d->FindFieldByNumber(2));
  return sec * kNsPerSec + nanos;
}

}  // namespace

const char* col_type_name(ColType t) {
  switch (t) {
    case ColType::kInt:
      return "integer";
    case ColType::kUint:
      return "unsigned";
    case ColType::kBool:
      return "boolean";
    case ColType::kDouble:
      return "number";
    case ColType::kText:
      return "string";
    case ColType::kTimestamp:
      return "timestamp";
    case ColType::kIp:
      return "ip";
    case ColType::kMac:
      return "mac";
    case ColType::kHex:
      return "hex";
    case ColType::kBytes:
      return "bytes";
    case ColType::kEnum:
      return "enum";
    case ColType::kJson:
      return "json";
  }
  return "string";
}

const char* col_sql_type(ColType t) {
  switch (t) {
    case ColType::kInt:
    case ColType::kUint:
    case ColType::kBool:
    case ColType::kTimestamp:
    case ColType::kEnum:
      return "INTEGER";
    case ColType::kDouble:
      return "REAL";
    default:
      return "TEXT";
  }
}

std::string hex_encode(std::string_view raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

const Column* Resource::find(std::string_view column) const {
  int i = index_of(column);
  return i < 0 ? nullptr : &columns[static_cast<size_t>(i)];
}

int Resource::index_of(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == column) return static_cast<int>(i);
  return -1;
}

namespace {
void add_extra_columns(std::vector<Column>& columns) {
  columns.push_back({"id", ColType::kInt, ColSource::kId,
                     "Row id assigned by the store (increasing with insertion).", {}, nullptr});
  columns.push_back({"agent_id", ColType::kText, ColSource::kAgentId,
                     "Agent that reported the event (its certificate common name).", {}, nullptr});
  columns.push_back({"ingest_ts", ColType::kTimestamp, ColSource::kIngestTs,
                     "Time the collector stored the event.", {}, nullptr});
}
}  // namespace

const Model& Model::get() {
  static const Model* model = new Model();
  return *model;
}

Model::Model() {
  CommentPool comments;
  const auto* event = v1::Event::descriptor();
  const auto* oneof = event->FindOneofByName("body");
  for (int i = 0; i < oneof->field_count(); ++i) {
    const auto* f = oneof->field(i);
    Resource r;
    r.name = f->name();
    r.message = f->message_type();
    r.event_field = f;
    r.description = comments.message(f->message_type());
    add_extra_columns(r.columns);
    std::vector<const pb::FieldDescriptor*> path;
    add_columns(comments, r.message, "", "", path, r.columns, 0);
    resources_.push_back(std::move(r));
  }
  // Last, so that rejects() finds it: not an Event member, agents cannot send one.
  Resource rej;
  rej.name = "rejects";
  rej.message = v1::Reject::descriptor();
  rej.description = comments.message(rej.message);
  add_extra_columns(rej.columns);
  std::vector<const pb::FieldDescriptor*> path;
  add_columns(comments, rej.message, "", "", path, rej.columns, 0);
  resources_.push_back(std::move(rej));
}

const Resource* Model::find(std::string_view name) const {
  for (const auto& r : resources_)
    if (r.name == name) return &r;
  return nullptr;
}

const Resource* Model::find(int event_field_number) const {
  for (const auto& r : resources_)
    if (r.event_field && r.event_field->number() == event_field_number) return &r;
  return nullptr;
}

void Model::extract(const Resource& r, const pb::Message& body, std::vector<Value>& out) {
  for (size_t ci = kExtraColumns; ci < r.columns.size(); ++ci) {
    const Column& c = r.columns[ci];
    const pb::Message* m = &body;
    // Walk down to the message holding the leaf; an unset parent yields the
    // default instance, so flattened fields read as their defaults.
    for (size_t i = 0; i + 1 < c.path.size(); ++i)
      m = &m->GetReflection()->GetMessage(*m, c.path[i]);
    const auto* f = c.path.back();
    const auto* refl = m->GetReflection();
    switch (c.type) {
      case ColType::kJson:
        // The one JSON writer (schema/json.h), as `tapir decode` uses it.
        if (f->is_repeated() || refl->HasField(*m, f)) {
          std::string s;
          append_field_json(*m, f, s);
          out.emplace_back(std::move(s));
        } else {
          out.emplace_back(std::monostate{});
        }
        break;
      case ColType::kTimestamp:
        if (refl->HasField(*m, f))
          out.emplace_back(timestamp_ns(refl->GetMessage(*m, f)));
        else
          out.emplace_back(std::monostate{});
        break;
      case ColType::kInt:
        out.emplace_back(f->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32
                             ? static_cast<int64_t>(refl->GetInt32(*m, f))
                             : refl->GetInt64(*m, f));
        break;
      case ColType::kUint:
        out.emplace_back(f->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT32
                             ? static_cast<int64_t>(refl->GetUInt32(*m, f))
                             : static_cast<int64_t>(refl->GetUInt64(*m, f)));
        break;
      case ColType::kBool:
        out.emplace_back(static_cast<int64_t>(refl->GetBool(*m, f) ? 1 : 0));
        break;
      case ColType::kDouble:
        out.emplace_back(f->cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT
                             ? static_cast<double>(refl->GetFloat(*m, f))
                             : refl->GetDouble(*m, f));
        break;
      case ColType::kEnum:
        out.emplace_back(static_cast<int64_t>(refl->GetEnumValue(*m, f)));
        break;
      case ColType::kText:
        out.emplace_back(refl->GetString(*m, f));
        break;
      case ColType::kIp:
      case ColType::kMac:
      case ColType::kHex:
      case ColType::kBytes: {
        std::string raw = refl->GetString(*m, f);
        if (raw.empty())
          out.emplace_back(std::monostate{});
        else
          out.emplace_back(bytes_text(f, raw));
        break;
      }
    }
  }
}

}  // namespace tapir::schema
