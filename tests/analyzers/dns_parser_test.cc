// DNS message parser: hand-made messages for each damage case (expected values
// from RFC 1035/3596/6891), and every UDP DNS message of the corpus compared
// field by field with tshark's table for that capture.
#include "analyzers/dns/parser.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "dns_crafted.h"
#include "oracle.h"

namespace tapir::analyzers::dns {
namespace {

using tapir::testing::corpus;
using tapir::testing::split;

std::vector<uint8_t> header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                            uint16_t ar) {
  std::vector<uint8_t> v(12);
  store_be16(&v[0], id);
  store_be16(&v[2], flags);
  store_be16(&v[4], qd);
  store_be16(&v[6], an);
  store_be16(&v[8], ns);
  store_be16(&v[10], ar);
  return v;
}

void put(std::vector<uint8_t>& v, std::initializer_list<int> bytes) {
  for (int b : bytes) v.push_back(static_cast<uint8_t>(b));
}

void put_name(std::vector<uint8_t>& v, const std::string& dotted) {
  for (const auto& label : split(dotted, ".")) {
    v.push_back(static_cast<uint8_t>(label.size()));
    v.insert(v.end(), label.begin(), label.end());
  }
  v.push_back(0);
}

Message parse(const std::vector<uint8_t>& v) {
  Message m;
  parse_message(Bytes(v.data(), v.size()), m);
  return m;
}

TEST(DnsParser, QueryWithCompressedAnswer) {
  auto v = header(0x1234, 0x8180, 1, 2, 0, 0);
  put_name(v, "www.example.com");
  put(v, {0, 1, 0, 1});
  // CNAME www.example.com -> example.com (pointer into the question), then A.
  put(v, {0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 2, 0xc0, 16});
  put(v, {0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.empty()) << m.anomalies.bits;
  EXPECT_EQ(m.header.id, 0x1234);
  EXPECT_TRUE(m.header.qr());
  EXPECT_TRUE(m.header.rd());
  EXPECT_TRUE(m.header.ra());
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "www.example.com");
  ASSERT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(m.answers[0].name, "www.example.com");
  EXPECT_EQ(m.answers[0].ttl, 3600u);
  EXPECT_EQ(m.answers[0].data, "example.com");
  EXPECT_EQ(m.answers[1].name, "example.com");
  EXPECT_EQ(m.answers[1].data, "93.184.216.34");
}

TEST(DnsParser, SelfPointerIsBadAndLoop) {
  auto v = header(1, 0, 1, 0, 0, 0);
  put(v, {0xc0, 12, 0, 1, 0, 1});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kBadPointer));
  EXPECT_TRUE(m.anomalies.has(Anomaly::kPointerLoop));
  ASSERT_EQ(m.questions.size(), 1u);  // the end of the name is known: the question is read
  EXPECT_EQ(m.questions[0].type, 1);
}

TEST(DnsParser, TwoPointerLoopDetected) {
  // Question name: label "a" then pointer to offset 12 (itself, via the label).
  auto v = header(1, 0, 1, 0, 0, 0);
  put(v, {1, 'a', 0xc0, 12, 0, 1, 0, 1});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kPointerLoop));
  EXPECT_FALSE(m.anomalies.has(Anomaly::kTruncated));
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].type, 1);
}

TEST(DnsParser, ForwardPointersLoopBoundedByJumpLimit) {
  // Two forward pointers pointing at each other from the answer section:
  // q1 -> offset of q2, q2 -> q1 is backward to walked ground: a loop.
  auto v = header(1, 0, 2, 0, 0, 0);
  put(v, {0xc0, 18, 0, 1, 0, 1});  // at 12: forward to 18
  put(v, {0xc0, 12, 0, 1, 0, 1});  // at 18: back to 12
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kBadPointer));
  EXPECT_TRUE(m.anomalies.has(Anomaly::kPointerLoop));
  EXPECT_EQ(m.questions.size(), 2u);
}

TEST(DnsParser, ForwardPointerFollowedAndFlagged) {
  // As suricata-verify dns-forward-pointer: the first question points at the second.
  auto v = header(7, 0x0100, 2, 0, 0, 0);
  put(v, {0xc0, 18, 0, 1, 0, 1});
  put_name(v, "codemonkey.net");
  put(v, {0, 1, 0, 1});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kBadPointer));
  EXPECT_FALSE(m.anomalies.has(Anomaly::kPointerLoop));
  ASSERT_EQ(m.questions.size(), 2u);
  EXPECT_EQ(m.questions[0].name, "codemonkey.net");
  EXPECT_EQ(m.questions[1].name, "codemonkey.net");
}

TEST(DnsParser, PointerOutsideMessage) {
  auto v = header(1, 0, 1, 0, 0, 0);
  put(v, {0xc1, 0xff, 0, 1, 0, 1});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kBadPointer));
  ASSERT_EQ(m.questions.size(), 1u);
}

TEST(DnsParser, NameTooLong) {
  auto v = header(1, 0, 1, 0, 0, 0);
  // 5 labels of 63 bytes: 5 * 64 + 1 = 321 bytes > 255.
  for (int i = 0; i < 5; ++i) {
    v.push_back(63);
    v.insert(v.end(), 63, 'x');
  }
  put(v, {0, 0, 1, 0, 1});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kNameTooLong));
  ASSERT_EQ(m.questions.size(), 1u);  // the end was found: the type is read
  EXPECT_EQ(m.questions[0].type, 1);
  EXPECT_LE(m.questions[0].name.size(), kMaxNameWireLen);
  EXPECT_FALSE(m.anomalies.has(Anomaly::kTrailingBytes));
}

TEST(DnsParser, NameAtTheLimitIsFine) {
  auto v = header(1, 0, 1, 0, 0, 0);
  // 3 * 64 + 62 + 1 = 255 bytes exactly.
  for (int i = 0; i < 3; ++i) {
    v.push_back(63);
    v.insert(v.end(), 63, 'y');
  }
  v.push_back(61);
  v.insert(v.end(), 61, 'z');
  put(v, {0, 0, 1, 0, 1});
  Message m = parse(v);
  EXPECT_FALSE(m.anomalies.has(Anomaly::kNameTooLong));
  EXPECT_EQ(m.questions.at(0).name.size(), 253u);
}

TEST(DnsParser, ReservedLabelTypesStopParsing) {
  for (int kind : {0x40, 0x80}) {
    auto v = header(1, 0, 1, 0, 0, 0);
    put(v, {kind | 1, 'a', 0, 0, 1, 0, 1});
    Message m = parse(v);
    EXPECT_TRUE(m.anomalies.has(Anomaly::kBadLabelType)) << kind;
    EXPECT_TRUE(m.questions.size() <= 1u);
  }
}

TEST(DnsParser, TruncatedAndTrailing) {
  auto v = header(1, 0x8000, 1, 1, 0, 0);
  put_name(v, "a.b");
  put(v, {0, 1, 0, 1});
  Message m = parse(v);  // the answer is missing
  EXPECT_TRUE(m.anomalies.has(Anomaly::kTruncated));
  EXPECT_EQ(m.questions.size(), 1u);

  auto w = header(1, 0, 1, 0, 0, 0);
  put_name(w, "a.b");
  put(w, {0, 1, 0, 1, 0xde, 0xad});
  Message t = parse(w);
  EXPECT_TRUE(t.anomalies.has(Anomaly::kTrailingBytes));
  EXPECT_FALSE(t.anomalies.has(Anomaly::kTruncated));

  Message h;
  EXPECT_FALSE(parse_message(Bytes(w.data(), 11), h));
  EXPECT_TRUE(h.anomalies.has(Anomaly::kTruncated));

  // Record data longer than the message.
  auto x = header(1, 0x8000, 0, 1, 0, 0);
  put(x, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 50, 1, 2});
  Message r = parse(x);
  EXPECT_TRUE(r.anomalies.has(Anomaly::kTruncated));
}

TEST(DnsParser, BadRdataBecomesHex) {
  auto v = header(1, 0x8000, 0, 1, 0, 0);
  put(v, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kBadRdata));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].data, "0102030405");
}

TEST(DnsParser, InvalidOpcode) {
  auto v = header(1, 9 << 11, 1, 0, 0, 0);
  put_name(v, "suricata.io");
  put(v, {0, 1, 0, 1});
  Message m = parse(v);
  EXPECT_EQ(m.header.opcode(), 9);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kInvalidOpcode));
  EXPECT_EQ(m.questions.at(0).name, "suricata.io");
}

TEST(DnsParser, RdataRenderers) {
  auto v = header(1, 0x8000, 0, 5, 0, 1);
  // AAAA 2001:db8::1
  put(v, {0, 0, 28, 0, 1, 0, 0, 0, 1, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          0, 1});
  // MX 10 mx.a
  put(v, {0, 0, 15, 0, 1, 0, 0, 0, 1, 0, 8, 0, 10, 2, 'm', 'x', 1, 'a', 0});
  // TXT "hi" "a\"b"
  put(v, {0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 7, 2, 'h', 'i', 3, 'a', '"', 'b'});
  // SRV 1 2 443 t
  put(v, {0, 0, 33, 0, 1, 0, 0, 0, 1, 0, 9, 0, 1, 0, 2, 0x01, 0xbb, 1, 't', 0});
  // SOA ns.a host.a 1 2 3 4 5
  std::vector<uint8_t> soa;
  put_name(soa, "ns.a");
  put_name(soa, "host.a");
  for (int i = 1; i <= 5; ++i) put(soa, {0, 0, 0, i});
  put(v, {0, 0, 6, 0, 1, 0, 0, 0, 1, 0, static_cast<int>(soa.size())});
  v.insert(v.end(), soa.begin(), soa.end());
  // OPT: udp 1232, ext rcode 1, version 0, DO, one COOKIE option (10) of 8 bytes.
  put(v, {0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});
  Message m = parse(v);
  EXPECT_TRUE(m.anomalies.empty()) << m.anomalies.bits;
  ASSERT_EQ(m.answers.size(), 5u);
  EXPECT_EQ(m.answers[0].data, "2001:db8::1");
  EXPECT_EQ(m.answers[1].data, "10 mx.a");
  EXPECT_EQ(m.answers[2].data, "\"hi\" \"a\\\"b\"");
  EXPECT_EQ(m.answers[3].data, "1 2 443 t");
  EXPECT_EQ(m.answers[4].data, "ns.a host.a 1 2 3 4 5");
  ASSERT_TRUE(m.edns.present);
  EXPECT_EQ(m.edns.udp_size, 1232);
  EXPECT_TRUE(m.edns.do_bit);
  EXPECT_EQ(m.edns.ext_rcode, 1);
  EXPECT_EQ(m.full_rcode(), 16);  // BADVERS
  EXPECT_EQ(rcode_name(m.full_rcode()), "BADVERS");
  ASSERT_EQ(m.edns.options.size(), 1u);
  EXPECT_EQ(m.edns.options[0].code, 10);
  EXPECT_EQ(m.edns.options[0].hex, "0102030405060708");
}

TEST(DnsParser, Aaaa5952Forms) {
  auto one = [](std::initializer_list<int> b) {
    std::vector<uint8_t> v;
    put(v, b);
    std::string s;
    EXPECT_TRUE(parse_rdata_aaaa(ByteReader(v.data(), v.size()), s));
    return s;
  };
  EXPECT_EQ(one({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "::");
  EXPECT_EQ(one({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), "::1");
  EXPECT_EQ(one({0x20, 1, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}), "2001:db8:0:1::1");
  EXPECT_EQ(one({0x20, 1, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1}), "2001:db8:1:0:1:1:1:1");
  EXPECT_EQ(one({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "fe80::");
}

TEST(DnsParser, LooksLikeDns) {
  auto v = header(0x4242, 0x0100, 1, 0, 0, 0);
  put_name(v, "example.org");
  put(v, {0, 1, 0, 1});
  EXPECT_TRUE(looks_like_dns(Bytes(v.data(), v.size())));
  const std::string http = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
  EXPECT_FALSE(looks_like_dns(Bytes(reinterpret_cast<const uint8_t*>(http.data()), http.size())));
  std::vector<uint8_t> zeros(64, 0);
  EXPECT_FALSE(looks_like_dns(Bytes(zeros.data(), zeros.size())));
}

// ---- Work per message
// -------------------------------------------------------- Work is counted in
// the parser's units (a wire byte of a label or pointer examined), never timed.
// "Naive" is what decoding each name on its own costs, as the parser did before
// suffixes were memoised.

namespace dc = tapir::testing::dns_crafted;

// A UDP datagram's largest DNS payload with room for IP and UDP headers.
constexpr size_t kCraftedSize = 63000;

size_t naive_work(const dc::Crafted& c) {
  const Bytes msg(c.bytes.data(), c.bytes.size());
  std::string out;
  size_t total = 0;
  for (size_t off : c.name_offsets) {
    ByteReader r(msg.subspan(off));
    total += parse_name(msg, r, out).work;
  }
  return total;
}

Message parse_crafted(const dc::Crafted& c) {
  Message m;
  EXPECT_TRUE(parse_message(Bytes(c.bytes.data(), c.bytes.size()), m));
  return m;
}

TEST(DnsParserWork, PointerChainsCostLinearWork) {
  const dc::Crafted c = dc::hostile(kCraftedSize);
  const size_t size = c.bytes.size();
  ASSERT_GT(size, kCraftedSize - 16);
  const size_t naive = naive_work(c);
  const Message m = parse_crafted(c);
  std::printf(
      "crafted %zu bytes, %zu records: work %zu (%.2f/byte), naive %zu "
      "(%.1f/byte)\n",
      size, c.records, m.name_work, double(m.name_work) / size, naive, double(naive) / size);
  // Each 14-byte record makes a naive decoder walk two 127-step chains.
  EXPECT_GT(naive, 60 * size);
  // Every name decoded in full, and the chain walked once.
  EXPECT_TRUE(m.anomalies.empty()) << m.anomalies.bits;
  EXPECT_LE(m.name_work, 2 * size);
  ASSERT_EQ(m.answers.size(), kMaxRecordsKept);
  EXPECT_EQ(m.records_dropped, c.records - kMaxRecordsKept);
  for (size_t i : {size_t{1}, size_t{2}, kMaxRecordsKept - 1}) {
    EXPECT_EQ(m.answers[i].name, c.top_name) << i;
    EXPECT_EQ(m.answers[i].data, c.top_name) << i;
  }
}

TEST(DnsParserWork, OverlongNamesStopAtTheBudget) {
  // Names one label too long cannot be reused; each costs a full walk.
  const dc::Crafted c = dc::hostile(kCraftedSize, dc::Tail::kOverlong);
  const size_t size = c.bytes.size();
  const size_t naive = naive_work(c);
  const Message m = parse_crafted(c);
  std::printf("overlong %zu bytes: work %zu, budget %zu, naive %zu (%.1f/byte)\n", size,
              m.name_work, name_work_budget(size), naive, double(naive) / size);
  EXPECT_GT(naive, 30 * size);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kWorkLimit));
  EXPECT_TRUE(m.anomalies.has(Anomaly::kNameTooLong));
  EXPECT_FALSE(m.anomalies.has(Anomaly::kBadRdata));  // undecoded is not bad
  // The budget holds to within one label (the one that crossed it).
  EXPECT_LE(m.name_work, name_work_budget(size) + 64);
  EXPECT_GE(m.name_work, name_work_budget(size));
  // What was read before the stop is kept: the opaque first record and the
  // overlong records up to there, their names cut at 255 wire bytes.
  ASSERT_GE(m.answers.size(), 2u);
  EXPECT_EQ(m.answers[0].type, 10);
  EXPECT_EQ(m.answers[1].name.substr(0, 4), "y.x.");
  EXPECT_EQ(m.answers[1].data, c.top_name);
}

TEST(DnsParserWork, LoopingChainsStopAtTheBudget) {
  const dc::Crafted c = dc::hostile(kCraftedSize, dc::Tail::kLoop);
  const size_t size = c.bytes.size();
  const size_t naive = naive_work(c);
  const Message m = parse_crafted(c);
  std::printf("looping %zu bytes: work %zu, budget %zu, naive %zu (%.1f/byte)\n", size, m.name_work,
              name_work_budget(size), naive, double(naive) / size);
  EXPECT_GT(naive, 30 * size);
  EXPECT_TRUE(m.anomalies.has(Anomaly::kPointerLoop));
  EXPECT_TRUE(m.anomalies.has(Anomaly::kWorkLimit));
  EXPECT_LE(m.name_work, name_work_budget(size) + 64);
}

TEST(DnsParserWork, BenignMessageOfTheSameSize) {
  const dc::Crafted c = dc::benign(kCraftedSize);
  const size_t size = c.bytes.size();
  const size_t naive = naive_work(c);
  const Message m = parse_crafted(c);
  std::printf(
      "benign %zu bytes, %zu records: work %zu (%.2f/byte), naive %zu "
      "(%.2f/byte)\n",
      size, c.records, m.name_work, double(m.name_work) / size, naive, double(naive) / size);
  EXPECT_TRUE(m.anomalies.empty()) << m.anomalies.bits;
  EXPECT_EQ(m.answers.size(), kMaxRecordsKept);
  EXPECT_EQ(m.records_dropped, c.records - kMaxRecordsKept);
  // Real compression is cheap both ways; the memo never costs more.
  EXPECT_LT(naive, 4 * size);
  EXPECT_LE(m.name_work, naive);
  EXPECT_LE(m.name_work, size);
}

TEST(DnsParserWork, MemoMatchesLoneDecodingAndIsPerMessage) {
  // Names decoded through the memo equal those decoded one at a time, also
  // when the previous message left entries at the same offsets.
  Message m;
  const dc::Crafted hostile = dc::hostile(4000);
  const dc::Crafted benign = dc::benign(4000);
  for (const dc::Crafted* c : {&hostile, &benign, &hostile}) {
    const Bytes msg(c->bytes.data(), c->bytes.size());
    ASSERT_TRUE(parse_message(msg, m));
    EXPECT_TRUE(m.anomalies.empty());
    std::vector<std::string> lone;
    std::string out;
    for (size_t off : c->name_offsets) {
      ByteReader r(msg.subspan(off));
      parse_name(msg, r, out);
      lone.push_back(out);
    }
    // name_offsets lists the names in message order: questions, then each
    // record's owner and, for CNAME and PTR, its data.
    std::vector<std::string> got;
    for (const Question& q : m.questions) got.push_back(q.name);
    for (const Record& rec : m.answers) {
      got.push_back(rec.name);
      if (rec.type == 5 || rec.type == 12) got.push_back(rec.data);
    }
    ASSERT_LE(got.size(), lone.size());
    ASSERT_GT(got.size(), 100u);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], lone[i]) << i;
  }
}

TEST(DnsParserWork, SmallMessageKeepsTheSlack) {
  // Under 600 bytes the per-byte allowance alone would not pay for even one
  // maximal name walked in full; the slack does.
  const dc::Crafted c = dc::hostile(600, dc::Tail::kOverlong);
  const Message m = parse_crafted(c);
  EXPECT_FALSE(m.anomalies.has(Anomaly::kWorkLimit));
  EXPECT_TRUE(m.anomalies.has(Anomaly::kNameTooLong));
  EXPECT_EQ(m.answers.size(), c.records);
}

// Writes the crafted messages as fuzz seeds into the current directory.
TEST(DnsParserWork, DISABLED_WriteSeeds) {
  const std::pair<const char*, dc::Crafted> seeds[] = {
      {"crafted-chains", dc::hostile(kCraftedSize)},
      {"crafted-overlong", dc::hostile(kCraftedSize, dc::Tail::kOverlong)},
      {"crafted-loop", dc::hostile(kCraftedSize, dc::Tail::kLoop)},
  };
  for (const auto& [name, c] : seeds) {
    std::ofstream f(name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(c.bytes.data()),
            static_cast<std::streamsize>(c.bytes.size()));
    ASSERT_TRUE(f.good()) << name;
  }
}

// ---- Corpus against tshark -------------------------------------------------

// Our quoted TXT strings back to raw text, to compare with tshark's dns.txt.
std::vector<std::string> unquote_all(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '"') {
      ++i;
      continue;
    }
    std::string cur;
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) {
        if (i + 3 < s.size() && isdigit(s[i + 1])) {
          cur.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3))));
          i += 4;
        } else {
          cur.push_back(s[i + 1]);
          i += 2;
        }
      } else {
        cur.push_back(s[i++]);
      }
    }
    ++i;
    out.push_back(cur);
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Every field of one tshark row against one parsed message.
void expect_row(const std::map<std::string, std::string>& row, const Message& m,
                const std::string& where) {
  SCOPED_TRACE(where + " frame " + row.at("frame"));
  EXPECT_EQ(std::to_string(m.header.id), row.at("dns.id"));
  EXPECT_EQ(m.header.qr() ? "1" : "0", row.at("dns.flags.response"));
  EXPECT_EQ(std::to_string(m.header.opcode()), row.at("dns.flags.opcode"));
  if (m.header.qr()) {
    EXPECT_EQ(std::to_string(m.header.rcode()), row.at("dns.flags.rcode"));
  }
  std::vector<std::string> qn, qt;
  for (const auto& q : m.questions) {
    qn.push_back(q.name.empty() ? "<Root>" : q.name);
    qt.push_back(std::to_string(q.type));
  }
  EXPECT_EQ(join(qn, ","), row.at("dns.qry.name"));
  EXPECT_EQ(join(qt, ","), row.at("dns.qry.type"));
  EXPECT_EQ(std::to_string(m.header.ancount), row.at("dns.count.answers"));
  std::vector<std::string> types, a, aaaa, cname, mx, ns, ptr, soa, txt;
  for (const auto* sec : {&m.answers, &m.authorities, &m.additionals}) {
    for (const auto& r : *sec) {
      types.push_back(std::to_string(r.type));
      switch (r.type) {
        case type::kA: a.push_back(r.data); break;
        case type::kAaaa: aaaa.push_back(r.data); break;
        case type::kCname: cname.push_back(r.data); break;
        case type::kMx: mx.push_back(r.data.substr(r.data.find(' ') + 1)); break;
        case type::kNs: ns.push_back(r.data); break;
        case type::kPtr: ptr.push_back(r.data); break;
        case type::kSoa: soa.push_back(r.data.substr(0, r.data.find(' '))); break;
        case type::kTxt:
          for (auto& s : unquote_all(r.data)) txt.push_back(s);
          break;
        default: break;
      }
    }
  }
  EXPECT_EQ(join(types, ","), row.at("dns.resp.type"));
  EXPECT_EQ(join(a, ","), row.at("dns.a"));
  EXPECT_EQ(join(aaaa, ","), row.at("dns.aaaa"));
  EXPECT_EQ(join(cname, ","), row.at("dns.cname"));
  EXPECT_EQ(join(mx, ","), row.at("dns.mx.mail_exchange"));
  EXPECT_EQ(join(ns, ","), row.at("dns.ns"));
  EXPECT_EQ(join(ptr, ","), row.at("dns.ptr.domain_name"));
  EXPECT_EQ(join(soa, ","), row.at("dns.soa.mname"));
  EXPECT_EQ(join(txt, " | "), row.at("dns.txt"));
}

struct CorpusCase {
  const char* pcap;
  const char* tsv;
  // Anomalies every message of the capture is expected to carry (the
  // malformed cases), and anomalies no message may carry.
  uint32_t must = 0;
};

constexpr uint32_t bit(Anomaly a) { return 1u << static_cast<int>(a); }

// Captures whose DNS travels in plain Ethernet/IP/UDP frames. DNS over TCP,
// inside tunnels or in IP fragments needs the decoder and reassembly: those
// captures are compared in dns_corpus_test through the engine.
const CorpusCase kUdpCases[] = {
    {"suricata-verify/cond-log-dns-dig/input.pcap", "suricata-verify/cond-log-dns-dig/input.dns.tsv"},
    {"suricata-verify/dns-eve-v2-udp-nxdomain-soa/dns-udp-nxdomain-soa.pcap",
     "suricata-verify/dns-eve-v2-udp-nxdomain-soa/dns-udp-nxdomain-soa.dns.tsv"},
    {"suricata-verify/dns__dns-udp-eve-log-answer-only/dns-udp-google.com-a-aaaa-mx.pcap",
     "suricata-verify/dns__dns-udp-eve-log-answer-only/dns-udp-google.com-a-aaaa-mx.dns.tsv"},
    {"suricata-verify/dns__dns-udp-eve-txt/input.pcap",
     "suricata-verify/dns__dns-udp-eve-txt/input.dns.tsv"},
    {"suricata-verify/dns__dns-invalid-opcode/input.pcap",
     "suricata-verify/dns__dns-invalid-opcode/input.dns.tsv", bit(Anomaly::kInvalidOpcode)},
    {"tcpdump/dns_udp/dns_udp.pcap", "tcpdump/dns_udp/dns_udp.dns.tsv"},
    {"tcpdump/dnssec/dnssec.pcap", "tcpdump/dnssec/dnssec.dns.tsv"},
    {"tcpdump/edns-opts/edns-opts.pcap", "tcpdump/edns-opts/edns-opts.dns.tsv"},
    {"zeek/dns-two-responses/dns-two-responses.pcap", "zeek/dns-two-responses/dns-two-responses.dns.tsv"},
    {"zeek/dns__dns-binds/dns-binds.pcap", "zeek/dns__dns-binds/dns-binds.dns.tsv"},
    {"zeek/dns__dns-corrupt/dns-corrupt.pcap", "zeek/dns__dns-corrupt/dns-corrupt.dns.tsv"},
    {"zeek/ipv6-fragmented-dns/ipv6-fragmented-dns.pcap",
     "zeek/ipv6-fragmented-dns/ipv6-fragmented-dns.dns.tsv"},
};

TEST(DnsParserCorpus, UdpMessagesMatchTshark) {
  int compared = 0;
  for (const auto& c : kUdpCases) {
    std::string err;
    auto frames = tapir::testing::read_pcap(corpus(c.pcap), err);
    ASSERT_FALSE(frames.empty()) << c.pcap << ": " << err;
    auto table = tapir::testing::load_tsv(corpus(c.tsv));
    ASSERT_TRUE(table.ok) << c.tsv;
    int here = 0;
    for (const auto& row : table.rows) {
      if (row.at("dns.id").empty()) continue;
      const int n = std::stoi(row.at("frame"));
      ASSERT_LE(n, static_cast<int>(frames.size()));
      Bytes payload;
      uint16_t sp = 0, dp = 0;
      // Rows whose frame is an IP fragment are reached only with reassembly.
      if (!tapir::testing::udp_payload(frames[n - 1], payload, sp, dp)) continue;
      Message m;
      ASSERT_TRUE(parse_message(payload, m));
      expect_row(row, m, c.pcap);
      if (c.must) {
        EXPECT_EQ(m.anomalies.bits & c.must, c.must) << c.pcap;
      }
      ++compared;
      ++here;
    }
    EXPECT_GT(here, 0) << c.pcap;
  }
  EXPECT_GE(compared, 40);
}

// The forward-pointer capture: tshark and Suricata both follow the forward
// pointer and show two questions; so does the parser, and it flags it.
TEST(DnsParserCorpus, ForwardPointerFollowedAndFlagged) {
  std::string err;
  auto frames = tapir::testing::read_pcap(
      corpus("suricata-verify/dns__dns-forward-pointer/input.pcap"), err);
  auto table = tapir::testing::load_tsv(
      corpus("suricata-verify/dns__dns-forward-pointer/input.dns.tsv"));
  ASSERT_EQ(frames.size(), 2u) << err;
  ASSERT_EQ(table.rows.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    Bytes payload;
    uint16_t sp = 0, dp = 0;
    ASSERT_TRUE(tapir::testing::udp_payload(frames[i], payload, sp, dp));
    Message m;
    ASSERT_TRUE(parse_message(payload, m));
    expect_row(table.rows[i], m, "dns-forward-pointer");
    if (i == 0) {
      EXPECT_TRUE(m.anomalies.has(Anomaly::kBadPointer));
    }
  }
}

// Deliberate differences from tshark, by case and reason.
struct Difference {
  const char* capture;
  const char* field;
  const char* reason;
};
const Difference kDifferences[] = {
    {"tcpdump/dns_fwdptr", "dns.qry.name",
     "tshark prints '<Name too long>' for each of the 507 questions; Tapir keeps the first "
     "255 wire bytes of each name (kMaxQuestionsKept questions) and flags name_too_long / "
     "pointer anomalies instead of a placeholder"},
};

TEST(DnsParserCorpus, ForwardPointerFloodFromTcpdump) {
  SCOPED_TRACE(kDifferences[0].reason);
  std::string err;
  auto frames = tapir::testing::read_pcap(corpus("tcpdump/dns_fwdptr/dns_fwdptr.pcap"), err);
  auto table = tapir::testing::load_tsv(corpus("tcpdump/dns_fwdptr/dns_fwdptr.dns.tsv"));
  ASSERT_EQ(frames.size(), 1u) << err;
  ASSERT_EQ(table.rows.size(), 1u);
  const auto& row = table.rows[0];
  Bytes payload;
  uint16_t sp = 0, dp = 0;
  ASSERT_TRUE(tapir::testing::udp_payload(frames[0], payload, sp, dp));
  Message m;
  ASSERT_TRUE(parse_message(payload, m));
  // Header fields agree with tshark.
  EXPECT_EQ(std::to_string(m.header.id), row.at("dns.id"));
  EXPECT_EQ(std::to_string(m.header.opcode()), row.at("dns.flags.opcode"));
  EXPECT_EQ(std::to_string(m.header.rcode()), row.at("dns.flags.rcode"));
  // The header announces 64259 questions; both tshark and the parser stop at
  // the same one (a 0x40/0x80 label type, whose length is unknown).
  EXPECT_EQ(m.questions.size() + m.records_dropped, split(row.at("dns.qry.name"), ",").size());
  EXPECT_TRUE(m.anomalies.has(Anomaly::kBadLabelType));
  EXPECT_TRUE(m.anomalies.has(Anomaly::kBadPointer));
  EXPECT_TRUE(m.anomalies.has(Anomaly::kInvalidOpcode));  // opcode 15
  EXPECT_TRUE(m.anomalies.has(Anomaly::kNameTooLong) || m.anomalies.has(Anomaly::kPointerLoop))
      << m.anomalies.bits;
  EXPECT_LE(m.questions.size(), kMaxQuestionsKept);
  // Text may be up to 4x the wire bytes (\DDD escapes); the wire bound is what holds.
  for (const auto& q : m.questions) EXPECT_LE(q.name.size(), 4 * kMaxNameWireLen);
}

}  // namespace
}  // namespace tapir::analyzers::dns
