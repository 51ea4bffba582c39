#include "collector/validate.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cstdio>

namespace tapir::collector {
namespace {

namespace pb = google::protobuf;
using pb::internal::WireFormatLite;
using WireType = WireFormatLite::WireType;

// Storage keeps timestamps as int64 nanoseconds since the epoch; seconds
// beyond this overflow it (the years 1677 and 2262).
constexpr int64_t kMaxTimestampSeconds = 9223372035;
constexpr int64_t kNanosPerSecond = 1000000000;

// The same check libprotobuf's parser applies to proto3 strings, so that an
// event passing here is one libprotobuf parses.
bool utf8_ok(std::string_view s) {
  return pb::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

size_t utf8_valid_prefix(std::string_view s) {
  return static_cast<size_t>(pb::internal::UTF8SpnStructurallyValid(pb::StringPiece(s.data(), s.size())));
}

const char* wire_type_name(WireType t) {
  switch (t) {
    case WireFormatLite::WIRETYPE_VARINT:
      return "varint";
    case WireFormatLite::WIRETYPE_FIXED64:
      return "fixed64";
    case WireFormatLite::WIRETYPE_LENGTH_DELIMITED:
      return "length-delimited";
    case WireFormatLite::WIRETYPE_START_GROUP:
      return "start-group";
    case WireFormatLite::WIRETYPE_END_GROUP:
      return "end-group";
    case WireFormatLite::WIRETYPE_FIXED32:
      return "fixed32";
  }
  return "invalid";
}

// One field as found on the wire.
struct Field {
  uint32_t number = 0;
  WireType type = WireFormatLite::WIRETYPE_VARINT;
  size_t start = 0;        // offset of the tag
  size_t end = 0;          // offset after the field
  uint64_t value = 0;      // varint, fixed32, fixed64
  std::string_view bytes;  // length-delimited payload
};

// Walks the fields of one serialised message. next() is false at the end of
// the input (error() empty) or at the first undecodable byte (error() says
// what and where; the field's start is where decoding failed).
class FieldReader {
 public:
  explicit FieldReader(std::string_view s)
      : s_(s), in_(reinterpret_cast<const uint8_t*>(s.data()), static_cast<int>(s.size())) {}

  bool next(Field& f) {
    f = Field{};
    f.start = pos();
    if (f.start >= s_.size()) return false;
    uint32_t tag = in_.ReadTagNoLastTag();
    if (tag == 0) return fail("bad field tag at byte " + std::to_string(f.start));
    f.number = WireFormatLite::GetTagFieldNumber(tag);
    f.type = WireFormatLite::GetTagWireType(tag);
    if (f.number == 0) return fail("field number 0 at byte " + std::to_string(f.start));
    switch (f.type) {
      case WireFormatLite::WIRETYPE_VARINT:
        if (!in_.ReadVarint64(&f.value)) return fail(at(f, "truncated varint"));
        break;
      case WireFormatLite::WIRETYPE_FIXED64:
        if (!in_.ReadLittleEndian64(&f.value)) return fail(at(f, "truncated fixed64"));
        break;
      case WireFormatLite::WIRETYPE_FIXED32: {
        uint32_t v = 0;
        if (!in_.ReadLittleEndian32(&v)) return fail(at(f, "truncated fixed32"));
        f.value = v;
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint64_t len = 0;
        if (!in_.ReadVarint64(&len)) return fail(at(f, "truncated length"));
        size_t p = pos();
        if (len > s_.size() - p)
          return fail(at(f, "length " + std::to_string(len) + " runs past the end (" +
                                std::to_string(s_.size() - p) + " bytes left)"));
        f.bytes = s_.substr(p, static_cast<size_t>(len));
        in_.Skip(static_cast<int>(len));
        break;
      }
      case WireFormatLite::WIRETYPE_START_GROUP:
        // proto3 has no groups; libprotobuf skips one as an unknown field.
        if (!WireFormatLite::SkipField(&in_, tag)) return fail(at(f, "undecodable group"));
        break;
      case WireFormatLite::WIRETYPE_END_GROUP:
        return fail(at(f, "end-group without a group"));
      default:
        return fail(at(f, "invalid wire type " + std::to_string(static_cast<int>(f.type))));
    }
    f.end = pos();
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  size_t pos() const { return static_cast<size_t>(in_.CurrentPosition()); }
  static std::string at(const Field& f, const std::string& what) {
    return what + " in field " + std::to_string(f.number) + " at byte " + std::to_string(f.start);
  }
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  std::string_view s_;
  pb::io::CodedInputStream in_;
  std::string error_;
};

EventProblem problem(v1::RejectReason reason, std::string detail) {
  EventProblem p;
  p.reason = reason;
  p.detail = std::move(detail);
  return p;
}

// The body of a packed repeated scalar must be whole values.
bool packed_ok(std::string_view body, WireType element) {
  switch (element) {
    case WireFormatLite::WIRETYPE_FIXED32:
      return body.size() % 4 == 0;
    case WireFormatLite::WIRETYPE_FIXED64:
      return body.size() % 8 == 0;
    case WireFormatLite::WIRETYPE_VARINT: {
      pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(body.data()), static_cast<int>(body.size()));
      uint64_t v;
      while (static_cast<size_t>(in.CurrentPosition()) < body.size())
        if (!in.ReadVarint64(&v)) return false;
      return true;
    }
    default:
      return false;
  }
}

// Checks one message against its descriptor: every known field of the
// expected wire type is decodable, strings are UTF-8, nested messages pass
// the same checks, timestamps are storable. Fields this collector does not
// know (a newer agent's additions) are skipped, as libprotobuf does.
std::optional<EventProblem> check_message(std::string_view s, const pb::Descriptor* d, int depth,
                                          const std::string& path) {
  if (depth > kMaxNestingDepth)
    return problem(v1::REJECT_TOO_LARGE, path + ": nested deeper than " + std::to_string(kMaxNestingDepth) + " messages");
  const bool is_timestamp = d->full_name() == "google.protobuf.Timestamp";
  int64_t seconds = 0;
  int32_t nanos = 0;
  FieldReader r(s);
  Field f;
  while (r.next(f)) {
    const pb::FieldDescriptor* fd = d->FindFieldByNumber(static_cast<int>(f.number));
    if (!fd) continue;
    const std::string name = path + "." + fd->name();
    const WireType want =
        WireFormatLite::WireTypeForFieldType(static_cast<WireFormatLite::FieldType>(fd->type()));
    if (f.type != want) {
      if (f.type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED && fd->is_packable()) {
        if (!packed_ok(f.bytes, want))
          return problem(v1::REJECT_MALFORMED, name + ": packed values cut off at byte " + std::to_string(f.start));
      }
      // Another wire type: libprotobuf keeps it as an unknown field; so do we.
      continue;
    }
    if (is_timestamp) {
      if (fd->number() == 1) seconds = static_cast<int64_t>(f.value);
      if (fd->number() == 2) nanos = static_cast<int32_t>(static_cast<uint32_t>(f.value));
    }
    if (want != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) continue;
    if (fd->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (!utf8_ok(f.bytes))
        return problem(v1::REJECT_INVALID_UTF8,
                       name + ": invalid UTF-8 at byte " + std::to_string(utf8_valid_prefix(f.bytes)) +
                           " of " + std::to_string(f.bytes.size()));
    } else if (fd->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      if (auto p = check_message(f.bytes, fd->message_type(), depth + 1, name)) return p;
    }
  }
  if (!r.error().empty()) return problem(v1::REJECT_MALFORMED, path + ": " + r.error());
  if (is_timestamp && (seconds < -kMaxTimestampSeconds || seconds > kMaxTimestampSeconds || nanos < 0 ||
                       nanos >= kNanosPerSecond))
    return problem(v1::REJECT_INVALID_VALUE, path + ": timestamp out of range (seconds " +
                                                 std::to_string(seconds) + ", nanos " +
                                                 std::to_string(nanos) + ")");
  return std::nullopt;
}

std::string event_name(uint32_t number) {
  const auto* fd = v1::Event::descriptor()->FindFieldByNumber(static_cast<int>(number));
  return fd ? fd->name() : "type " + std::to_string(number);
}

void set_ts(v1::Reject& r, int64_t ns) {
  int64_t s = ns / kNanosPerSecond;
  int64_t n = ns % kNanosPerSecond;
  if (n < 0) {
    n += kNanosPerSecond;
    --s;
  }
  r.mutable_ts()->set_seconds(s);
  r.mutable_ts()->set_nanos(static_cast<int32_t>(n));
}

// Top-level fields of tapir.v1.EventBatch.
constexpr uint32_t kBatchAgentId = 1;
constexpr uint32_t kBatchSequence = 2;
constexpr uint32_t kBatchEvents = 3;
constexpr uint32_t kBatchInstanceId = 4;

class Salvager {
 public:
  Salvager(std::string_view wire, int64_t received_ns, const ValidationLimits& limits)
      : wire_(wire), received_ns_(received_ns), lim_(limits), raw_budget_(limits.max_raw_bytes_per_batch) {}

  SalvagedBatch run() {
    if (wire_.size() > lim_.max_batch_bytes) {
      read_top_level(false);
      // Keyed by its header when that is usable, so a resend is recognised.
      reject_whole(v1::REJECT_TOO_LARGE, "batch of " + std::to_string(wire_.size()) + " bytes, over the " +
                                             std::to_string(lim_.max_batch_bytes) + "-byte limit",
                   header_problem().empty());
    } else {
      read_top_level(true);
      std::string why = header_problem();
      // Without a usable header nothing of the batch is stored (it has no
      // de-duplication key); a batch that also breaks off is plain garbage.
      if (!why.empty())
        reject_whole(out_.complete ? v1::REJECT_BAD_HEADER : v1::REJECT_MALFORMED,
                     out_.complete ? why : read_error_ + "; " + why, false);
    }
    finish();
    return std::move(out_);
  }

 private:
  // Reads the header fields; with `events`, also validates and keeps events.
  void read_top_level(bool events) {
    FieldReader r(wire_);
    Field f;
    while (r.next(f)) {
      switch (f.number) {
        case kBatchAgentId:
          if (!expect(f, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, "agent_id")) break;
          out_.agent_id.assign(f.bytes);
          out_.agent_id_utf8 = utf8_ok(f.bytes);
          break;
        case kBatchSequence:
          if (!expect(f, WireFormatLite::WIRETYPE_VARINT, "sequence")) break;
          out_.sequence = f.value;
          break;
        case kBatchInstanceId:
          if (!expect(f, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, "instance_id")) break;
          out_.instance_id.assign(f.bytes);
          instance_seen_ = true;
          break;
        case kBatchEvents:
          ++out_.events_seen;
          if (events) event(f);
          break;
        default:
          break;  // a field of a newer EventBatch: ignored, as libprotobuf does
      }
    }
    out_.complete = r.error().empty();
    if (!out_.complete) read_error_ = "undecodable from byte " + std::to_string(f.start) + ": " + r.error();
    if (!out_.complete && events) {
      // Everything from the first undecodable byte on is one reject: the
      // event boundaries beyond it are unknown.
      add_reject(v1::REJECT_MALFORMED, -1, 0, "batch " + read_error_, f.start, wire_.size() - f.start);
      out_.rest_rejected = true;
    }
  }

  bool expect(const Field& f, WireType want, const char* name) {
    if (f.type == want) return true;
    header_errors_ += std::string(header_errors_.empty() ? "" : "; ") + name + " has wire type " +
                      wire_type_name(f.type);
    return false;
  }

  void event(const Field& f) {
    const int32_t index = static_cast<int32_t>(out_.events_seen - 1);
    std::optional<EventProblem> p;
    size_t offset = f.start;
    size_t size = f.end - f.start;
    if (f.type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      p = problem(v1::REJECT_MALFORMED, std::string("event has wire type ") + wire_type_name(f.type));
    } else {
      // The event's own bytes: what an operator decodes as a tapir.v1.Event.
      offset = f.end - f.bytes.size();
      size = f.bytes.size();
      p = validate_event(f.bytes, lim_);
    }
    if (!p) {
      auto* e = out_.valid.add_events();
      if (e->ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size()))) {
        out_.valid_ranges.emplace_back(offset, size);
        return;
      }
      // The checks above let through only what libprotobuf parses; should
      // they ever disagree, the event is still kept, as a reject.
      out_.valid.mutable_events()->RemoveLast();
      p = problem(v1::REJECT_MALFORMED, "event refused by libprotobuf");
    }
    ++out_.events_rejected;
    add_reject(p->reason, index, p->event_type, p->detail, offset, size);
  }

  std::string header_problem() const {
    std::string why = header_errors_;
    auto add = [&why](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
    if (out_.sequence == 0) add("no sequence number");
    if (instance_seen_ && !utf8_ok(out_.instance_id)) add("instance_id is not UTF-8");
    if (out_.instance_id.size() > kMaxInstanceIdBytes)
      add("instance_id of " + std::to_string(out_.instance_id.size()) + " bytes (at most " +
          std::to_string(kMaxInstanceIdBytes) + ")");
    return why;
  }

  // The whole batch becomes one reject; nothing of it is stored as events.
  void reject_whole(v1::RejectReason reason, const std::string& why, bool keyed) {
    out_.valid.clear_events();
    out_.valid_ranges.clear();
    out_.rejects.clear();
    out_.events_rejected = 0;
    merged_ = 0;
    raw_budget_ = lim_.max_raw_bytes_per_batch;
    add_reject(reason, -1, 0, why, 0, wire_.size());
    out_.rest_rejected = true;
    unkeyed_ = !keyed;
  }

  void add_reject(v1::RejectReason reason, int32_t index, uint32_t type, const std::string& detail, size_t offset,
                  size_t size) {
    if (index >= 0 && out_.rejects.size() >= lim_.max_rejects_per_batch) {
      // Beyond the rows kept per batch: counted in one summary row.
      if (merged_++ == 0) {
        first_merged_ = make(reason, index, type, detail, offset, 0);
        first_merged_.set_truncated(size > 0);
      }
      first_merged_.set_size(first_merged_.size() + size);
      return;
    }
    out_.rejects.push_back(make(reason, index, type, detail, offset, size));
  }

  v1::Reject make(v1::RejectReason reason, int32_t index, uint32_t type, const std::string& detail, size_t offset,
                  size_t size) {
    v1::Reject r;
    set_ts(r, received_ns_);
    r.set_reason(reason);
    r.set_event_index(index);
    r.set_event_type(type);
    r.set_detail(detail);
    r.set_offset(offset);
    r.set_size(size);
    size_t keep = std::min({size, lim_.max_raw_bytes_per_reject, raw_budget_});
    raw_budget_ -= keep;
    r.set_raw(std::string(wire_.substr(offset, keep)));
    r.set_truncated(keep < size);
    return r;
  }

  void finish() {
    if (merged_ > 0) {
      first_merged_.set_detail(std::to_string(merged_) + " events refused beyond the " +
                               std::to_string(lim_.max_rejects_per_batch) +
                               " rejects kept one by one per batch; the first: " + first_merged_.detail());
      out_.rejects.push_back(std::move(first_merged_));
    }
    const bool instance_ok = utf8_ok(out_.instance_id) && out_.instance_id.size() <= kMaxInstanceIdBytes;
    out_.instance_seen = instance_seen_;
    out_.header_ok = !unkeyed_ && out_.sequence != 0 && instance_ok && header_errors_.empty();
    for (auto& r : out_.rejects) {
      r.set_sequence(out_.sequence);
      if (instance_ok) r.set_instance(out_.instance_id);
    }
    if (out_.agent_id_utf8) out_.valid.set_agent_id(out_.agent_id);
    out_.valid.set_sequence(out_.sequence);
    if (instance_ok) out_.valid.set_instance_id(out_.instance_id);
  }

  std::string_view wire_;
  int64_t received_ns_;
  const ValidationLimits& lim_;
  size_t raw_budget_;
  SalvagedBatch out_;
  std::string header_errors_;
  std::string read_error_;
  bool instance_seen_ = false;
  bool unkeyed_ = false;
  uint64_t merged_ = 0;
  v1::Reject first_merged_;
};

}  // namespace

std::optional<EventProblem> validate_event(std::string_view wire, const ValidationLimits& limits) {
  const pb::Descriptor* ev = v1::Event::descriptor();
  if (wire.size() > limits.max_event_bytes)
    return problem(v1::REJECT_TOO_LARGE, "event of " + std::to_string(wire.size()) + " bytes, over the " +
                                             std::to_string(limits.max_event_bytes) + "-byte limit");
  FieldReader r(wire);
  Field f;
  uint32_t body = 0;
  uint32_t unknown = 0;
  while (r.next(f)) {
    const pb::FieldDescriptor* fd = ev->FindFieldByNumber(static_cast<int>(f.number));
    if (!fd) {
      if (!unknown) unknown = f.number;
      continue;
    }
    if (f.type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      auto p = problem(v1::REJECT_MALFORMED, fd->name() + " has wire type " + wire_type_name(f.type));
      p.event_type = f.number;
      return p;
    }
    if (body && body != f.number) {
      auto p = problem(v1::REJECT_MALFORMED, "two event types in one event (" + event_name(body) + " and " +
                                                 fd->name() + ")");
      p.event_type = body;
      return p;
    }
    body = f.number;
    if (auto p = check_message(f.bytes, fd->message_type(), 1, fd->name())) {
      p->event_type = body;
      return p;
    }
  }
  if (!r.error().empty()) {
    auto p = problem(v1::REJECT_MALFORMED, "event: " + r.error());
    p.event_type = body;
    return p;
  }
  if (!body && unknown) {
    auto p = problem(v1::REJECT_UNKNOWN_EVENT_TYPE,
                     "event type " + std::to_string(unknown) + " (field " + std::to_string(unknown) +
                         " of tapir.v1.Event) is not known to this collector; a newer agent?");
    p.event_type = unknown;
    return p;
  }
  if (!body) return problem(v1::REJECT_MALFORMED, "event without a body (no event type set)");
  return std::nullopt;
}

SalvagedBatch salvage_batch(std::string_view wire, int64_t received_ns, const ValidationLimits& limits) {
  return Salvager(wire, received_ns, limits).run();
}

const char* reason_label(v1::RejectReason reason) {
  switch (reason) {
    case v1::REJECT_INVALID_UTF8:
      return "invalid_utf8";
    case v1::REJECT_UNKNOWN_EVENT_TYPE:
      return "unknown_event_type";
    case v1::REJECT_MALFORMED:
      return "malformed";
    case v1::REJECT_TOO_LARGE:
      return "too_large";
    case v1::REJECT_INVALID_VALUE:
      return "invalid_value";
    case v1::REJECT_BAD_HEADER:
      return "bad_header";
    default:
      return "unspecified";
  }
}

const std::vector<v1::RejectReason>& reject_reasons() {
  static const std::vector<v1::RejectReason> all = {
      v1::REJECT_INVALID_UTF8, v1::REJECT_UNKNOWN_EVENT_TYPE, v1::REJECT_MALFORMED,
      v1::REJECT_TOO_LARGE,    v1::REJECT_INVALID_VALUE,      v1::REJECT_BAD_HEADER};
  return all;
}

namespace {
// Log lines carry agent-chosen text: control characters are escaped.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}
}  // namespace

void RejectLog::log(const std::string& agent, const v1::Reject& r) {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= window_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return;
  }
  ++in_window_;
  std::string where = "batch " + std::to_string(r.sequence());
  if (!r.instance().empty()) where = "instance " + printable(r.instance()) + ", " + where;
  where += r.event_index() >= 0 ? ", event " + std::to_string(r.event_index()) : ", whole batch or its rest";
  if (r.event_type()) where += " (" + event_name(r.event_type()) + ")";
  std::string more;
  if (suppressed_) {
    more = " [" + std::to_string(suppressed_) + " earlier rejects not logged]";
    suppressed_ = 0;
  }
  std::fprintf(stderr, "tapir-collector: rejected from %s (%s): %s: %s; %llu bytes kept in the rejects table%s\n",
               printable(agent).c_str(), where.c_str(), reason_label(r.reason()), r.detail().c_str(),
               static_cast<unsigned long long>(r.raw().size()), more.c_str());
}

}  // namespace tapir::collector
