// The collector's batch salvage (collector/validate.h) against what a buggy
// or hostile agent can send. A valid batch with one event of every type is
// built from the descriptors; the input then either
//   mode 0: fills the batch's string fields (every proto3 `string` found by
//           walking the descriptors) with its bytes, or
//   mode 1: edits the serialised batch (overwrite, insert, delete, cut).
// Whatever comes in, salvage must not crash, and every event must end up
// either kept or rejected: kept events are byte ranges of the input that
// libprotobuf parses to the same message and the store can flatten; rejects
// hold the input's bytes at their offset; nothing overlaps. In mode 0 the
// independent oracle is libprotobuf parsing each event alone: an event is
// kept exactly when it parses.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/validate.h"
#include "schema/columns.h"
#include "tapir/v1/events.pb.h"
#include "support/wire.h"

namespace {

namespace pb = google::protobuf;
using tapir::collector::SalvagedBatch;

#define CHECK_OR_DIE(cond)                                                    \
  do {                                                                        \
    if (!(cond)) {                                                            \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                           \
    }                                                                         \
  } while (0)

// Sets every field of `m` (recursing into messages) so that each string and
// each nested message is present at least once.
void fill(pb::Message& m, int depth) {
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->containing_oneof() && depth == 0 && d == tapir::v1::Event::descriptor()) continue;
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        if (f->is_repeated())
          r->AddString(&m, f, "s");
        else
          r->SetString(&m, f, f->type() == pb::FieldDescriptor::TYPE_BYTES ? std::string("\x0a\x00\x00\x01", 4) : "s");
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth >= 4) break;
        fill(f->is_repeated() ? *r->AddMessage(&m, f) : *r->MutableMessage(&m, f), depth + 1);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        if (!f->is_repeated()) r->SetUInt32(&m, f, 7);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        if (!f->is_repeated()) r->SetUInt64(&m, f, 7);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        if (!f->is_repeated()) r->SetInt64(&m, f, 1700000000);
        break;
      default:
        break;
    }
  }
}

struct StringSlot {
  pb::Message* m;
  const pb::FieldDescriptor* f;
  int index;  // -1: singular
};

void string_slots(pb::Message& m, std::vector<StringSlot>& out) {
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated())
        for (int j = 0; j < r->FieldSize(m, f); ++j) out.push_back({&m, f, j});
      else
        out.push_back({&m, f, -1});
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int j = 0; j < r->FieldSize(m, f); ++j) string_slots(*r->MutableRepeatedMessage(&m, f, j), out);
      } else if (r->HasField(m, f)) {
        string_slots(*r->MutableMessage(&m, f), out);
      }
    }
  }
}

using tapir::testing::len_field;
using tapir::testing::varint;

// One event of each type, every field filled.
std::vector<tapir::v1::Event> base_events() {
  std::vector<tapir::v1::Event> out;
  const auto* oneof = tapir::v1::Event::descriptor()->FindOneofByName("body");
  for (int i = 0; i < oneof->field_count(); ++i) {
    tapir::v1::Event e;
    fill(*e.GetReflection()->MutableMessage(&e, oneof->field(i)), 1);
    out.push_back(std::move(e));
  }
  return out;
}

// The batch's bytes, with each event's byte range recorded.
std::string serialise(const std::vector<std::string>& events, std::vector<std::pair<size_t, size_t>>& ranges) {
  std::string out = len_field(1, "agent-1") + varint(2 << 3) + varint(7);
  for (const auto& e : events) {
    std::string f = len_field(3, e);
    ranges.emplace_back(out.size() + f.size() - e.size(), e.size());
    out += f;
  }
  return out + len_field(4, "00000000000000aa");
}

// The invariants that hold for any input.
void check_salvage(const std::string& wire, const SalvagedBatch& sb) {
  const tapir::collector::ValidationLimits lim;
  CHECK_OR_DIE(static_cast<size_t>(sb.valid.events_size()) == sb.valid_ranges.size());
  std::vector<std::pair<size_t, size_t>> used;
  for (int k = 0; k < sb.valid.events_size(); ++k) {
    auto [off, len] = sb.valid_ranges[static_cast<size_t>(k)];
    CHECK_OR_DIE(off <= wire.size() && len <= wire.size() - off);
    tapir::v1::Event again;
    CHECK_OR_DIE(again.ParseFromArray(wire.data() + off, static_cast<int>(len)));
    CHECK_OR_DIE(pb::util::MessageDifferencer::Equals(again, sb.valid.events(k)));
    const auto* r = tapir::schema::Model::get().find(static_cast<int>(again.body_case()));
    CHECK_OR_DIE(r != nullptr);
    std::vector<tapir::schema::Value> row;
    tapir::schema::Model::extract(*r, again.GetReflection()->GetMessage(again, r->event_field), row);
    CHECK_OR_DIE(row.size() + tapir::schema::kExtraColumns == r->columns.size());
    used.emplace_back(off, len);
  }
  size_t raw_total = 0;
  for (const auto& rej : sb.rejects) {
    CHECK_OR_DIE(rej.reason() != tapir::v1::REJECT_REASON_UNSPECIFIED);
    CHECK_OR_DIE(rej.offset() <= wire.size() && rej.size() <= wire.size() - rej.offset());
    CHECK_OR_DIE(rej.raw().size() <= rej.size() && rej.raw().size() <= lim.max_raw_bytes_per_reject);
    CHECK_OR_DIE(wire.compare(rej.offset(), rej.raw().size(), rej.raw()) == 0);
    CHECK_OR_DIE(rej.truncated() == (rej.raw().size() < rej.size()) || rej.raw().empty());
    raw_total += rej.raw().size();
    if (rej.event_index() >= 0) CHECK_OR_DIE(static_cast<uint32_t>(rej.event_index()) < sb.events_seen);
    used.emplace_back(rej.offset(), rej.size());
  }
  CHECK_OR_DIE(raw_total <= lim.max_raw_bytes_per_batch);
  CHECK_OR_DIE(sb.rejects.size() <= lim.max_rejects_per_batch + 1);
  // Kept events and rejects never claim the same bytes.
  std::sort(used.begin(), used.end());
  for (size_t i = 1; i < used.size(); ++i) CHECK_OR_DIE(used[i - 1].first + used[i - 1].second <= used[i].first);
  // Every event found is kept or refused; a refused rest accounts for the others.
  if (!sb.rest_rejected)
    CHECK_OR_DIE(static_cast<uint32_t>(sb.valid.events_size()) + sb.events_rejected == sb.events_seen);
  else
    CHECK_OR_DIE(static_cast<uint32_t>(sb.valid.events_size()) + sb.events_rejected <= sb.events_seen);
  // Nothing refused: libprotobuf reads the same batch.
  if (sb.rejects.empty()) {
    tapir::v1::EventBatch whole;
    CHECK_OR_DIE(sb.header_ok && sb.complete);
    if (whole.ParseFromString(wire)) CHECK_OR_DIE(whole.events_size() == sb.valid.events_size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pb::SetLogHandler(nullptr);  // proto3 serialisation of invalid UTF-8 logs an error per field
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const std::vector<tapir::v1::Event> base = base_events();
  const uint8_t mode = data[0] & 1;
  const uint8_t* p = data + 1;
  const uint8_t* end = data + size;
  std::vector<tapir::v1::Event> events = base;

  if (mode == 0) {
    std::vector<StringSlot> slots;
    for (auto& e : events) string_slots(e, slots);
    // Pieces of the input, each prefixed with its length, go to the string
    // fields in order, starting at a field the first byte picks.
    size_t slot = p < end ? *p++ % slots.size() : 0;
    while (p < end) {
      size_t n = std::min<size_t>(*p++, static_cast<size_t>(end - p));
      std::string value(reinterpret_cast<const char*>(p), n);
      p += n;
      const auto& s = slots[slot++ % slots.size()];
      if (s.index < 0)
        s.m->GetReflection()->SetString(s.m, s.f, value);
      else
        s.m->GetReflection()->SetRepeatedString(s.m, s.f, s.index, value);
    }
    std::vector<std::string> bytes;
    for (const auto& e : events) bytes.push_back(e.SerializeAsString());
    std::vector<std::pair<size_t, size_t>> ranges;
    std::string wire = serialise(bytes, ranges);
    SalvagedBatch sb = tapir::collector::salvage_batch(wire, 1700000000000000000);
    check_salvage(wire, sb);
    CHECK_OR_DIE(sb.complete && sb.header_ok && !sb.rest_rejected);
    CHECK_OR_DIE(sb.events_seen == bytes.size());
    // The oracle: libprotobuf on each event alone.
    size_t k = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
      tapir::v1::Event parsed;
      bool ok = parsed.ParseFromString(bytes[i]);
      bool kept = k < sb.valid_ranges.size() && sb.valid_ranges[k] == ranges[i];
      CHECK_OR_DIE(ok == kept);
      if (kept) {
        CHECK_OR_DIE(pb::util::MessageDifferencer::Equals(parsed, sb.valid.events(static_cast<int>(k))));
        ++k;
      }
    }
    CHECK_OR_DIE(k == sb.valid_ranges.size());
    for (const auto& rej : sb.rejects) CHECK_OR_DIE(rej.reason() == tapir::v1::REJECT_INVALID_UTF8);
    return 0;
  }

  std::vector<std::string> bytes;
  for (const auto& e : events) bytes.push_back(e.SerializeAsString());
  std::vector<std::pair<size_t, size_t>> ranges;
  std::string wire = serialise(bytes, ranges);
  // Edits: op, 2-byte position, then op-specific bytes.
  int edits = 0;
  while (end - p >= 3 && edits++ < 16) {
    uint8_t op = p[0] % 4;
    size_t pos = (static_cast<size_t>(p[1]) << 8 | p[2]) % (wire.size() + 1);
    p += 3;
    size_t n = p < end ? std::min<size_t>(*p++ % 32, static_cast<size_t>(end - p)) : 0;
    switch (op) {
      case 0:  // overwrite
        for (size_t i = 0; i < n && pos + i < wire.size(); ++i) wire[pos + i] = static_cast<char>(p[i]);
        p += n;
        break;
      case 1:  // insert
        wire.insert(pos, reinterpret_cast<const char*>(p), n);
        p += n;
        break;
      case 2:  // delete
        wire.erase(pos, n);
        break;
      default:  // cut
        wire.resize(pos);
        break;
    }
  }
  SalvagedBatch sb = tapir::collector::salvage_batch(wire, 1700000000000000000);
  check_salvage(wire, sb);
  return 0;
}
