// Hostile text from the wire, through the real pipeline: a capture written
// here puts invalid UTF-8, NUL and control bytes, escape look-alikes and
// over-long values into every text field of every event type that takes text
// from the wire. Every string of every event must come out valid UTF-8 free
// of control characters (glibc's iconv is the UTF-8 oracle), hold the value
// the documented escaping gives (written by hand below), carry its anomaly
// flag, and survive the protobuf round trip a collector makes.
//
// The list of string fields is derived from the proto descriptors: a string
// field that is neither checked here nor named in kNotFromWire fails the
// test, so a new analyzer's text fields cannot be forgotten.
#include <gtest/gtest.h>
#include <iconv.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "../analyzers/engine_run.h"
#include "capture.h"
#include "schema/json.h"
#include "support/utf8_oracle.h"
#include "tapir/v1/events.pb.h"

namespace tapir {
namespace {

namespace pb = google::protobuf;
namespace h = testing::hostile;
using namespace std::string_literals;

// String fields whose text never comes from packet bytes, with the reason.
// (Paths: event type, then fields; repeated messages and maps included.)
const std::map<std::string, std::string> kNotFromWire = {
    {"flow.community_id", "base64 of a hash"},
    {"flow.app_proto", "the claiming analyzer's name"},
    {"dns.community_id", "base64 of a hash"},
    {"dns.rcode_name", "name table, or RCODE<n>"},
    {"dns.qtype_name", "name table, or TYPE<n>"},
    {"icmp.community_id", "base64 of a hash"},
    {"icmp.type_name", "name table, or type-<n>"},
    {"packet.community_id", "base64 of a hash"},
    {"packet.layers", "the decoder's layer names"},
    {"tls.community_id", "base64 of a hash"},
    {"tls.version_name", "name table, or 0x<hex>"},
    {"tls.ja3", "decimal numbers and separators"},
    {"tls.ja3_hash", "hex MD5"},
    {"tls.ja3s", "decimal numbers and separators"},
    {"tls.ja3s_hash", "hex MD5"},
    {"tls.ja4", "JA4 alphabet: ALPN characters only when alphanumeric, hex otherwise"},
    {"tls.hello_retry_ja3s", "decimal numbers and separators"},
    {"tls.hello_retry_ja3s_hash", "hex MD5"},
    {"tls.retry_ja3", "decimal numbers and separators"},
    {"tls.retry_ja3_hash", "hex MD5"},
    {"tls.retry_ja4", "JA4 alphabet, as tls.ja4"},
    {"tls.cert_serial", "hex of the serial number"},
    {"tls.cert_key_type", "name table"},
    {"http.community_id", "base64 of a hash"},
    {"http.method", "the parser admits only RFC 9110 token characters"},
    {"http.version", "the parser admits only HTTP/<digit>.<digit>"},
    {"http.anomalies", "the analyzer's own text"},
    {"flow.tunnel.community_id", "base64 of the outer flow's hash"},
    {"dns.tunnel.community_id", "base64 of the outer flow's hash"},
    {"icmp.tunnel.community_id", "base64 of the outer flow's hash"},
    {"packet.tunnel.community_id", "base64 of the outer flow's hash"},
    {"tls.tunnel.community_id", "base64 of the outer flow's hash"},
    {"http.tunnel.community_id", "base64 of the outer flow's hash"},
    // The agent's report: host and configuration text, escaped by
    // agent::escape_report_text (agent_export_test covers it).
    {"agent.agent_id", "configuration (checked at start-up)"},
    {"agent.hostname", "host"},
    {"agent.version", "build"},
    {"agent.os", "host"},
    {"agent.arch", "host"},
    {"agent.interfaces", "configuration"},
    {"agent.labels.key", "configuration"},
    {"agent.labels.value", "configuration"},
    {"agent.instance_id", "random hex the agent makes for its spool"},
};

void string_fields(const pb::Descriptor* m, const std::string& prefix, int depth,
                   std::vector<std::string>& out) {
  for (int i = 0; i < m->field_count(); ++i) {
    const auto* f = m->field(i);
    const std::string name = prefix + "." + f->name();
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) out.push_back(name);
    if (f->message_type() && depth < 4) string_fields(f->message_type(), name, depth + 1, out);
  }
}

using tapir::testing::iconv_valid;
using tapir::testing::safe_text;

// Every string of a message, recursively, must be safe text.
void expect_all_strings_safe(const pb::Message& m, const std::string& where) {
  const auto* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const auto* f : fields) {
    const std::string w = where + "." + f->name();
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
        const std::string s = f->is_repeated() ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
        EXPECT_TRUE(safe_text(s)) << w << ": " << testing::hostile::escaped_damage() << " vs " << s;
      } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        expect_all_strings_safe(f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), w);
      }
    }
  }
}

// DNS zone-file text of the damage bytes inside a TXT string.
const std::string kTxtDamage =
    "\"\\228\\000\\\\x41\\192\\175\\237\\160\\128\\194\\155\\027[1m\\230\\151\"";

// The events of the hostile capture through the real pipeline (all analyzers).
const std::vector<v1::Event>& events() {
  static const std::vector<v1::Event> ev = [] {
    const std::string path = "/tmp/tapir-hostile-" + std::to_string(getpid()) + ".pcap";
    EXPECT_TRUE(h::write(path));
    std::string err;
    auto out = testing::run_capture(path, {}, {}, err);
    EXPECT_TRUE(err.empty()) << err;
    unlink(path.c_str());
    return out;
  }();
  return ev;
}

template <class T, class Get>
std::vector<T> all(Get get, v1::Event::BodyCase c) {
  std::vector<T> out;
  for (const auto& e : events())
    if (e.body_case() == c) out.push_back(get(e));
  return out;
}

// What the checks below cover; filled by them, compared with the descriptors.
std::set<std::string>& covered() {
  static std::set<std::string> s;
  return s;
}
#define COVER(path, ...)          \
  do {                            \
    covered().insert(path);       \
    __VA_ARGS__;                  \
  } while (0)

TEST(HostileText, EveryStringOfEveryEventIsSafeTextAndRoundTrips) {
  ASSERT_GT(events().size(), 5u);
  for (const auto& e : events()) {
    expect_all_strings_safe(e, "event");
    // A collector's parse of what an agent sends must succeed.
    std::string wire;
    ASSERT_TRUE(e.SerializeToString(&wire));
    v1::Event back;
    EXPECT_TRUE(back.ParseFromString(wire)) << e.ShortDebugString();
    // And the JSON writer's line parses as JSON.
    EXPECT_FALSE(nlohmann::json::parse(schema::to_json(e), nullptr, false).is_discarded());
  }
}

void check_http() {
  auto http = all<v1::Http>([](const v1::Event& e) { return e.http(); }, v1::Event::kHttp);
  ASSERT_EQ(http.size(), 2u);
  const v1::Http& a = http[0];
  COVER("http.host", EXPECT_EQ(a.host(), h::text("host")));
  COVER("http.uri", EXPECT_EQ(a.uri(), "/uri" + h::escaped_damage() + "?q"));
  COVER("http.user_agent", EXPECT_EQ(a.user_agent(), h::text("ua")));
  COVER("http.referer", EXPECT_EQ(a.referer(), h::text("ref")));
  COVER("http.request_content_type", EXPECT_EQ(a.request_content_type(), h::text("reqct")));
  COVER("http.response_content_type", EXPECT_EQ(a.response_content_type(), h::text("respct")));
  COVER("http.reason", EXPECT_EQ(a.reason(), h::text("reason")));
  EXPECT_EQ(a.method(), "GET");
  EXPECT_EQ(a.version(), "1.1");
  EXPECT_EQ(a.status(), 200u);
  EXPECT_NE(std::find(a.anomalies().begin(), a.anomalies().end(), "non-text bytes escaped"),
            a.anomalies().end());

  // Over-long values: cut to 2048 bytes of text, never inside an escape.
  const v1::Http& b = http[1];
  EXPECT_EQ(b.status(), 200u);
  for (const std::string* s : {&b.host(), &b.uri(), &b.user_agent(), &b.referer(),
                               &b.request_content_type(), &b.response_content_type(), &b.reason()}) {
    EXPECT_LE(s->size(), 2048u);
    EXPECT_GE(s->size(), 2045u);
  }
  EXPECT_EQ(b.host().substr(0, 8), "\\xe4\\xe4");
  EXPECT_EQ(b.host().size() % 4, 0u);
  EXPECT_EQ(b.referer(), std::string(2048, '\\'));  // 1024 backslashes, doubled
  EXPECT_EQ(b.reason().substr(0, 8), "\\x01\\x01");
  EXPECT_NE(std::find(b.anomalies().begin(), b.anomalies().end(), "text value cut"),
            b.anomalies().end());
  EXPECT_NE(std::find(b.anomalies().begin(), b.anomalies().end(), "non-text bytes escaped"),
            b.anomalies().end());
}

bool has(const v1::Tls& t, v1::TlsAnomaly a) {
  return std::find(t.anomalies().begin(), t.anomalies().end(), a) != t.anomalies().end();
}

void check_tls() {
  auto tls = all<v1::Tls>([](const v1::Event& e) { return e.tls(); }, v1::Event::kTls);
  ASSERT_EQ(tls.size(), 2u);
  const v1::Tls& a = tls[0];
  COVER("tls.sni", EXPECT_EQ(a.sni(), h::text("sni")));
  COVER("tls.alpn_offered", {
    ASSERT_EQ(a.alpn_offered_size(), 3);
    EXPECT_EQ(a.alpn_offered(0), "h2");
    EXPECT_EQ(a.alpn_offered(1), h::text("alpn1"));
    EXPECT_EQ(a.alpn_offered(2), h::text("alpn2"));
  });
  COVER("tls.alpn", EXPECT_EQ(a.alpn(), h::text("alpnsel")));
  COVER("tls.cert_san", {
    ASSERT_EQ(a.cert_san_size(), 2);
    EXPECT_EQ(a.cert_san(0), h::text("san1"));
    EXPECT_EQ(a.cert_san(1), "ok.example");
  });
  COVER("tls.cert_subject", EXPECT_EQ(a.cert_subject(), h::subject_text()));
  COVER("tls.cert_issuer", EXPECT_EQ(a.cert_issuer(), h::issuer_text()));
  EXPECT_EQ(a.cert_serial(), "1234");
  EXPECT_TRUE(has(a, v1::TLS_TEXT_ESCAPED));
  EXPECT_FALSE(has(a, v1::TLS_TEXT_CUT));

  const v1::Tls& b = tls[1];
  EXPECT_EQ(b.sni().size(), 1024u);
  EXPECT_EQ(b.sni().substr(0, 8), "\\xff\\xff");
  ASSERT_EQ(b.alpn_offered_size(), 1);
  EXPECT_EQ(b.alpn_offered(0).size(), 1020u);  // 255 bytes, each \x00: fits whole
  EXPECT_EQ(b.alpn().size(), 1020u);
  // 8000 T61 bytes 0xe4: "CN=" and 2046 "ä" (2 bytes each) fit in 4096.
  EXPECT_EQ(b.cert_subject().size(), 4095u);
  EXPECT_EQ(b.cert_subject().substr(0, 7), "CN=\xc3\xa4\xc3\xa4");
  EXPECT_EQ(b.cert_issuer(), "CN=" + std::string(4093, 'i'));
  ASSERT_EQ(b.cert_san_size(), 1);
  EXPECT_EQ(b.cert_san(0).size(), 1024u);
  EXPECT_TRUE(has(b, v1::TLS_TEXT_ESCAPED));
  EXPECT_TRUE(has(b, v1::TLS_TEXT_CUT));
}

bool has(const v1::Dns& d, v1::DnsAnomaly a) {
  return std::find(d.anomalies().begin(), d.anomalies().end(), a) != d.anomalies().end();
}

void check_dns() {
  auto dns = all<v1::Dns>([](const v1::Event& e) { return e.dns(); }, v1::Event::kDns);
  ASSERT_EQ(dns.size(), 2u);
  const v1::Dns& d = dns[0];
  const std::string qname = "q." + h::dns_label_text() + ".example";
  COVER("dns.query", EXPECT_EQ(d.query(), qname));
  COVER("dns.questions.name", {
    ASSERT_EQ(d.questions_size(), 1);
    EXPECT_EQ(d.questions(0).name(), qname);
  });
  COVER("dns.questions.data", EXPECT_EQ(d.questions(0).data(), ""));  // questions have none
  COVER("dns.answers.name", {
    ASSERT_EQ(d.answers_size(), 2);
    EXPECT_EQ(d.answers(0).name(), qname);
  });
  COVER("dns.answers.data", {
    EXPECT_EQ(d.answers(0).data(), "c." + h::dns_label_text());
    EXPECT_EQ(d.answers(1).data(), kTxtDamage);
  });
  COVER("dns.answer_data", {
    ASSERT_EQ(d.answer_data_size(), 2);
    EXPECT_EQ(d.answer_data(1), kTxtDamage);
  });
  COVER("dns.authorities.name", {
    ASSERT_EQ(d.authorities_size(), 1);
    EXPECT_EQ(d.authorities(0).name(), "z." + h::dns_label_text());
  });
  COVER("dns.authorities.data", EXPECT_EQ(d.authorities(0).data(), "ns." + h::dns_label_text()));
  COVER("dns.additionals.name", {
    ASSERT_EQ(d.additionals_size(), 1);
    EXPECT_EQ(d.additionals(0).name(), "a." + h::dns_label_text());
  });
  COVER("dns.additionals.data", EXPECT_EQ(d.additionals(0).data(), kTxtDamage));
  EXPECT_TRUE(has(d, v1::DNS_NON_TEXT_BYTES));

  // Over-long TXT: the strings up to the one that reaches 4096 bytes, then " ...".
  const v1::Dns& l = dns[1];
  ASSERT_EQ(l.answers_size(), 1);
  const std::string one = "\"" + [] {
    std::string s;
    for (int i = 0; i < 255; ++i) s += "\\255";
    return s;
  }() + "\"";
  std::string want;
  while (want.size() < 4096) want += (want.empty() ? "" : " ") + one;
  EXPECT_EQ(l.answers(0).data(), want + " ...");
  EXPECT_TRUE(has(l, v1::DNS_NON_TEXT_BYTES));
}

TEST(HostileText, HttpFields) { check_http(); }
TEST(HostileText, TlsFields) { check_tls(); }
TEST(HostileText, DnsFields) { check_dns(); }

TEST(HostileText, EveryWireStringFieldIsCoveredOrNamed) {
  check_http();
  check_tls();
  check_dns();
  std::vector<std::string> fields;
  const auto* oneof = v1::Event::descriptor()->FindOneofByName("body");
  for (int i = 0; i < oneof->field_count(); ++i)
    string_fields(oneof->field(i)->message_type(), oneof->field(i)->name(), 0, fields);
  ASSERT_GT(fields.size(), 30u);
  for (const auto& f : fields) {
    const bool in_list = kNotFromWire.count(f) != 0;
    const bool checked = covered().count(f) != 0;
    EXPECT_TRUE(in_list || checked) << f << ": a string field neither checked with hostile input "
                                    << "here nor named in kNotFromWire";
    EXPECT_FALSE(in_list && checked) << f << ": both checked and named not-from-wire";
  }
  for (const auto& [name, why] : kNotFromWire)
    EXPECT_NE(std::find(fields.begin(), fields.end(), name), fields.end())
        << name << " is named in kNotFromWire but is no string field";
}

}  // namespace
}  // namespace tapir
