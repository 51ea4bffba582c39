// Store (SQLite backend) against the sqlite3 CLI: de-duplication, survival
// across reopen, migration from an older layout, refusal of a newer one, and
// that the column model covers every field of every event.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "events.h"
#include "harness.h"
#include "schema/columns.h"
#include "store/store.h"

namespace tapir {
namespace {

using testing::sqlite;

TEST(Store, ResentBatchIsStoredOnce) {
  std::string dir = testing::temp_dir("store-dedup");
  std::string db = dir + "/t.db";
  auto b1 = testing::flow_batch("a", 1, 0, 10);
  auto b2 = testing::flow_batch("a", 2, 10, 10);
  {
    auto s = store::open_sqlite(db);
    auto r = s->insert({{"a", 1, &b1}, {"a", 2, &b2}, {"a", 1, &b1}});
    EXPECT_EQ(r.events, 20u);
    EXPECT_EQ(r.duplicates, 1u);
    EXPECT_TRUE(r.outcomes[2].duplicate);
    // Same sequence from another agent is a different batch.
    auto r2 = s->insert({{"b", 1, &b1}});
    EXPECT_EQ(r2.duplicates, 0u);
  }
  // Reopened (as after a crash): the de-dup state is in the database.
  {
    auto s = store::open_sqlite(db);
    auto r = s->insert({{"a", 2, &b2}, {"a", 1, &b1}});
    EXPECT_EQ(r.duplicates, 2u);
    EXPECT_EQ(r.events, 0u);
  }
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow WHERE agent_id='a'"), "20");
  EXPECT_EQ(sqlite(db, "SELECT COUNT(DISTINCT community_id) FROM flow WHERE agent_id='a'"), "20");
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow WHERE agent_id='b'"), "10");
  EXPECT_EQ(sqlite(db, "SELECT contiguous FROM _ingest WHERE agent_id='a'"), "2");
}

// Rejects go in with their batch: once per (agent, instance, sequence), in
// the kept row counts, and a batch without a usable key leaves _ingest alone.
TEST(Store, RejectsAreStoredWithTheirBatchOnce) {
  std::string db = testing::temp_dir("store-rejects") + "/t.db";
  auto s = store::open_sqlite(db);
  auto b = testing::flow_batch("a", 1, 0, 2);
  std::vector<v1::Reject> rej(2);
  rej[0].set_reason(v1::REJECT_INVALID_UTF8);
  rej[0].set_event_index(1);
  rej[0].set_raw(std::string("\x12\x02\xff\x00", 4));
  rej[0].mutable_ts()->set_seconds(testing::kBaseSec);
  rej[1].set_reason(v1::REJECT_UNKNOWN_EVENT_TYPE);
  rej[1].set_event_type(42);
  store::BatchIn in("a", 1, &b, "i1");
  in.rejects = &rej;
  auto r = s->insert({in, in});
  EXPECT_EQ(r.rejects, 2u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(sqlite(db, "SELECT agent_id, reason, event_index, event_type, raw, ts FROM rejects ORDER BY id"),
            "a|1|1|0|1202ff00|" + std::to_string(testing::kBaseSec) + "000000000\na|2|0|42||");
  EXPECT_EQ(sqlite(db, "SELECT n FROM _counts WHERE tbl = 'rejects'"), "2");
  // Without a key: stored each time, no de-duplication state written.
  v1::EventBatch none;
  store::BatchIn nokey("a", 0, &none, "");
  nokey.rejects = &rej;
  nokey.dedup = false;
  auto r2 = s->insert({nokey, nokey});
  EXPECT_EQ(r2.rejects, 4u);
  EXPECT_EQ(r2.duplicates, 0u);
  EXPECT_EQ(sqlite(db, "SELECT agent_id, instance, contiguous, recent FROM _ingest"), "a|i1|1|");
  EXPECT_EQ(s->stats().rows["rejects"], 6);
}

TEST(Store, OutOfOrderSequencesAreRemembered) {
  std::string db = testing::temp_dir("store-ooo") + "/t.db";
  auto s = store::open_sqlite(db);
  std::vector<v1::EventBatch> b;
  for (int i = 1; i <= 5; ++i) b.push_back(testing::flow_batch("a", static_cast<uint64_t>(i), i * 10, 1));
  s->insert({{"a", 1, &b[0]}, {"a", 3, &b[2]}, {"a", 5, &b[4]}});
  EXPECT_EQ(sqlite(db, "SELECT contiguous, recent FROM _ingest"), "1|3,5");
  auto r = s->insert({{"a", 3, &b[2]}, {"a", 2, &b[1]}, {"a", 4, &b[3]}, {"a", 5, &b[4]}});
  EXPECT_EQ(r.duplicates, 2u);
  EXPECT_EQ(sqlite(db, "SELECT contiguous, recent FROM _ingest"), "5|");
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "5");
}

TEST(Store, StoredValuesFollowTheColumnModel) {
  std::string db = testing::temp_dir("store-values") + "/t.db";
  auto s = store::open_sqlite(db);
  v1::EventBatch b;
  b.set_sequence(1);
  testing::fill_flow(b.add_events()->mutable_flow(), 66, "x");
  testing::fill_dns(b.add_events()->mutable_dns(), 1);
  s->insert({{"a", 1, &b}});
  // i = 66: src 10.0.2.4, dst 192.168.1.1, vlan [100], tunnel vxlan id 66, ts nanos 66*1237.
  EXPECT_EQ(sqlite(db, "SELECT src_ip, dst_ip, dst_port, vlan, tunnel_type, tunnel_id, src_mac, ts FROM flow"),
            "10.0.2.4|192.168.1.1|80|[100]|2|66|02:00:00:00:00:00|" +
                std::to_string((testing::kBaseSec + 66 * 7) * 1000000000LL + 66 * 1237));
  EXPECT_EQ(sqlite(db, "SELECT query, anomalies, answer_data FROM dns"),
            "example.com|[\"DNS_TRAILING_BYTES\"]|[\"93.184.216.34\"]");
  EXPECT_EQ(sqlite(db, "SELECT json_extract(answers, '$[0].ttl') FROM dns"), "300");
}

TEST(Store, MigratesAnOlderLayoutByAddingColumns) {
  std::string db = testing::temp_dir("store-migrate") + "/t.db";
  // A database as an older collector left it: fewer flow columns, rows in it.
  std::string out = sqlite(db,
                           "CREATE TABLE _meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                           "INSERT INTO _meta VALUES('layout_version','1');"
                           "CREATE TABLE flow(id INTEGER PRIMARY KEY, agent_id TEXT, ingest_ts INTEGER,"
                           " ts INTEGER, src_ip TEXT, dst_ip TEXT);"
                           "INSERT INTO flow(agent_id, ts, src_ip, dst_ip) VALUES('old', 5, '1.1.1.1', '2.2.2.2');"
                           "CREATE TABLE _ingest(agent_id TEXT PRIMARY KEY, contiguous INTEGER NOT NULL, recent TEXT NOT NULL);"
                           "INSERT INTO _ingest VALUES('a', 7, '');");
  ASSERT_EQ(out, "");
  {
    auto s = store::open_sqlite(db);
    // Layout 1's de-duplication state holds for batches without an instance id:
    // sequence 1 was stored before, so it is a duplicate now.
    auto b = testing::flow_batch("a", 1, 0, 3);
    auto r = s->insert({{"a", 1, &b}});
    EXPECT_EQ(r.duplicates, 1u);
    auto b8 = testing::flow_batch("a", 8, 0, 3);
    s->insert({{"a", 8, &b8}});
  }
  EXPECT_EQ(sqlite(db, "SELECT agent_id, instance, contiguous FROM _ingest"), "a||8");
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "4");
  EXPECT_EQ(sqlite(db, "SELECT src_ip, dst_ip, rtt_us IS NULL FROM flow WHERE agent_id='old'"),
            "1.1.1.1|2.2.2.2|1");
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM pragma_table_info('flow') WHERE name='app_proto'"), "1");
  // Layout 2: the kept row count includes the rows that were already there,
  // and the address indexes carry the timestamp.
  EXPECT_EQ(sqlite(db, "SELECT n FROM _counts WHERE tbl='flow'"), "4");
  EXPECT_EQ(sqlite(db, "SELECT value FROM _meta WHERE key='layout_version'"),
            std::to_string(store::kLayoutVersion));
  EXPECT_EQ(sqlite(db, "SELECT group_concat(name, ',') FROM pragma_index_info('flow_dst_ip_ts')"), "dst_ip,ts");
}

TEST(Store, RefusesANewerLayout) {
  std::string db = testing::temp_dir("store-newer") + "/t.db";
  sqlite(db, "CREATE TABLE _meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
             "INSERT INTO _meta VALUES('layout_version','99');");
  try {
    store::open_sqlite(db);
    FAIL() << "opened a newer layout";
  } catch (const store::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this collector supports"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sqlite(db, "SELECT value FROM _meta"), "99");
}

TEST(Store, RefusesAnIncompatibleColumn) {
  std::string db = testing::temp_dir("store-incompat") + "/t.db";
  sqlite(db, "CREATE TABLE flow(id INTEGER PRIMARY KEY, src_port TEXT);");
  EXPECT_THROW(store::open_sqlite(db), store::StoreError);
}

TEST(Store, RetentionByAge) {
  std::string db = testing::temp_dir("store-retention") + "/t.db";
  auto s = store::open_sqlite(db);
  auto b = testing::flow_batch("a", 1, 0, 100);  // ts = base + 7 i seconds
  s->insert({{"a", 1, &b}});
  TimeNs now = (testing::kBaseSec + 700) * kNsPerSec;
  int64_t deleted = s->apply_retention({350 * kNsPerSec, 0}, now);
  std::string expect = sqlite(db, "SELECT COUNT(*) FROM flow WHERE ts < " + std::to_string((testing::kBaseSec + 350) * kNsPerSec));
  EXPECT_EQ(expect, "0");
  EXPECT_EQ(deleted, 50);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "50");
  EXPECT_EQ(s->stats().rows["flow"], 50);  // the kept count follows deletions
}

// The row count the store keeps (X-Total-Count of an unfiltered list) against
// COUNT(*) from the sqlite3 CLI, through inserts of several event types,
// a resent batch, size retention and a reopen.
TEST(Store, KeptRowCountsMatchTheTables) {
  std::string db = testing::temp_dir("store-counts") + "/t.db";
  auto check = [&](store::Store& s) {
    auto st = s.stats();
    for (const auto& r : schema::Model::get().resources())
      EXPECT_EQ(std::to_string(st.rows[r.name]), sqlite(db, "SELECT COUNT(*) FROM \"" + r.name + "\""))
          << r.name;
  };
  {
    auto s = store::open_sqlite(db);
    auto b1 = testing::flow_batch("a", 1, 0, 40);
    v1::EventBatch b2;
    b2.set_sequence(2);
    for (int i = 0; i < 7; ++i) testing::fill_dns(b2.add_events()->mutable_dns(), i);
    for (int i = 0; i < 3; ++i) testing::fill_flow(b2.add_events()->mutable_flow(), i, "b2");
    s->insert({{"a", 1, &b1}, {"a", 2, &b2}});
    s->insert({{"a", 2, &b2}});  // resent: stored once, counted once
    check(*s);
    EXPECT_EQ(s->stats().rows["flow"], 43);
    EXPECT_EQ(s->stats().rows["dns"], 7);
    s->apply_retention({0, 1}, 0);  // over any size: the oldest tenth goes
    check(*s);
  }
  auto again = store::open_sqlite(db);
  check(*again);
  store::Query q;
  q.resource = schema::Model::get().find("flow");
  ASSERT_NE(q.resource, nullptr);
  q.count_total = true;
  q.limit = 5;
  EXPECT_EQ(std::to_string(again->query(q).total), sqlite(db, "SELECT COUNT(*) FROM flow"));
}

TEST(Store, RetentionBySizeDeletesTheOldestRows) {
  std::string db = testing::temp_dir("store-size") + "/t.db";
  auto s = store::open_sqlite(db);
  std::vector<v1::EventBatch> b;
  for (int i = 0; i < 20; ++i) b.push_back(testing::flow_batch("a", static_cast<uint64_t>(i + 1), i * 500, 500));
  std::vector<store::BatchIn> in;
  for (int i = 0; i < 20; ++i) in.push_back({"a", static_cast<uint64_t>(i + 1), &b[static_cast<size_t>(i)]});
  s->insert(in);
  int64_t used = s->stats().bytes;
  ASSERT_GT(used, 0);
  // Under the limit: nothing happens.
  EXPECT_EQ(s->apply_retention({0, used * 2}, 0), 0);
  // Over it: the oldest tenth of the rows goes, newest rows stay.
  int64_t deleted = s->apply_retention({0, used / 2}, 0);
  EXPECT_EQ(deleted, 1000);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*), MIN(id), MAX(id) FROM flow"), "9000|1001|10000");
}

TEST(Schema, CoversEveryEventField) {
  const auto* oneof = v1::Event::descriptor()->FindOneofByName("body");
  // One resource per event type, then the collector's rejects (not an event).
  ASSERT_EQ(static_cast<size_t>(oneof->field_count()) + 1, schema::Model::get().resources().size());
  EXPECT_EQ(schema::Model::get().resources().back().name, "rejects");
  EXPECT_EQ(schema::Model::get().resources().back().event_field, nullptr);
  EXPECT_EQ(schema::Model::get().find(0), nullptr);
  for (int i = 0; i < oneof->field_count(); ++i) {
    const auto* r = schema::Model::get().find(oneof->field(i)->name());
    ASSERT_NE(r, nullptr) << oneof->field(i)->name();
    std::vector<std::string> paths;
    testing::leaf_paths(oneof->field(i)->message_type(), "", 0, paths);
    for (const auto& p : paths) {
      const auto* c = r->find(p);
      ASSERT_NE(c, nullptr) << r->name << "." << p;
      EXPECT_FALSE(c->description.empty()) << r->name << "." << p;
    }
    // Fields plus id, agent_id, ingest_ts; Agent.agent_id shares the extra column.
    size_t shared = r->name == "agent" ? 1 : 0;
    EXPECT_EQ(r->columns.size(), paths.size() + 3 - shared) << r->name;
  }
  const auto* flow = schema::Model::get().find("flow");
  EXPECT_EQ(flow->find("src_ip")->type, schema::ColType::kIp);
  EXPECT_EQ(flow->find("src_mac")->type, schema::ColType::kMac);
  EXPECT_EQ(flow->find("ts")->type, schema::ColType::kTimestamp);
  EXPECT_EQ(flow->find("vlan")->type, schema::ColType::kJson);
  EXPECT_EQ(flow->find("end_reason")->type, schema::ColType::kEnum);
  EXPECT_EQ(flow->find("src_port")->description, "Originator: Transport port (TCP/UDP); 0 where the protocol has none.");
}

}  // namespace
}  // namespace tapir
