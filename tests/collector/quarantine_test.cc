// A real tapir-collector over mTLS on loopback, fed by a client with a valid
// agent certificate that sends what a buggy, newer or hostile agent might:
// invalid UTF-8 between valid events, an event type the collector does not
// know, a batch cut off mid-event, bytes that are no batch at all, a batch
// over the size limit. Every batch must be acknowledged, the valid events
// stored, the rest visible in the rejects table, API, CLI and metrics, and
// the batches after them stored as usual.
#include <gtest/gtest.h>
#include <grpcpp/impl/codegen/sync_stream.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "events.h"
#include "harness.h"
#include "schema/columns.h"
#include "support/wire.h"

namespace tapir {
namespace {

using nlohmann::json;
using testing::sqlite;

// Sends serialised batches as they are (the generated stub could only send
// well-formed EventBatch messages) and collects the acknowledgements.
testing::SendResult send_raw(const std::shared_ptr<grpc::Channel>& ch, const std::vector<std::string>& batches) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  grpc::internal::RpcMethod method("/tapir.v1.Collector/Export", grpc::internal::RpcMethod::BIDI_STREAMING, ch);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(ch.get(), method, &ctx));
  testing::SendResult r;
  std::thread reader([&] {
    grpc::ByteBuffer bb;
    while (stream->Read(&bb)) {
      std::vector<grpc::Slice> slices;
      std::string bytes;
      (void)bb.Dump(&slices);
      for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      v1::ExportAck ack;
      EXPECT_TRUE(ack.ParseFromString(bytes));
      r.acked = std::max(r.acked, ack.acked_sequence());
      r.duplicates += ack.duplicates();
    }
  });
  for (const auto& b : batches) {
    grpc::Slice slice(b);
    if (!stream->Write(grpc::ByteBuffer(&slice, 1))) break;
  }
  stream->WritesDone();
  reader.join();
  r.status = stream->Finish();
  return r;
}

// Wire-format pieces, written by hand so that the bytes are exactly what a
// broken agent would send (libprotobuf would not write some of them).
using tapir::testing::len_field;
using tapir::testing::varint;

constexpr char kInstance[] = "00000000000000cc";

std::string flow_event(int i, const std::string& tag) {
  v1::Event e;
  testing::fill_flow(e.mutable_flow(), i, tag);
  return e.SerializeAsString();
}

// A Dns event whose query holds bytes that are not UTF-8 (a raw DNS label
// copied without escaping): the case that made libprotobuf refuse batches.
std::string bad_dns_event() {
  v1::Dns d;
  testing::fill_dns(&d, 1);
  d.clear_query();
  const int query = v1::Dns::descriptor()->FindFieldByName("query")->number();
  std::string body = d.SerializeAsString() + len_field(query, std::string("bad\xff\xfe.example", 12));
  return len_field(2, body);
}

std::string batch(uint64_t seq, const std::vector<std::string>& events, bool with_instance = true) {
  std::string out = len_field(1, "agent-1") + varint(2 << 3) + varint(seq);
  for (const auto& e : events) out += len_field(3, e);
  if (with_instance) out += len_field(4, kInstance);
  return out;
}

class Quarantine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::temp_dir("quarantine");
    certs_ = testing::Certs::make(dir_);
  }
  std::vector<std::string> args() const {
    return {"--cert", certs_.cert("server"), "--key", certs_.key("server"), "--ca", certs_.ca(), "--no-api-auth",
            "--max-batch-bytes", "1048576"};
  }
  static std::string dir_;
  static testing::Certs certs_;
};
std::string Quarantine::dir_;
testing::Certs Quarantine::certs_;

TEST_F(Quarantine, BadBatchesAreQuarantinedAcknowledgedAndDoNotStallTheStream) {
  std::string db = dir_ + "/q.db";
  testing::CollectorProcess c(db, args());
  ASSERT_TRUE(c.start()) << c.output();

  const std::string bad_dns = bad_dns_event();
  // An event type from a newer proto: field 42 of Event.
  const std::string unknown_type = len_field(42, std::string("\x08\x01\x12\x03new", 7));
  std::vector<std::string> batches;
  // 1: invalid UTF-8 between two valid flows.
  batches.push_back(batch(1, {flow_event(1, "b1:0"), bad_dns, flow_event(2, "b1:2")}));
  // 2: a valid flow, then an unknown event type.
  batches.push_back(batch(2, {flow_event(3, "b2:0"), unknown_type}));
  // 3: cut off in the middle of its third event (its instance_id, written
  // after the events, is lost with it; the stream's stands in).
  std::string whole3 = batch(3, {flow_event(4, "b3:0"), flow_event(5, "b3:1"), flow_event(6, "b3:2")}, false);
  const std::string truncated = whole3.substr(0, whole3.size() - 20);
  batches.push_back(truncated);
  // 4: no batch at all.
  const std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01garbage";
  batches.push_back(garbage);
  // 5: over the 1 MiB limit given to this collector (3 flows of ~400 KB each).
  std::vector<std::string> big;
  for (int i = 0; i < 3; ++i) {
    v1::Event e;
    testing::fill_flow(e.mutable_flow(), 10 + i, "b5:" + std::to_string(i));
    e.mutable_flow()->set_app_proto(std::string(400000, 'x'));
    big.push_back(e.SerializeAsString());
  }
  const std::string oversized = batch(5, big);
  ASSERT_GT(oversized.size(), 1048576u);
  batches.push_back(oversized);
  // 6-8: ordinary batches.
  for (uint64_t s = 6; s <= 8; ++s) {
    std::vector<std::string> ev;
    for (int i = 0; i < 5; ++i) ev.push_back(flow_event(100 + i, "b" + std::to_string(s) + ":" + std::to_string(i)));
    batches.push_back(batch(s, ev));
  }

  auto ch = testing::agent_channel(c.grpc_target(), &certs_, "agent-1");
  auto r = send_raw(ch, batches);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message() << "\n" << c.output();
  EXPECT_EQ(r.acked, 8u);
  EXPECT_EQ(r.duplicates, 0u);

  // Valid events, counted through the API: 2 + 1 + 2 + 0 + 0 + 15.
  httplib::Client api("127.0.0.1", c.api_port);
  auto flows = api.Get("/api/v1/flow?_start=0&_end=1000&_sort=id");
  ASSERT_TRUE(flows);
  ASSERT_EQ(flows->status, 200) << flows->body;
  EXPECT_EQ(flows->get_header_value("X-Total-Count"), "20");
  std::multiset<std::string> tags;
  for (const auto& f : json::parse(flows->body)) tags.insert(f["community_id"].get<std::string>());
  for (const char* t : {"b1:0", "b1:2", "b2:0", "b3:0", "b3:1", "b6:0", "b8:4"})
    EXPECT_EQ(tags.count(t), 1u) << t;
  EXPECT_EQ(tags.count("b3:2"), 0u);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM dns"), "0");

  // The rejects, in order, through the API.
  auto rej = api.Get("/api/v1/rejects?_sort=id&_order=asc&_start=0&_end=100");
  ASSERT_TRUE(rej);
  ASSERT_EQ(rej->status, 200) << rej->body;
  EXPECT_EQ(rej->get_header_value("X-Total-Count"), "5");
  auto rows = json::parse(rej->body);
  ASSERT_EQ(rows.size(), 5u) << rej->body;
  auto hex = [](const std::string& raw) { return schema::hex_encode(raw); };

  EXPECT_EQ(rows[0]["agent_id"], "agent-1");
  EXPECT_EQ(rows[0]["reason"], "REJECT_INVALID_UTF8");
  EXPECT_EQ(rows[0]["sequence"], 1);
  EXPECT_EQ(rows[0]["instance"], kInstance);
  EXPECT_EQ(rows[0]["event_index"], 1);
  EXPECT_EQ(rows[0]["event_type"], 2);
  EXPECT_EQ(rows[0]["raw"], hex(bad_dns));
  EXPECT_EQ(rows[0]["truncated"], false);
  EXPECT_EQ(rows[0]["size"], bad_dns.size());
  EXPECT_NE(rows[0]["detail"].get<std::string>().find("dns.query"), std::string::npos) << rows[0];

  EXPECT_EQ(rows[1]["reason"], "REJECT_UNKNOWN_EVENT_TYPE");
  EXPECT_EQ(rows[1]["sequence"], 2);
  EXPECT_EQ(rows[1]["event_index"], 1);
  EXPECT_EQ(rows[1]["event_type"], 42);
  EXPECT_EQ(rows[1]["raw"], hex(unknown_type));

  EXPECT_EQ(rows[2]["reason"], "REJECT_MALFORMED");
  EXPECT_EQ(rows[2]["sequence"], 3);
  EXPECT_EQ(rows[2]["instance"], kInstance);
  EXPECT_EQ(rows[2]["event_index"], -1);
  size_t rest_at = rows[2]["offset"].get<size_t>();
  EXPECT_EQ(rows[2]["raw"], hex(truncated.substr(rest_at)));
  EXPECT_EQ(rest_at + rows[2]["size"].get<size_t>(), truncated.size());

  EXPECT_EQ(rows[3]["reason"], "REJECT_MALFORMED");
  EXPECT_EQ(rows[3]["sequence"], 0);
  EXPECT_EQ(rows[3]["raw"], hex(garbage));

  EXPECT_EQ(rows[4]["reason"], "REJECT_TOO_LARGE");
  EXPECT_EQ(rows[4]["sequence"], 5);
  EXPECT_EQ(rows[4]["size"], oversized.size());
  EXPECT_EQ(rows[4]["truncated"], true);
  EXPECT_EQ(rows[4]["raw"], hex(oversized.substr(0, 64 << 10)));

  // Filters work on the rejects as on events; the sqlite3 CLI agrees.
  auto utf8 = api.Get("/api/v1/rejects?reason_eq=REJECT_INVALID_UTF8");
  ASSERT_TRUE(utf8);
  EXPECT_EQ(json::parse(utf8->body).size(), 1u) << utf8->body;
  EXPECT_EQ(sqlite(db, "SELECT reason, sequence, event_index FROM rejects ORDER BY id"),
            "1|1|1\n2|2|1\n3|3|-1\n3|0|-1\n4|5|-1");
  // Per agent, as the UI's Agents page asks for it.
  auto per_agent = api.Get("/api/v1/rejects/aggregate?group_by=agent_id&metrics=count");
  ASSERT_TRUE(per_agent);
  EXPECT_EQ(json::parse(per_agent->body), json::parse(R"([{"agent_id":"agent-1","count":5}])"));

  std::string metrics = testing::sh("curl -s " + c.api_url() + "/metrics");
  for (const char* line : {"tapir_collector_rejected_batches_total 5",
                           "tapir_collector_rejected_events_total{reason=\"invalid_utf8\"} 1",
                           "tapir_collector_rejected_events_total{reason=\"unknown_event_type\"} 1",
                           "tapir_collector_rejected_events_total{reason=\"malformed\"} 2",
                           "tapir_collector_rejected_events_total{reason=\"too_large\"} 1",
                           "tapir_collector_rejected_events_total{reason=\"bad_header\"} 0",
                           "tapir_collector_events_total 20"})
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;

  // One log line per reject, naming the agent and the reason.
  std::string log = c.output();
  EXPECT_NE(log.find("rejected from agent-1 (instance 00000000000000cc, batch 1, event 1 (dns)): invalid_utf8: "
                     "dns.query: invalid UTF-8 at byte 3 of 12"),
            std::string::npos)
      << log;

  // `tapir query rejects` shows them.
  int st = 0;
  std::string cli = testing::sh(std::string(TAPIR_BINARY_DIR) + "/apps/tapir/tapir query rejects --url " +
                                    c.api_url() + " --fields sequence,reason --sort id --order asc --format csv",
                                &st);
  EXPECT_EQ(st, 0) << cli;
  EXPECT_NE(cli.find("1,REJECT_INVALID_UTF8"), std::string::npos) << cli;
  EXPECT_NE(cli.find("5,REJECT_TOO_LARGE"), std::string::npos) << cli;

  // A reconnecting agent resends batches 1-3: duplicates, nothing stored or counted twice.
  auto again = send_raw(ch, {batches[0], batches[1], batches[2]});
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.duplicates, 3u);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "20");
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM rejects"), "5");
  metrics = testing::sh("curl -s " + c.api_url() + "/metrics");
  EXPECT_NE(metrics.find("tapir_collector_rejected_batches_total 5"), std::string::npos) << metrics;
  // Batch 4 had no readable sequence: below it everything is recorded as
  // stored, above it each batch (the too-large one too) one by one.
  EXPECT_EQ(sqlite(db, "SELECT contiguous, recent FROM _ingest WHERE agent_id = 'agent-1' AND "
                       "instance = '00000000000000cc'"),
            "3|5,6,7,8");
  // The too-large batch again: recognised, not stored twice.
  auto big_again = send_raw(ch, {oversized});
  EXPECT_EQ(big_again.duplicates, 1u);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM rejects"), "5");
}

// A batch header that cannot key de-duplication (an instance id over 64
// bytes) is kept whole as a reject and acknowledged; the stream goes on.
TEST_F(Quarantine, UnusableHeaderIsQuarantinedWhole) {
  std::string db = dir_ + "/header.db";
  testing::CollectorProcess c(db, args());
  ASSERT_TRUE(c.start()) << c.output();
  std::string bad = len_field(1, "agent-1") + varint(2 << 3) + varint(1) + len_field(3, flow_event(1, "h1:0")) +
                    len_field(4, std::string(65, 'x'));
  std::string next = batch(2, {flow_event(2, "h2:0")});
  auto r = send_raw(testing::agent_channel(c.grpc_target(), &certs_, "agent-1"), {bad, next});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.acked, 2u);
  EXPECT_EQ(sqlite(db, "SELECT community_id FROM flow"), "h2:0");
  EXPECT_EQ(sqlite(db, "SELECT reason, sequence, instance, size = " + std::to_string(bad.size()) + " FROM rejects"),
            "6|1||1");
}

// A retention by age removes old rejects like old events.
TEST_F(Quarantine, RetentionAppliesToRejects) {
  std::string db = dir_ + "/retention.db";
  auto a = args();
  a.insert(a.end(), {"--retention-age", "1h", "--retention-interval", "1s"});
  testing::CollectorProcess c(db, a);
  ASSERT_TRUE(c.start()) << c.output();
  auto r = send_raw(testing::agent_channel(c.grpc_target(), &certs_, "agent-1"),
                    {batch(1, {bad_dns_event(), flow_event(1, "r1:0")})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM rejects"), "1");
  c.stop(SIGTERM);
  // Age the reject by two hours, as if received then.
  sqlite(db, "UPDATE rejects SET ts = ts - 7200000000000");
  ASSERT_TRUE(c.start()) << c.output();
  for (int i = 0; i < 100 && sqlite(db, "SELECT COUNT(*) FROM rejects") != "0"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM rejects"), "0");
}

}  // namespace
}  // namespace tapir
