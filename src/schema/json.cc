#include "schema/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "common/ip.h"
#include "common/text.h"
#include "common/time.h"
#include "tapir/v1/options.pb.h"

namespace tapir::schema {

namespace pb = google::protobuf;

namespace {

// Nesting the writer follows before writing null: Tapir's events are three
// levels deep; the bound only protects against a hostile recursive schema.
constexpr int kMaxDepth = 32;

constexpr char kHexDigits[] = "0123456789abcdef";

template <class T>
void append_number(T v, std::string& out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

template <class T>
void append_float(T v, std::string& out) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    append_number(v, out);
  }
}

void append_hex(std::string_view raw, std::string& out) {
  for (char ch : raw) {
    const auto c = static_cast<uint8_t>(ch);
    out += kHexDigits[c >> 4];
    out += kHexDigits[c & 0xf];
  }
}

// IPv4 and MAC text are written here directly: they are in nearly every
// event, and printf-style formatting was a tenth of a decode's CPU time.
void append_ipv4(const uint8_t* p, std::string& out) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out += '.';
    append_number(static_cast<unsigned>(p[i]), out);
  }
}

void append_mac(const uint8_t* p, std::string& out) {
  for (int i = 0; i < 6; ++i) {
    if (i > 0) out += ':';
    out += kHexDigits[p[i] >> 4];
    out += kHexDigits[p[i] & 0xf];
  }
}

// The (tapir.v1.format) option of a bytes field. Reading an extension is a
// lookup in the options' extension set; events repeat the same few fields, so
// the answer is remembered per field (descriptors live as long as the process).
v1::Format field_format(const pb::FieldDescriptor* fd) {
  thread_local std::unordered_map<const pb::FieldDescriptor*, v1::Format> cache;
  auto it = cache.find(fd);
  if (it != cache.end()) return it->second;
  const auto fmt = fd->options().GetExtension(v1::format);
  cache.emplace(fd, fmt);
  return fmt;
}

void append_bytes(const pb::FieldDescriptor* fd, const std::string& raw, std::string& out) {
  const auto fmt = field_format(fd);
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  out += '"';
  if (fmt == v1::FORMAT_IP && raw.size() == 4) {
    append_ipv4(p, out);
  } else if (fmt == v1::FORMAT_IP && raw.size() == 16) {
    out += ip_bytes_to_string(raw);
  } else if (fmt == v1::FORMAT_MAC && raw.size() == 6) {
    append_mac(p, out);
  } else {
    append_hex(raw, out);  // FORMAT_HEX, no format, or an address of the wrong length
  }
  out += '"';
}

void append_message(const pb::Message& msg, std::string& out, int depth);

TimeNs timestamp_ns(const pb::Message& ts) {
  // Events are generated messages: read the Timestamp directly; reflection
  // only for a dynamic message.
  if (const auto* t = dynamic_cast<const pb::Timestamp*>(&ts)) return t->seconds() * kNsPerSec + t->nanos();
  const auto* d = ts.GetDescriptor();
  const auto* r = ts.GetReflection();
  return r->GetInt64(ts, d->FindFieldByNumber(1)) * kNsPerSec +
         r->GetInt32(ts, d->FindFieldByNumber(2));
}

void append_sub_message(const pb::Message& m, std::string& out, int depth) {
  static const pb::Descriptor* const kTimestamp = pb::Timestamp::descriptor();
  if (m.GetDescriptor() == kTimestamp) {
    out += '"';
    append_rfc3339(timestamp_ns(m), out);
    out += '"';
    return;
  }
  append_message(m, out, depth + 1);
}

void append_enum(const pb::EnumValueDescriptor* ev, int number, std::string& out) {
  if (ev != nullptr) {
    out += '"';
    out += ev->name();
    out += '"';
  } else {
    append_number(number, out);  // a value this build does not know
  }
}

// One value of `fd`: the single value, or element `index` of a repeated field.
void append_value(const pb::Message& msg, const pb::Reflection* r, const pb::FieldDescriptor* fd,
                  int index, std::string& out, int depth) {
  const bool rep = fd->is_repeated();
  using FD = pb::FieldDescriptor;
  switch (fd->cpp_type()) {
    case FD::CPPTYPE_INT32:
      append_number(rep ? r->GetRepeatedInt32(msg, fd, index) : r->GetInt32(msg, fd), out);
      break;
    case FD::CPPTYPE_INT64:
      append_number(rep ? r->GetRepeatedInt64(msg, fd, index) : r->GetInt64(msg, fd), out);
      break;
    case FD::CPPTYPE_UINT32:
      append_number(rep ? r->GetRepeatedUInt32(msg, fd, index) : r->GetUInt32(msg, fd), out);
      break;
    case FD::CPPTYPE_UINT64:
      append_number(rep ? r->GetRepeatedUInt64(msg, fd, index) : r->GetUInt64(msg, fd), out);
      break;
    case FD::CPPTYPE_DOUBLE:
      append_float(rep ? r->GetRepeatedDouble(msg, fd, index) : r->GetDouble(msg, fd), out);
      break;
    case FD::CPPTYPE_FLOAT:
      append_float(rep ? r->GetRepeatedFloat(msg, fd, index) : r->GetFloat(msg, fd), out);
      break;
    case FD::CPPTYPE_BOOL:
      out += (rep ? r->GetRepeatedBool(msg, fd, index) : r->GetBool(msg, fd)) ? "true" : "false";
      break;
    case FD::CPPTYPE_ENUM: {
      const int n = rep ? r->GetRepeatedEnumValue(msg, fd, index) : r->GetEnumValue(msg, fd);
      append_enum(fd->enum_type()->FindValueByNumber(n), n, out);
      break;
    }
    case FD::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(msg, fd, index, &scratch)
                                 : r->GetStringReference(msg, fd, &scratch);
      if (fd->type() == FD::TYPE_BYTES) {
        append_bytes(fd, s, out);
      } else {
        append_json_string(s, out);
      }
      break;
    }
    case FD::CPPTYPE_MESSAGE:
      if (depth >= kMaxDepth) {
        out += "null";
      } else {
        append_sub_message(rep ? r->GetRepeatedMessage(msg, fd, index) : r->GetMessage(msg, fd),
                           out, depth);
      }
      break;
  }
}

// A map field as a JSON object: keys are always strings in the mapping.
void append_map(const pb::Message& msg, const pb::FieldDescriptor* fd, std::string& out,
                int depth) {
  const auto* r = msg.GetReflection();
  const int n = r->FieldSize(msg, fd);
  const auto* key_fd = fd->message_type()->map_key();
  const auto* val_fd = fd->message_type()->map_value();
  out += '{';
  for (int i = 0; i < n; ++i) {
    const pb::Message& entry = r->GetRepeatedMessage(msg, fd, i);
    if (i > 0) out += ',';
    std::string key;
    const auto* er = entry.GetReflection();
    append_value(entry, er, key_fd, -1, key, depth);
    if (key_fd->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      out += key;
    } else {
      out += '"';
      out += key;
      out += '"';
    }
    out += ':';
    append_value(entry, er, val_fd, -1, out, depth);
  }
  out += '}';
}

// A field's whole value: an object for a map, an array for a repeated field.
void append_field(const pb::Message& msg, const pb::Reflection* r, const pb::FieldDescriptor* fd,
                  std::string& out, int depth) {
  if (fd->is_map()) {
    append_map(msg, fd, out, depth);
  } else if (fd->is_repeated()) {
    const int n = r->FieldSize(msg, fd);
    out += '[';
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ',';
      append_value(msg, r, fd, i, out, depth);
    }
    out += ']';
  } else {
    append_value(msg, r, fd, -1, out, depth);
  }
}

void append_message(const pb::Message& msg, std::string& out, int depth) {
  // One field list per nesting level, reused: no allocation per message.
  thread_local std::vector<const pb::FieldDescriptor*> lists[kMaxDepth + 1];
  auto& fields = lists[depth];
  fields.clear();
  const pb::Reflection* r = msg.GetReflection();
  r->ListFields(msg, &fields);
  out += '{';
  bool first = true;
  for (const auto* fd : fields) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += fd->name();
    out += "\":";
    append_field(msg, r, fd, out, depth);
  }
  out += '}';
}

}  // namespace

void append_json_string(std::string_view s, std::string& out) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      // Runs of plain ASCII are copied at once.
      size_t j = i + 1;
      while (j < s.size()) {
        const auto d = static_cast<uint8_t>(s[j]);
        if (d < 0x20 || d >= 0x7f || d == '"' || d == '\\') break;
        ++j;
      }
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 0xf];
      ++i;
      continue;
    }
    const size_t n = text::utf8_sequence_length(s, i);
    if (n == 0) {
      // Not UTF-8: the byte as the analyzers' escaping writes it (\xNN),
      // which JSON shows as "\\xNN". Never raw, never lost.
      out += "\\\\x";
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 0xf];
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  out += '"';
}

void append_json(const pb::Message& msg, std::string& out) { append_message(msg, out, 0); }

void append_field_json(const pb::Message& msg, const pb::FieldDescriptor* fd, std::string& out) {
  append_field(msg, msg.GetReflection(), fd, out, 0);
}

std::string to_json(const pb::Message& msg) {
  std::string out;
  append_json(msg, out);
  return out;
}

}  // namespace tapir::schema
