#include "schema/columns.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "common/ip.h"
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

void json_escape(std::string_view s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
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

void message_json(const pb::Message& m, std::string& out, int depth);

// One element (index >= 0) or the single value (index < 0) of a field as JSON.
void value_json(const pb::Message& m, const pb::FieldDescriptor* f, int index, std::string& out,
                int depth) {
  const auto* r = m.GetReflection();
  bool rep = index >= 0;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      out += std::to_string(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      out += std::to_string(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      out += std::to_string(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      out += std::to_string(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      out += (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
      break;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      out += std::to_string(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      out += std::to_string(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      int v = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const auto* ev = f->enum_type()->FindValueByNumber(v);
      if (ev)
        json_escape(ev->name(), out);
      else
        out += std::to_string(v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s =
          rep ? r->GetRepeatedStringReference(m, f, index, &scratch) : r->GetStringReference(m, f, &scratch);
      if (f->type() == pb::FieldDescriptor::TYPE_STRING)
        json_escape(s, out);
      else
        json_escape(bytes_text(f, s), out);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const pb::Message& sub = rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      if (f->message_type()->full_name() == "google.protobuf.Timestamp")
        json_escape(format_rfc3339(timestamp_ns(sub)), out);
      else
        message_json(sub, out, depth + 1);
      break;
    }
  }
}

void message_json(const pb::Message& m, std::string& out, int depth) {
  if (depth > kMaxFlattenDepth * 2) {
    out += "null";
    return;
  }
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  out += '{';
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (!first) out += ',';
    first = false;
    json_escape(f->name(), out);
    out += ':';
    if (f->is_repeated()) {
      out += '[';
      int n = r->FieldSize(m, f);
      for (int j = 0; j < n; ++j) {
        if (j) out += ',';
        value_json(m, f, j, out, depth);
      }
      out += ']';
    } else {
      value_json(m, f, -1, out, depth);
    }
  }
  out += '}';
}

// A repeated or map field as JSON: maps become objects, the rest arrays.
std::string repeated_json(const pb::Message& m, const pb::FieldDescriptor* f) {
  const auto* r = m.GetReflection();
  std::string out;
  int n = r->FieldSize(m, f);
  if (f->is_map()) {
    out += '{';
    const auto* kf = f->message_type()->map_key();
    const auto* vf = f->message_type()->map_value();
    for (int j = 0; j < n; ++j) {
      const pb::Message& e = r->GetRepeatedMessage(m, f, j);
      if (j) out += ',';
      std::string key;
      value_json(e, kf, -1, key, 0);
      if (key.empty() || key[0] != '"') {
        std::string quoted;
        json_escape(key, quoted);
        key = quoted;
      }
      out += key;
      out += ':';
      value_json(e, vf, -1, out, 0);
    }
    out += '}';
    return out;
  }
  out += '[';
  for (int j = 0; j < n; ++j) {
    if (j) out += ',';
    value_json(m, f, j, out, 0);
  }
  out += ']';
  return out;
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
        if (f->is_repeated())
          out.emplace_back(repeated_json(*m, f));
        else if (refl->HasField(*m, f)) {
          std::string s;
          message_json(refl->GetMessage(*m, f), s, 0);
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
