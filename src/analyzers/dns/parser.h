// DNS message parser (RFC 1035, 3596, 2782, 6891). Pure: bytes in, a plain
// struct out; no flows, no events. Every read goes through ByteReader and
// every loop over message data is bounded, so it can be fed anything.
//
// Damage that leaves the end of the unit known (a bad compression pointer, an
// over-long name, a record whose data does not fit its type) is recorded as an
// anomaly and parsing goes on; damage that loses the position (a name whose end
// cannot be found, a record cut short) stops parsing and marks the message
// truncated, keeping everything read so far.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace tapir::analyzers::dns {

// The fixed header: id, flags and the four section counts.
constexpr size_t kHeaderLen = 12;
// RFC 1035 2.3.4: a name is at most 255 bytes in wire form (length bytes
// included); anything longer is not a name any resolver would accept.
constexpr size_t kMaxNameWireLen = 255;
// A legitimate name holds at most 127 labels (255 bytes of 1-byte labels), so
// it can never need more compression jumps than that; more means a loop.
constexpr int kMaxPointerJumps = 127;
// Work spent decoding the names of one message is bounded by
// kNameWorkPerByte units per message byte plus kNameWorkSlack, where a unit is
// one wire byte examined (a label costs 1 + its length, a compression pointer
// 2; a name suffix reused from the memo costs only its pointer). Each byte of a
// message is walked at most once in place, and a suffix reached through a
// pointer is decoded once and then reused, so a well-formed message needs about
// 2 units per byte (in-place labels plus one pointer per compressed name); 4
// leaves that twice over. Without the bound, a 2-byte pointer into a 127-step
// pointer chain costs ~500 units, so one 63 KB message could cost ~40 times its
// size.
constexpr size_t kNameWorkPerByte = 4;
// Two worst-case names (255 label bytes + 127 pointers, ~510 units each) on
// top, so a small message never loses a name to the per-byte rounding.
constexpr size_t kNameWorkSlack = 1024;
// Compression pointers hold 14 bits of offset, so only names starting in the
// first 16 KiB of a message can be reused; the memo covers just those.
constexpr size_t kMaxPointerTarget = size_t{1} << 14;
// Records kept per section. A 64 KiB message can announce ~6000 minimal
// records; beyond this many the rest are counted but not kept, which bounds
// the size of one event whatever a sender packs in.
constexpr size_t kMaxRecordsKept = 256;
// Questions kept; real messages carry one, a few at most.
constexpr size_t kMaxQuestionsKept = 32;
// Record data rendered as hex (unknown types) is cut after this many bytes so
// that one record cannot blow up an event; the cut is marked with "...".
constexpr size_t kMaxHexRdata = 512;
// TXT data shown as text: after the <character-string> that reaches this
// many bytes the rest is replaced by " ..." (64 KiB of rdata could be 256 KiB
// of escapes; real TXT records, SPF and DKIM included, stay far below).
constexpr size_t kMaxTxtText = 4096;
// EDNS options kept from one OPT record.
constexpr size_t kMaxEdnsOptions = 32;

namespace type {
constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kPtr = 12, kHinfo = 13, kMx = 15,
                   kTxt = 16, kAaaa = 28, kSrv = 33, kDname = 39, kOpt = 41, kAny = 255;
}  // namespace type

// Numbered as tapir.v1.DnsAnomaly (static_assert in analyzer.cc), so the
// parser needs no protobuf.
enum class Anomaly : uint8_t {
  kNone = 0,
  kTruncated = 1,
  kBadPointer = 2,
  kPointerLoop = 3,
  kNameTooLong = 4,
  kInvalidOpcode = 5,
  kBadRdata = 6,
  kTrailingBytes = 7,
  kBadLabelType = 8,
  kUnsolicitedResponse = 9,
  kDuplicateResponse = 10,
  kWorkLimit = 11,
  kNonTextBytes = 12,
};
constexpr int kAnomalyCount = 13;
std::string_view anomaly_name(Anomaly a);

// A set of anomalies as a bit mask (one bit per Anomaly value).
struct AnomalySet {
  uint32_t bits = 0;
  void add(Anomaly a) { bits |= 1u << static_cast<int>(a); }
  bool has(Anomaly a) const { return (bits >> static_cast<int>(a)) & 1u; }
  void merge(AnomalySet o) { bits |= o.bits; }
  bool empty() const { return bits == 0; }
};

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;

  bool qr() const { return flags & 0x8000; }
  uint8_t opcode() const { return (flags >> 11) & 0xf; }
  bool aa() const { return flags & 0x0400; }
  bool tc() const { return flags & 0x0200; }
  bool rd() const { return flags & 0x0100; }
  bool ra() const { return flags & 0x0080; }
  bool z() const { return flags & 0x0040; }
  bool ad() const { return flags & 0x0020; }
  bool cd() const { return flags & 0x0010; }
  uint8_t rcode() const { return flags & 0xf; }
};

struct Question {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = 0;
};

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  uint16_t rdlength = 0;
  // Presentation text: address, name, "pref exchange", quoted strings, SOA/SRV
  // fields in zone-file order, EDNS options, or hex for other types.
  std::string data;
};

struct EdnsOption {
  uint16_t code = 0;
  std::string hex;  // option data as lowercase hex
};

// The OPT pseudo-record, decoded (RFC 6891 6.1.3).
struct Edns {
  bool present = false;
  uint16_t udp_size = 0;
  uint8_t ext_rcode = 0;  // upper 8 bits of the 12-bit RCODE
  uint8_t version = 0;
  bool do_bit = false;
  std::vector<EdnsOption> options;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;
  std::vector<Record> additionals;
  // Records present beyond kMaxRecordsKept / questions beyond kMaxQuestionsKept.
  uint32_t records_dropped = 0;
  Edns edns;
  AnomalySet anomalies;
  size_t length = 0;  // bytes of the message
  // Units of name-decoding work spent on this message (see kNameWorkPerByte);
  // never more than name_work_budget(length) plus one label.
  size_t name_work = 0;

  // RCODE with the OPT extension applied (RFC 6891 6.1.3).
  uint16_t full_rcode() const {
    return static_cast<uint16_t>((edns.present ? edns.ext_rcode << 4 : 0) | header.rcode());
  }
  void clear();
};

// The most name-decoding work parse_message spends on a message of `length`
// bytes before it stops with Anomaly::kWorkLimit.
constexpr size_t name_work_budget(size_t length) {
  return kNameWorkPerByte * length + kNameWorkSlack;
}

// Per-message name decoding state (work budget, memo of decoded suffixes),
// private to the parser; null means a lone name, decoded without either.
struct NameWalk;

// Outcome of parse_name.
struct NameResult {
  bool end_known = false;  // the caller may continue after the name
  AnomalySet anomalies;
  size_t work = 0;  // units walked for this name (see kNameWorkPerByte)
};

// Reads the header; false if fewer than 12 bytes.
bool parse_header(ByteReader& r, Header& h);

// Reads a possibly compressed name at the reader's position within `msg` (the
// whole message, for compression pointers). On return the reader is past the
// name in the message (past the first pointer if any). `out` receives the
// dotted name without the trailing dot ("" for the root); labels are escaped
// as in zone files (\. and \DDD) so that the text is unambiguous.
NameResult parse_name(Bytes msg, ByteReader& r, std::string& out);

// Record data renderers, one per wire structure. `msg` is the whole message
// (names in data may be compressed), `rdata` the record's data. Each returns
// false if the data does not match its type's layout; `out` is then unset.
bool parse_rdata_a(ByteReader rdata, std::string& out);
bool parse_rdata_aaaa(ByteReader rdata, std::string& out);
bool parse_rdata_name(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an,
                      NameWalk* walk = nullptr);
bool parse_rdata_mx(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an,
                    NameWalk* walk = nullptr);
bool parse_rdata_txt(ByteReader rdata, std::string& out, AnomalySet& an);
bool parse_rdata_soa(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an,
                     NameWalk* walk = nullptr);
bool parse_rdata_srv(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an,
                     NameWalk* walk = nullptr);
bool parse_rdata_opt(ByteReader rdata, Edns& edns, std::string& out);
void rdata_hex(Bytes rdata, std::string& out);

// Parses one DNS message (without the TCP length prefix). Returns false only
// when not even the header is present; everything else is reported through
// msg.anomalies with the parts that could be read. Work is linear in the
// message size: each name suffix reached through a compression pointer is
// decoded once per message and then copied from a per-thread memo (reused
// across messages, so no allocation once warm), and a message whose names
// would cost more than name_work_budget() stops there with kWorkLimit.
bool parse_message(Bytes data, Message& msg);

// Cheap plausibility check used to claim flows on non-DNS ports: a header with
// sane counts followed by one well-formed question.
bool looks_like_dns(Bytes data);

// Names for numbers, for events and logs: "A", "AAAA" ... or "TYPE65534";
// "NOERROR", "NXDOMAIN" ... or "RCODE24"; "IN", "CH" ... or "CLASS9".
std::string type_name(uint16_t type);
std::string rcode_name(uint16_t rcode);
// IANA-assigned opcodes (0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE, 6 DSO).
bool opcode_assigned(uint8_t opcode);

}  // namespace tapir::analyzers::dns
