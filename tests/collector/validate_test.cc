// salvage_batch() and validate_event() on hand-written wire bytes: each
// refusal rule, its reason and position, the bounds on what is kept, and
// that libprotobuf (the independent parser) agrees with what is kept.
#include <gtest/gtest.h>
#include <google/protobuf/stubs/logging.h>

#include "collector/validate.h"
#include "events.h"
#include "schema/columns.h"
#include "support/wire.h"

namespace tapir {
namespace {

using collector::salvage_batch;
using collector::validate_event;

using tapir::testing::len_field;
using tapir::testing::varint;
using tapir::testing::varint_field;

std::string flow(int i) {
  v1::Event e;
  testing::fill_flow(e.mutable_flow(), i, "t" + std::to_string(i));
  return e.SerializeAsString();
}
std::string batch(uint64_t seq, const std::vector<std::string>& events) {
  std::string out = len_field(1, "agent-1") + varint_field(2, seq);
  for (const auto& e : events) out += len_field(3, e);
  return out + len_field(4, "00000000000000aa");
}
// A Dns event with a string field set to `text`, however invalid.
std::string dns_with_query(const std::string& text) {
  return len_field(2, len_field(v1::Dns::descriptor()->FindFieldByName("query")->number(), text));
}

TEST(Validate, AcceptsWhatTheAgentsSend) {
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(validate_event(flow(i))) << i;
  v1::Event e;
  testing::fill_dns(e.mutable_dns(), 3);
  EXPECT_FALSE(validate_event(e.SerializeAsString()));
  EXPECT_FALSE(validate_event(dns_with_query("\xc3\xa9t\xc3\xa9.example")));  // UTF-8 accents
}

TEST(Validate, EachRuleHasItsReason) {
  struct Case {
    std::string wire;
    v1::RejectReason reason;
    uint32_t type;
    const char* detail;
  };
  v1::Event ts;
  ts.mutable_flow()->mutable_ts()->set_seconds(int64_t{1} << 40);
  v1::Event nanos;
  nanos.mutable_flow()->mutable_ts()->set_nanos(-1);
  std::vector<Case> cases = {
      {dns_with_query("a\xff"), v1::REJECT_INVALID_UTF8, 2, "dns.query: invalid UTF-8 at byte 1 of 2"},
      {len_field(42, "\x08\x01"), v1::REJECT_UNKNOWN_EVENT_TYPE, 42, "event type 42"},
      {"", v1::REJECT_MALFORMED, 0, "without a body"},
      {varint_field(1, 5), v1::REJECT_MALFORMED, 1, "flow has wire type varint"},
      {len_field(1, "") + len_field(2, ""), v1::REJECT_MALFORMED, 1, "two event types"},
      {len_field(1, "\x0a\x05\x08"), v1::REJECT_MALFORMED, 1, "runs past the end"},
      {std::string("\x0a\x02\x08", 3), v1::REJECT_MALFORMED, 0, "runs past the end"},
      {ts.SerializeAsString(), v1::REJECT_INVALID_VALUE, 1, "flow.ts: timestamp out of range"},
      {nanos.SerializeAsString(), v1::REJECT_INVALID_VALUE, 1, "nanos -1"},
      {len_field(1, std::string(2 << 20, '\0')), v1::REJECT_TOO_LARGE, 0, "over the 1048576-byte limit"},
  };
  for (const auto& c : cases) {
    auto p = validate_event(c.wire);
    ASSERT_TRUE(p) << c.detail;
    EXPECT_EQ(p->reason, c.reason) << c.detail << ": " << p->detail;
    EXPECT_EQ(p->event_type, c.type) << c.detail;
    EXPECT_NE(p->detail.find(c.detail), std::string::npos) << p->detail;
    // The independent oracle: libprotobuf refuses it too, or (unknown type,
    // timestamps, two bodies) parses something the store could not keep as is.
    v1::Event parsed;
    if (c.reason == v1::REJECT_INVALID_UTF8 || c.reason == v1::REJECT_MALFORMED) {
      bool ok = parsed.ParseFromString(c.wire);
      if (ok) {
        EXPECT_TRUE(parsed.body_case() == v1::Event::BODY_NOT_SET || c.detail == std::string("two event types"))
            << c.detail;
      }
    }
  }
}

// Whatever libprotobuf (the independent parser) makes of a string's bytes,
// the check agrees: kept exactly when libprotobuf parses the event.
TEST(Validate, AgreesWithLibprotobufOnUtf8) {
  auto* old = google::protobuf::SetLogHandler(nullptr);  // libprotobuf logs each refused string
  const std::vector<std::string> samples = {
      "\xed\xa0\x80",        // surrogate
      "\xc0\xaf",            // overlong '/'
      "\xf4\x90\x80\x80",    // above U+10FFFF
      "\xf0\x9f\x98\x80",    // emoji
      "\xe2\x82",            // cut short
      std::string("a\0b", 3),  // NUL is UTF-8
      "\x80",
      "\xef\xbf\xbf",        // U+FFFF
  };
  for (const auto& s : samples) {
    std::string w = dns_with_query(s);
    v1::Event e;
    bool parses = e.ParseFromString(w);
    auto p = validate_event(w);
    EXPECT_EQ(!p, parses) << schema::hex_encode(s);
    if (p) {
      EXPECT_EQ(p->reason, v1::REJECT_INVALID_UTF8);
    }
  }
  google::protobuf::SetLogHandler(old);
}

TEST(Salvage, KeepsTheValidNeighboursOfABadEvent) {
  std::string bad = dns_with_query("x\xff");
  std::string wire = batch(9, {flow(1), bad, flow(2)});
  v1::EventBatch whole;
  EXPECT_FALSE(whole.ParseFromString(wire));  // the reason for all this
  auto sb = salvage_batch(wire, 1'700'000'000'123'456'789);
  EXPECT_TRUE(sb.complete && sb.header_ok);
  EXPECT_EQ(sb.sequence, 9u);
  EXPECT_EQ(sb.instance_id, "00000000000000aa");
  ASSERT_EQ(sb.valid.events_size(), 2);
  EXPECT_EQ(sb.valid.events(0).flow().community_id(), "t1");
  EXPECT_EQ(sb.valid.events(1).flow().community_id(), "t2");
  EXPECT_EQ(sb.valid.sequence(), 9u);
  ASSERT_EQ(sb.rejects.size(), 1u);
  const auto& r = sb.rejects[0];
  EXPECT_EQ(r.reason(), v1::REJECT_INVALID_UTF8);
  EXPECT_EQ(r.event_index(), 1);
  EXPECT_EQ(r.event_type(), 2u);
  EXPECT_EQ(r.raw(), bad);
  EXPECT_EQ(wire.substr(r.offset(), r.size()), bad);
  EXPECT_EQ(r.sequence(), 9u);
  EXPECT_EQ(r.instance(), "00000000000000aa");
  EXPECT_EQ(r.ts().seconds(), 1'700'000'000);
  EXPECT_EQ(r.ts().nanos(), 123'456'789);
  EXPECT_EQ(sb.events_seen, 3u);
  EXPECT_EQ(sb.events_rejected, 1u);
}

TEST(Salvage, ANewerBatchFieldIsIgnoredAsLibprotobufDoes) {
  std::string wire = batch(3, {flow(1)}) + varint_field(15, 1) + len_field(16, "later");
  v1::EventBatch whole;
  ASSERT_TRUE(whole.ParseFromString(wire));
  auto sb = salvage_batch(wire, 0);
  EXPECT_TRUE(sb.rejects.empty());
  EXPECT_EQ(sb.valid.events_size(), 1);
}

TEST(Salvage, BoundsWhatIsKept) {
  // 1,100 bad events of 2 KiB: 1,024 rows, then one row for the other 76;
  // raw bytes stop at the per-batch budget.
  std::vector<std::string> events;
  for (int i = 0; i < 1100; ++i) events.push_back(dns_with_query(std::string(2048, 'a') + "\xff"));
  events.push_back(flow(7));
  auto sb = salvage_batch(batch(1, events), 0);
  EXPECT_EQ(sb.valid.events_size(), 1);
  EXPECT_EQ(sb.events_rejected, 1100u);
  ASSERT_EQ(sb.rejects.size(), collector::kMaxRejectsPerBatch + 1);
  size_t raw = 0;
  for (const auto& r : sb.rejects) raw += r.raw().size();
  EXPECT_LE(raw, collector::kMaxRawBytesPerBatch);
  EXPECT_TRUE(sb.rejects.back().truncated());
  EXPECT_NE(sb.rejects.back().detail().find("76 events refused beyond the 1024"), std::string::npos)
      << sb.rejects.back().detail();
  // One large refused event keeps its first 64 KiB.
  auto big = salvage_batch(batch(2, {dns_with_query(std::string(100000, 'b') + "\xff")}), 0);
  ASSERT_EQ(big.rejects.size(), 1u);
  EXPECT_EQ(big.rejects[0].raw().size(), collector::kMaxRawBytesPerReject);
  EXPECT_TRUE(big.rejects[0].truncated());
}

TEST(Salvage, WholeBatchRefusals) {
  // Over the size limit: one reject, keyed by its header.
  collector::ValidationLimits lim;
  lim.max_batch_bytes = 4096;
  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i) many.push_back(flow(i));
  std::string large = batch(4, many);
  auto sb = salvage_batch(large, 0, lim);
  EXPECT_EQ(sb.valid.events_size(), 0);
  ASSERT_EQ(sb.rejects.size(), 1u);
  EXPECT_EQ(sb.rejects[0].reason(), v1::REJECT_TOO_LARGE);
  EXPECT_EQ(sb.rejects[0].size(), large.size());
  EXPECT_EQ(sb.events_seen, 100u);
  EXPECT_TRUE(sb.header_ok);
  EXPECT_EQ(sb.rejects[0].instance(), "00000000000000aa");
  // No sequence: not keyed.
  auto noseq = salvage_batch(len_field(1, "agent-1") + len_field(3, flow(1)), 0);
  ASSERT_EQ(noseq.rejects.size(), 1u);
  EXPECT_EQ(noseq.rejects[0].reason(), v1::REJECT_BAD_HEADER);
  EXPECT_FALSE(noseq.header_ok);
  EXPECT_EQ(noseq.valid.events_size(), 0);
  // Instance id not UTF-8.
  auto inst = salvage_batch(len_field(1, "agent-1") + varint_field(2, 1) + len_field(4, "\xff"), 0);
  ASSERT_EQ(inst.rejects.size(), 1u);
  EXPECT_EQ(inst.rejects[0].reason(), v1::REJECT_BAD_HEADER);
  EXPECT_EQ(inst.rejects[0].detail(), "instance_id is not UTF-8");
  // Cut off mid-event: the events before are kept, the rest is one reject,
  // and the instance (after the events) is unknown.
  std::string cut = batch(5, {flow(1), flow(2)});
  cut.resize(cut.size() - 30);
  auto c = salvage_batch(cut, 0);
  EXPECT_FALSE(c.complete);
  EXPECT_FALSE(c.instance_seen);
  EXPECT_TRUE(c.header_ok);
  EXPECT_EQ(c.valid.events_size(), 1);
  ASSERT_EQ(c.rejects.size(), 1u);
  EXPECT_EQ(c.rejects[0].reason(), v1::REJECT_MALFORMED);
  EXPECT_EQ(c.rejects[0].event_index(), -1);
  EXPECT_EQ(c.rejects[0].offset() + c.rejects[0].size(), cut.size());
  // An agent id that is not UTF-8 is reported, not stored.
  auto agent = salvage_batch(len_field(1, "\xfe") + varint_field(2, 1), 0);
  EXPECT_FALSE(agent.agent_id_utf8);
  EXPECT_EQ(agent.valid.agent_id(), "");
}

}  // namespace
}  // namespace tapir
