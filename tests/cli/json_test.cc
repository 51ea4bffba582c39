// The JSON writer against protobuf's own MessageToJsonString, on every event
// the engine produces from the whole corpus, plus the documented deviations
// checked against independent conversions (inet_ntop, base64 decoding).
#include <arpa/inet.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "capture/source.h"
#include "export/memory_sink.h"
#include "pipeline/engine.h"
#include "schema/json.h"
#include "tapir/v1/options.pb.h"

namespace tapir::schema {
namespace {

namespace pb = google::protobuf;
using nlohmann::json;

const std::string kData = TAPIR_TESTDATA;

std::vector<std::string> corpus() {
  std::ifstream in(kData + "/MANIFEST.tsv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> out;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string c;
    for (int i = 0; i < 3; ++i) std::getline(ss, c, '\t');
    out.push_back(kData + "/" + c);
  }
  return out;
}

std::string base64_decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// Text form of raw bytes by the format option, computed with libc.
std::string expected_text(v1::Format fmt, const std::string& raw) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (fmt == v1::FORMAT_IP && raw.size() == 4) {
    inet_ntop(AF_INET, raw.data(), buf, sizeof buf);
    return buf;
  }
  if (fmt == v1::FORMAT_IP && raw.size() == 16) {
    inet_ntop(AF_INET6, raw.data(), buf, sizeof buf);
    return buf;
  }
  std::string hex;
  for (unsigned char c : raw) {
    char h[4];
    std::snprintf(h, sizeof h, "%02x", c);
    if (fmt == v1::FORMAT_MAC && raw.size() == 6 && !hex.empty()) hex += ':';
    hex += h;
  }
  return hex;
}

// Compares our rendering of one value with protobuf's, applying the
// documented deviations to protobuf's side.
void compare_value(const pb::FieldDescriptor* fd, const json& ours, const json& theirs,
                   const std::string& where) {
  using FD = pb::FieldDescriptor;
  switch (fd->cpp_type()) {
    case FD::CPPTYPE_INT64:
    case FD::CPPTYPE_UINT64:
      // Deviation: numbers, not strings.
      ASSERT_TRUE(ours.is_number()) << where;
      EXPECT_EQ(ours.dump(), theirs.get<std::string>()) << where;
      return;
    case FD::CPPTYPE_STRING:
      if (fd->type() == FD::TYPE_BYTES) {
        const auto fmt = fd->options().GetExtension(v1::format);
        const std::string raw = base64_decode(theirs.get<std::string>());
        // Deviation: text (hex without a format), not base64.
        EXPECT_EQ(ours.get<std::string>(), expected_text(fmt, raw)) << where;
        return;
      }
      EXPECT_EQ(ours, theirs) << where;
      return;
    case FD::CPPTYPE_MESSAGE:
      if (fd->message_type()->full_name() == "google.protobuf.Timestamp") {
        EXPECT_EQ(ours, theirs) << where;
        return;
      }
      ASSERT_TRUE(ours.is_object()) << where;
      for (int i = 0; i < fd->message_type()->field_count(); ++i) {
        const auto* sub = fd->message_type()->field(i);
        const bool in_ours = ours.contains(sub->name());
        const bool in_theirs = theirs.contains(sub->name());
        EXPECT_EQ(in_ours, in_theirs) << where << "." << sub->name();
        if (!in_ours || !in_theirs) continue;
        const json& o = ours[sub->name()];
        const json& t = theirs[sub->name()];
        if (sub->is_repeated()) {
          ASSERT_TRUE(o.is_array() && t.is_array()) << where;
          ASSERT_EQ(o.size(), t.size()) << where << "." << sub->name();
          for (size_t k = 0; k < o.size(); ++k)
            compare_value(sub, o[k], t[k], where + "." + sub->name() + "[" + std::to_string(k) + "]");
        } else {
          compare_value(sub, o, t, where + "." + sub->name());
        }
      }
      return;
    default:
      EXPECT_EQ(ours, theirs) << where;
  }
}

TEST(JsonWriter, MatchesProtobufOnEveryCorpusEvent) {
  pb::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  const auto* body = v1::Event::descriptor();
  size_t events = 0, skipped = 0;
  std::set<int> types_seen;
  for (const auto& path : corpus()) {
    SCOPED_TRACE(path);
    exporter::MemorySink sink;
    pipeline::EngineConfig cfg;
    cfg.packet_sampling = 1;
    pipeline::Engine engine(cfg, sink);
    std::string err;
    auto src = capture::open_file(path, err);
    ASSERT_NE(src, nullptr) << err;
    decode::RawFrame f;
    while (src->next(f) == capture::ReadStatus::kFrame) engine.process(f);
    engine.finish();
    for (const auto& e : sink.events()) {
      std::string theirs;
      if (!pb::util::MessageToJsonString(e, &theirs, opts).ok()) {
        ++skipped;  // protobuf refuses strings that are not UTF-8
        continue;
      }
      const std::string ours = to_json(e);
      json o, t;
      ASSERT_NO_THROW(o = json::parse(ours)) << ours;
      t = json::parse(theirs);
      // Compare as the single-field Event message it is.
      const auto* fd = body->FindFieldByNumber(e.body_case());
      ASSERT_NE(fd, nullptr);
      ASSERT_EQ(o.size(), 1u);
      ASSERT_TRUE(o.contains(fd->name())) << ours;
      compare_value(fd, o[fd->name()], t[fd->name()], fd->name());
      types_seen.insert(e.body_case());
      ++events;
    }
  }
  EXPECT_GT(events, 1000u);
  // The analyzers escape wire text (docs/analyzers.md): protobuf's own
  // writer, which refuses invalid UTF-8, must accept every event.
  EXPECT_EQ(skipped, 0u);
  // flow, dns, arp, icmp, packet, tls, http all occur in the corpus.
  EXPECT_GE(types_seen.size(), 7u);
}

TEST(JsonWriter, DeviationsOnAHandBuiltEvent) {
  v1::Event e;
  auto* f = e.mutable_flow();
  f->mutable_src()->set_ip(std::string("\xc0\x00\x02\x01", 4));
  f->mutable_src()->set_mac(std::string("\x00\x11\x22\xaa\xbb\xcc", 6));
  f->mutable_dst()->set_ip(std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
  f->mutable_dst()->set_mac(std::string("\x01\x02", 2));  // wrong length: hex
  f->set_src_packets(18446744073709551615ull);
  f->set_end_reason(v1::END_FIN);
  f->mutable_ts()->set_seconds(1700000000);
  f->mutable_ts()->set_nanos(123000000);
  const json j = json::parse(to_json(e));
  EXPECT_EQ(j["flow"]["src"]["ip"], "192.0.2.1");
  EXPECT_EQ(j["flow"]["src"]["mac"], "00:11:22:aa:bb:cc");
  EXPECT_EQ(j["flow"]["dst"]["ip"], "2001:db8::1");
  EXPECT_EQ(j["flow"]["dst"]["mac"], "0102");
  EXPECT_EQ(j["flow"]["src_packets"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(j["flow"]["end_reason"], "END_FIN");
  EXPECT_EQ(j["flow"]["ts"], "2023-11-14T22:13:20.123Z");
  EXPECT_FALSE(j["flow"].contains("dst_packets"));  // defaults omitted
  EXPECT_FALSE(j["flow"].contains("tunnel"));
}

TEST(JsonWriter, StringsAreAlwaysValidJson) {
  v1::Event e;
  auto* d = e.mutable_dns();
  // Control characters, quotes, backslashes, valid multi-byte UTF-8, and
  // bytes that are not UTF-8 (a lone continuation byte, an overlong form, a
  // truncated sequence at the end).
  const std::string nasty = std::string("a\"b\\c\n\t\x01\x7f") + "\xc3\xa9\xe2\x82\xac" + "\x80" +
                            "\xc0\xaf" + "\xf0\x9f\x98\x80" + "\xe2\x82";
  d->set_query(nasty);
  d->add_answer_data("ok");
  const std::string out = to_json(e);
  json j;
  ASSERT_NO_THROW(j = json::parse(out)) << out;
  // Each byte that is not UTF-8 as the analyzers' escaping writes it: the
  // text \xNN, never raw and never U+FFFD.
  EXPECT_EQ(j["dns"]["query"].get<std::string>(),
            "a\"b\\c\n\t\x01\x7f\xc3\xa9\xe2\x82\xac\\x80\\xc0\\xaf"
            "\xf0\x9f\x98\x80\\xe2\\x82");
  // None of the bad bytes is in the line raw.
  EXPECT_EQ(out.find("\xac\x80"), std::string::npos);
  EXPECT_EQ(out.find('\xc0'), std::string::npos);
  EXPECT_EQ(out.find("\x82\""), std::string::npos);
  EXPECT_EQ(j["dns"]["answer_data"][0], "ok");
}

TEST(JsonWriter, BytesWithoutAFormatAreHex) {
  // A dynamic message with a bytes field and no (tapir.v1.format): no event
  // has one today, the rule must hold for the next.
  pb::DescriptorPool pool;
  pb::FileDescriptorProto file;
  file.set_name("t.proto");
  file.set_syntax("proto3");
  auto* m = file.add_message_type();
  m->set_name("M");
  auto* f = m->add_field();
  f->set_name("raw");
  f->set_number(1);
  f->set_type(pb::FieldDescriptorProto::TYPE_BYTES);
  f->set_label(pb::FieldDescriptorProto::LABEL_OPTIONAL);
  const auto* fd = pool.BuildFile(file);
  ASSERT_NE(fd, nullptr);
  pb::DynamicMessageFactory factory(&pool);
  std::unique_ptr<pb::Message> msg(factory.GetPrototype(fd->message_type(0))->New());
  msg->GetReflection()->SetString(msg.get(), fd->message_type(0)->field(0), std::string("\x00\xff\x10", 3));
  EXPECT_EQ(to_json(*msg), R"({"raw":"00ff10"})");
}

TEST(JsonWriter, UnknownEnumValueIsANumber) {
  v1::Event e;
  e.mutable_flow()->set_end_reason(static_cast<v1::FlowEndReason>(77));
  EXPECT_EQ(json::parse(to_json(e))["flow"]["end_reason"], 77);
}

}  // namespace
}  // namespace tapir::schema
