#include "analyzers/dns/parser.h"

#include <cstdio>

#include "common/text.h"

namespace tapir::analyzers::dns {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_hex(const uint8_t* p, size_t n, std::string& out) {
  const size_t at = out.size();
  out.resize(at + 2 * n);
  char* o = out.data() + at;
  for (size_t i = 0; i < n; ++i) {
    o[2 * i] = kHexDigits[p[i] >> 4];
    o[2 * i + 1] = kHexDigits[p[i] & 0xf];
  }
}

void append_uint(uint32_t v, std::string& out) {
  char buf[10];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

void append_decimal_escape(uint8_t c, std::string& out) {
  out.push_back('\\');
  out.push_back(static_cast<char>('0' + c / 100));
  out.push_back(static_cast<char>('0' + c / 10 % 10));
  out.push_back(static_cast<char>('0' + c % 10));
}

// A slot of `v` to fill: reused if present (keeping its strings' capacity),
// appended otherwise. parse_message trims the vectors to what was used.
template <class T>
T& next_slot(std::vector<T>& v, size_t& used) {
  if (used == v.size()) v.emplace_back();
  return v[used++];
}

// Whether bytes that needed a \DDD escape were more than spaces and UTF-8
// text: invalid UTF-8 or control characters (DNS_NON_TEXT_BYTES).
bool non_text(const uint8_t* p, size_t n) {
  return text::needs_hex(std::string_view(reinterpret_cast<const char*>(p), n));
}

// One label in zone-file presentation form (RFC 1035 5.1). Returns true if
// it held bytes that are not text (see non_text).
bool append_label(const uint8_t* p, size_t n, std::string& out) {
  bool escaped = false;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    if (c == '.' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x21 || c > 0x7e) {
      append_decimal_escape(c, out);
      escaped = true;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return escaped && non_text(p, n);
}

// One <character-string> as a quoted string (RFC 1035 5.1). Returns true if
// it held bytes that are not text (see non_text).
bool append_quoted(const uint8_t* p, size_t n, std::string& out) {
  bool escaped = false;
  out.push_back('"');
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c > 0x7e) {
      append_decimal_escape(c, out);
      escaped = true;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return escaped && non_text(p, n);
}

// Offset of the reader's cursor inside msg, or msg.size() if the reader does
// not point into msg (never the case for readers built by this parser).
size_t offset_in(Bytes msg, const ByteReader& r) {
  const uint8_t* c = r.cur();
  if (c < msg.data() || c > msg.data() + msg.size()) return msg.size();
  return static_cast<size_t>(c - msg.data());
}

}  // namespace

// A decoded name suffix: what walking from one message offset to the end of
// a name gave an earlier name of the same message. A complete suffix (it
// reached the root) is the same whatever led to it, as long as the name stays
// within the limits. An overlong one (the name crossed 255 bytes in it) is
// the same only for a name that arrives with the same length so far.
struct MemoEntry {
  uint32_t gen = 0;       // message the entry belongs to (NameMemo::gen)
  uint32_t text_off = 0;  // in NameMemo::text
  uint16_t text_len = 0;
  uint8_t wire = 0;          // wire bytes of the suffix's labels kept, root excluded
  uint8_t jumps = 0;         // compression pointers followed within the suffix
  uint8_t wire_in = 0;       // overlong: the name's wire length on arrival; else 0
  bool bad_pointer = false;  // a forward pointer within the suffix
  bool non_text = false;     // a label of the suffix held non-text bytes (kNonTextBytes)
};

// Reused across messages (per thread), so that decoding allocates nothing
// once it has seen a message of each size.
struct NameMemo {
  std::vector<MemoEntry> at;  // by message offset, < kMaxPointerTarget
  std::string text;           // rendered suffixes, cleared per message
  uint32_t gen = 0;
};

struct NameWalk {
  NameMemo* memo = nullptr;
  size_t text_cap = 0;  // most bytes NameMemo::text may hold for this message
  size_t work = 0;      // units spent so far (see kNameWorkPerByte)
  size_t budget = 0;
  bool over = false;  // the budget ran out: no more names are decoded
};

namespace {

// Text kept in the memo per message byte: a name's text is copied once when
// it walked at least one label no earlier name had, which for real messages is
// well under 4 bytes per byte (escaped text is at most 4 per wire byte). Past
// the cap names are still decoded, just not remembered, and the work budget
// still holds.
constexpr size_t kMemoTextPerByte = 8;
constexpr size_t kMemoTextSlack = 4096;

// Starts the per-message state: a new memo generation and a fresh budget.
void begin_walk(NameWalk& w, NameMemo& memo, size_t length) {
  w.memo = &memo;
  w.work = 0;
  w.over = false;
  w.budget = name_work_budget(length);
  w.text_cap = kMemoTextPerByte * length + kMemoTextSlack;
  const size_t targets = length < kMaxPointerTarget ? length : kMaxPointerTarget;
  if (memo.at.size() < targets) memo.at.resize(targets);
  if (++memo.gen == 0) {  // wrapped: entries of 2^32 messages ago would look valid
    for (MemoEntry& e : memo.at) e.gen = 0;
    memo.gen = 1;
  }
  memo.text.clear();
}

// A label or pointer walked while decoding one name: where the text of the
// suffix starting there begins in the output, and the totals before it.
struct Step {
  uint16_t off;
  uint16_t text_pos;  // relative to the name's first byte of output
  uint8_t wire_before;
  uint8_t jumps_before;
  bool bad_pointer;  // this step is a forward pointer
  bool non_text;     // a label walked from here to the next step held non-text bytes
};
// A name has at most 127 labels and takes at most kMaxPointerJumps pointers.
constexpr size_t kMaxSteps = 128 + kMaxPointerJumps;

// What a finished name leaves for remember().
struct NameEnd {
  size_t wire;            // wire bytes of the labels kept, root excluded
  size_t jumps;           // pointers followed
  bool overlong;          // ended by crossing kMaxNameWireLen after a pointer
  bool tail_bad_pointer;  // a forward pointer in a suffix reused at the end
  bool tail_non_text;     // non-text bytes in a suffix reused at the end
};

// Remembers every suffix of a name that ended cleanly or overlong, so that
// pointers into any of its labels later copy the text instead of walking.
void remember(NameWalk& w, const std::string& out, size_t base, const Step* steps, size_t n,
              const NameEnd& end) {
  NameMemo& m = *w.memo;
  const size_t len = out.size() - base;
  if (n == 0 || m.text.size() + len > w.text_cap) return;
  const size_t at = m.text.size();
  m.text.append(out, base, len);
  bool bad = end.tail_bad_pointer;
  bool non_text = end.tail_non_text;
  for (size_t i = n; i-- > 0;) {
    const Step& st = steps[i];
    bad = bad || st.bad_pointer;
    non_text = non_text || st.non_text;
    MemoEntry& e = m.at[st.off];
    // A complete suffix serves any later name; keep it over an overlong one.
    if (end.overlong && e.gen == m.gen && e.wire_in == 0) continue;
    size_t tp = st.text_pos;
    // The step was recorded before its separator was written; a label's own
    // text never starts with an unescaped '.'.
    if (tp < len && out[base + tp] == '.') ++tp;
    e.gen = m.gen;
    e.text_off = static_cast<uint32_t>(at + tp);
    e.text_len = static_cast<uint16_t>(len - tp);
    e.wire = static_cast<uint8_t>(end.wire - st.wire_before);
    e.jumps = static_cast<uint8_t>(end.jumps - st.jumps_before);
    e.wire_in = end.overlong ? static_cast<uint8_t>(st.wire_before + 1) : 0;
    e.bad_pointer = bad;
    e.non_text = non_text;
  }
}

// Only these anomalies are a property of a suffix alone and can be reused.
bool memoisable(AnomalySet a) {
  AnomalySet allowed;
  allowed.add(Anomaly::kBadPointer);
  allowed.add(Anomaly::kNameTooLong);
  allowed.add(Anomaly::kNonTextBytes);
  return (a.bits & ~allowed.bits) == 0;
}

// Charges `units` of work; false (and kWorkLimit) once the budget is spent.
bool charge(NameWalk* w, size_t units, NameResult& res) {
  res.work += units;
  if (w == nullptr) return true;
  w->work += units;
  if (w->work <= w->budget) return true;
  w->over = true;
  res.anomalies.add(Anomaly::kWorkLimit);
  return false;
}

// Reads the name at msg[start], whose uncompressed part must end by `limit`.
// `end` is set to the offset after the name when it is known.
// With `append`, the name is added to what `out` holds. With a walk, the work
// is charged to it and suffixes are taken from and added to its memo; once its
// budget is spent the name is not read and its end is unknown (parsing stops).
NameResult read_name(Bytes msg, size_t start, size_t limit, std::string& out, size_t& end,
                     bool append, NameWalk* w) {
  NameResult res;
  if (!append) out.clear();
  if (w != nullptr && w->over) {
    res.anomalies.add(Anomaly::kWorkLimit);
    return res;
  }
  const size_t base = out.size();
  size_t pos = start;
  size_t region_end = limit;   // before the first jump: the caller's region
  size_t segment_start = start;  // where the labels now being walked began
  bool jumped = false;
  bool too_long = false;
  int jumps = 0;
  size_t wire_len = 1;  // the root label's length byte
  // Steps at offsets a pointer can reach, for the memo.
  Step steps[kMaxSteps];
  size_t nsteps = 0;
  size_t labels = 0;  // labels walked here (a name of pointers only adds nothing)
  const size_t memo_size = w != nullptr && w->memo != nullptr ? w->memo->at.size() : 0;
  auto note = [&](size_t off, bool bad_pointer) {
    if (off < memo_size && nsteps < kMaxSteps)
      steps[nsteps++] = {static_cast<uint16_t>(off), static_cast<uint16_t>(out.size() - base),
                         static_cast<uint8_t>(wire_len - 1), static_cast<uint8_t>(jumps),
                         bad_pointer, false};
  };
  auto finish = [&](bool overlong, bool tail_bad, bool tail_non_text = false) {
    if (memo_size != 0 && labels != 0 && memoisable(res.anomalies))
      remember(*w, out, base, steps, nsteps,
               {wire_len - 1, static_cast<size_t>(jumps), overlong, tail_bad, tail_non_text});
  };

  // Each pass either consumes a label (pos moves forward, at most msg.size()
  // bytes in all per segment) or takes a pointer (at most kMaxPointerJumps);
  // with a walk, every pass is charged to its budget.
  for (;;) {
    if (pos >= region_end) {
      res.anomalies.add(Anomaly::kTruncated);
      return res;
    }
    const uint8_t len = msg[pos];
    const uint8_t kind = len & 0xC0;
    if (kind == 0xC0) {
      if (pos + 1 >= region_end) {
        res.anomalies.add(Anomaly::kTruncated);
        return res;
      }
      if (!charge(w, 2, res)) {
        res.end_known = false;
        return res;
      }
      const size_t ptr = (static_cast<size_t>(len & 0x3f) << 8) | msg[pos + 1];
      if (!jumped) {
        end = pos + 2;
        res.end_known = true;
        jumped = true;
      }
      if (ptr >= segment_start && ptr <= pos) {
        // Into the labels just walked (or itself): following it comes back here.
        if (ptr == pos) res.anomalies.add(Anomaly::kBadPointer);
        res.anomalies.add(Anomaly::kPointerLoop);
        return res;
      }
      if (ptr > pos) {
        // Forward pointers are not allowed by RFC 1035 4.1.4 but some servers
        // send them and resolvers follow them; follow within the message, flag.
        res.anomalies.add(Anomaly::kBadPointer);
        if (ptr >= msg.size()) return res;
      }
      note(pos, ptr > pos);
      if (++jumps > kMaxPointerJumps) {
        res.anomalies.add(Anomaly::kPointerLoop);
        return res;
      }
      if (ptr < memo_size && !too_long) {
        // The suffix is reused only where walking it would give the same
        // text and anomalies; it costs what its pointer did (charged above).
        const MemoEntry& e = w->memo->at[ptr];
        const bool fits =
            e.wire_in == 0 ? wire_len + e.wire <= kMaxNameWireLen : wire_len == e.wire_in;
        if (e.gen == w->memo->gen && fits && jumps + e.jumps <= kMaxPointerJumps) {
          if (e.text_len != 0) {
            if (out.size() > base) out.push_back('.');
            out.append(w->memo->text, e.text_off, e.text_len);
          }
          wire_len += e.wire;
          jumps += e.jumps;
          if (e.bad_pointer) res.anomalies.add(Anomaly::kBadPointer);
          if (e.wire_in != 0) res.anomalies.add(Anomaly::kNameTooLong);
          if (e.non_text) res.anomalies.add(Anomaly::kNonTextBytes);
          finish(e.wire_in != 0, e.bad_pointer, e.non_text);
          return res;
        }
      }
      pos = ptr;
      segment_start = ptr;
      region_end = msg.size();
      continue;
    }
    if (kind != 0) {
      // 0x40 (extended label, RFC 6891 obsoleted it) and 0x80 (reserved): the
      // length of what follows is unknown.
      res.anomalies.add(Anomaly::kBadLabelType);
      return res;
    }
    if (!charge(w, 1u + len, res)) {
      res.end_known = false;
      return res;
    }
    if (len == 0) {
      if (!jumped) {
        end = pos + 1;
        res.end_known = true;
      }
      if (!too_long) {
        note(pos, false);
        finish(false, false);
      }
      return res;
    }
    if (pos + 1 + len > region_end) {
      res.anomalies.add(Anomaly::kTruncated);
      return res;
    }
    if (!too_long) {
      note(pos, false);
      ++labels;
    }
    wire_len += 1u + len;
    if (!too_long && wire_len > kMaxNameWireLen) {
      too_long = true;
      res.anomalies.add(Anomaly::kNameTooLong);
      wire_len -= 1u + len;  // what is kept, for the memo
      if (jumped) finish(true, false);
      wire_len += 1u + len;
    }
    if (too_long) {
      // Past a pointer the end is known and nothing more will be kept.
      if (jumped) return res;
    } else {
      if (out.size() > base) out.push_back('.');
      if (append_label(msg.data() + pos + 1, len, out)) {
        res.anomalies.add(Anomaly::kNonTextBytes);
        // Every recorded suffix up to here contains this label; the last
        // step recorded is this label's own, or the nearest one before it.
        if (nsteps != 0) steps[nsteps - 1].non_text = true;
      }
    }
    pos += 1u + len;
  }
}

// Reads a name at the reader's position, appended to `out`.
bool append_name(Bytes msg, ByteReader& r, std::string& out, AnomalySet& an, NameWalk* w) {
  const size_t start = offset_in(msg, r);
  const size_t limit = start + r.remaining() <= msg.size() ? start + r.remaining() : msg.size();
  size_t end = start;
  NameResult nr = read_name(msg, start, limit, out, end, true, w);
  if (nr.end_known) r.skip(end - start);
  an.merge(nr.anomalies);
  return nr.end_known;
}

bool read_name_in(Bytes msg, ByteReader& r, std::string& out, AnomalySet& an, NameWalk* w) {
  out.clear();
  return append_name(msg, r, out, an, w);
}

bool parse_question(Bytes msg, ByteReader& r, Question& q, AnomalySet& an, NameWalk* w) {
  if (!read_name_in(msg, r, q.name, an, w)) return false;
  if (!r.be16(q.type) || !r.be16(q.klass)) {
    an.add(Anomaly::kTruncated);
    return false;
  }
  return true;
}

// Renders a record's data by type; unknown types and data that does not fit
// its type's layout become hex (the latter flagged).
void render_rdata(Bytes msg, ByteReader rd, Record& rec, Edns& edns, AnomalySet& an, NameWalk* w) {
  bool ok = true;
  rec.data.clear();
  switch (rec.type) {
    case type::kA: ok = parse_rdata_a(rd, rec.data); break;
    case type::kAaaa: ok = parse_rdata_aaaa(rd, rec.data); break;
    case type::kNs:
    case type::kCname:
    case type::kPtr:
    case type::kDname: ok = parse_rdata_name(msg, rd, rec.data, an, w); break;
    case type::kMx: ok = parse_rdata_mx(msg, rd, rec.data, an, w); break;
    case type::kTxt: ok = parse_rdata_txt(rd, rec.data, an); break;
    case type::kSoa: ok = parse_rdata_soa(msg, rd, rec.data, an, w); break;
    case type::kSrv: ok = parse_rdata_srv(msg, rd, rec.data, an, w); break;
    case type::kOpt: {
      edns.present = true;
      edns.udp_size = rec.klass;
      edns.ext_rcode = static_cast<uint8_t>(rec.ttl >> 24);
      edns.version = static_cast<uint8_t>(rec.ttl >> 16);
      edns.do_bit = rec.ttl & 0x8000;
      ok = parse_rdata_opt(rd, edns, rec.data);
      break;
    }
    default: rdata_hex(Bytes(rd.cur(), rd.remaining()), rec.data); return;
  }
  // Data left undecoded for want of budget is not bad data; parsing stops.
  if (!ok && (w == nullptr || !w->over)) {
    an.add(Anomaly::kBadRdata);
    rec.data.clear();
    rdata_hex(Bytes(rd.cur(), rd.remaining()), rec.data);
  }
}

bool parse_record(Bytes msg, ByteReader& r, Record& rec, Edns& edns, AnomalySet& an, NameWalk* w) {
  if (!read_name_in(msg, r, rec.name, an, w)) return false;
  ByteReader rd;
  if (!r.be16(rec.type) || !r.be16(rec.klass) || !r.be32(rec.ttl) || !r.be16(rec.rdlength) ||
      !r.sub(rec.rdlength, rd)) {
    an.add(Anomaly::kTruncated);
    return false;
  }
  render_rdata(msg, rd, rec, edns, an, w);
  return w == nullptr || !w->over;
}

// Parses `count` records into `out` (keeping at most kMaxRecordsKept). False
// when the position was lost and parsing must stop.
bool parse_section(Bytes msg, ByteReader& r, uint16_t count, std::vector<Record>& out, size_t& used,
                   Record& scratch, Message& m, NameWalk& w) {
  for (uint32_t i = 0; i < count; ++i) {
    if (r.empty()) {
      m.anomalies.add(Anomaly::kTruncated);
      return false;
    }
    const bool keep = used < kMaxRecordsKept;
    Record& rec = keep ? next_slot(out, used) : scratch;
    if (!parse_record(msg, r, rec, m.edns, m.anomalies, &w)) {
      return false;  // the partly read record stays, for what it shows
    }
    if (!keep) ++m.records_dropped;
  }
  return true;
}

}  // namespace

std::string_view anomaly_name(Anomaly a) {
  switch (a) {
    case Anomaly::kNone: return "none";
    case Anomaly::kTruncated: return "truncated";
    case Anomaly::kBadPointer: return "bad_pointer";
    case Anomaly::kPointerLoop: return "pointer_loop";
    case Anomaly::kNameTooLong: return "name_too_long";
    case Anomaly::kInvalidOpcode: return "invalid_opcode";
    case Anomaly::kBadRdata: return "bad_rdata";
    case Anomaly::kTrailingBytes: return "trailing_bytes";
    case Anomaly::kBadLabelType: return "bad_label_type";
    case Anomaly::kUnsolicitedResponse: return "unsolicited_response";
    case Anomaly::kDuplicateResponse: return "duplicate_response";
    case Anomaly::kWorkLimit: return "work_limit";
    case Anomaly::kNonTextBytes: return "non_text_bytes";
  }
  return "unknown";
}

void Message::clear() {
  header = {};
  questions.clear();
  answers.clear();
  authorities.clear();
  additionals.clear();
  records_dropped = 0;
  edns.present = false;
  edns.udp_size = 0;
  edns.ext_rcode = 0;
  edns.version = 0;
  edns.do_bit = false;
  edns.options.clear();
  anomalies = {};
  length = 0;
  name_work = 0;
}

bool parse_header(ByteReader& r, Header& h) {
  if (r.remaining() < kHeaderLen) return false;
  r.be16(h.id);
  r.be16(h.flags);
  r.be16(h.qdcount);
  r.be16(h.ancount);
  r.be16(h.nscount);
  r.be16(h.arcount);
  return true;
}

NameResult parse_name(Bytes msg, ByteReader& r, std::string& out) {
  const size_t start = offset_in(msg, r);
  const size_t limit = start + r.remaining() <= msg.size() ? start + r.remaining() : msg.size();
  size_t end = start;
  NameResult res = read_name(msg, start, limit, out, end, false, nullptr);
  if (res.end_known) r.skip(end - start);
  return res;
}

bool parse_rdata_a(ByteReader rdata, std::string& out) {
  if (rdata.remaining() != 4) return false;
  const uint8_t* p = rdata.cur();
  out.clear();
  for (int i = 0; i < 4; ++i) {
    if (i) out.push_back('.');
    append_uint(p[i], out);
  }
  return true;
}

bool parse_rdata_aaaa(ByteReader rdata, std::string& out) {
  if (rdata.remaining() != 16) return false;
  // RFC 5952 text: lowercase, leading zeros dropped, longest run (>= 2) of
  // zero groups compressed to "::", the first such run on a tie.
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = load_be16(rdata.cur() + 2 * i);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  out.clear();
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out.push_back(':');
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int d = (g[i] >> shift) & 0xf;
      if (d != 0 || started || shift == 0) {
        out.push_back(kHexDigits[d]);
        started = true;
      }
    }
  }
  return true;
}

bool parse_rdata_name(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an,
                      NameWalk* walk) {
  if (!read_name_in(msg, rdata, out, an, walk)) return false;
  return rdata.empty();
}

bool parse_rdata_mx(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an, NameWalk* walk) {
  uint16_t pref = 0;
  if (!rdata.be16(pref)) return false;
  out.clear();
  append_uint(pref, out);
  out.push_back(' ');
  return append_name(msg, rdata, out, an, walk) && rdata.empty();
}

bool parse_rdata_txt(ByteReader rdata, std::string& out, AnomalySet& an) {
  out.clear();
  bool cut = false;
  // Each pass consumes at least the length byte.
  while (!rdata.empty()) {
    uint8_t n = 0;
    Bytes s;
    if (!rdata.u8(n) || !rdata.bytes(n, s)) return false;
    if (cut) continue;  // still walked, to check the layout
    if (out.size() >= kMaxTxtText) {
      out += " ...";
      cut = true;
      continue;
    }
    if (!out.empty()) out.push_back(' ');
    if (append_quoted(s.data(), s.size(), out)) an.add(Anomaly::kNonTextBytes);
  }
  return true;
}

bool parse_rdata_soa(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an,
                     NameWalk* walk) {
  out.clear();
  if (!append_name(msg, rdata, out, an, walk)) return false;
  out.push_back(' ');
  if (!append_name(msg, rdata, out, an, walk)) return false;
  for (int i = 0; i < 5; ++i) {  // serial refresh retry expire minimum
    uint32_t x = 0;
    if (!rdata.be32(x)) return false;
    out.push_back(' ');
    append_uint(x, out);
  }
  return rdata.empty();
}

bool parse_rdata_srv(Bytes msg, ByteReader rdata, std::string& out, AnomalySet& an,
                     NameWalk* walk) {
  uint16_t prio = 0, weight = 0, port = 0;
  if (!rdata.be16(prio) || !rdata.be16(weight) || !rdata.be16(port)) return false;
  out.clear();
  for (uint16_t x : {prio, weight, port}) {
    append_uint(x, out);
    out.push_back(' ');
  }
  return append_name(msg, rdata, out, an, walk) && rdata.empty();
}

bool parse_rdata_opt(ByteReader rdata, Edns& edns, std::string& out) {
  out.clear();
  size_t used = 0;
  // Each pass consumes at least the 4-byte option header.
  while (!rdata.empty()) {
    uint16_t code = 0, len = 0;
    Bytes val;
    if (!rdata.be16(code) || !rdata.be16(len) || !rdata.bytes(len, val)) {
      edns.options.resize(used);
      return false;
    }
    if (!out.empty()) out.push_back(' ');
    append_uint(code, out);
    out.push_back('=');
    const size_t shown = val.size() < kMaxHexRdata ? val.size() : kMaxHexRdata;
    append_hex(val.data(), shown, out);
    if (used < kMaxEdnsOptions) {
      EdnsOption& o = next_slot(edns.options, used);
      o.code = code;
      o.hex.clear();
      append_hex(val.data(), shown, o.hex);
    }
  }
  edns.options.resize(used);
  return true;
}

void rdata_hex(Bytes rdata, std::string& out) {
  const size_t shown = rdata.size() < kMaxHexRdata ? rdata.size() : kMaxHexRdata;
  append_hex(rdata.data(), shown, out);
  if (shown < rdata.size()) out += "...";
}

namespace {

// Slots of the message's vectors filled by this parse.
struct Used {
  size_t questions = 0, answers = 0, authorities = 0, additionals = 0;
};

// Questions and the three record sections; false where parsing stopped.
bool parse_body(Bytes data, ByteReader& r, Message& m, Used& u, NameWalk& w) {
  Question qscratch;  // for questions past kMaxQuestionsKept
  Record rscratch;    // for records past kMaxRecordsKept
  for (uint32_t i = 0; i < m.header.qdcount; ++i) {
    if (r.empty()) {
      m.anomalies.add(Anomaly::kTruncated);
      return false;
    }
    const bool keep = u.questions < kMaxQuestionsKept;
    Question& q = keep ? next_slot(m.questions, u.questions) : qscratch;
    // parse_question records why it stopped (truncated, bad label type).
    if (!parse_question(data, r, q, m.anomalies, &w)) return false;
    if (!keep) ++m.records_dropped;
  }
  return parse_section(data, r, m.header.ancount, m.answers, u.answers, rscratch, m, w) &&
         parse_section(data, r, m.header.nscount, m.authorities, u.authorities, rscratch, m, w) &&
         parse_section(data, r, m.header.arcount, m.additionals, u.additionals, rscratch, m, w);
}

}  // namespace

bool parse_message(Bytes data, Message& m) {
  // Scalars reset; the vectors keep their elements so that a reused Message
  // parses a stream of similar messages without allocating.
  m.header = {};
  m.records_dropped = 0;
  m.edns.present = false;
  m.edns.udp_size = 0;
  m.edns.ext_rcode = 0;
  m.edns.version = 0;
  m.edns.do_bit = false;
  m.anomalies = {};
  m.length = data.size();
  m.name_work = 0;
  Used u;
  ByteReader r(data);
  const bool has_header = parse_header(r, m.header);
  if (!has_header) {
    m.anomalies.add(Anomaly::kTruncated);
  } else {
    if (!opcode_assigned(m.header.opcode())) m.anomalies.add(Anomaly::kInvalidOpcode);
    // One memo per thread: parse_message may run on several capture threads.
    thread_local NameMemo memo;
    NameWalk w;
    begin_walk(w, memo, data.size());
    if (parse_body(data, r, m, u, w) && !r.empty()) m.anomalies.add(Anomaly::kTrailingBytes);
    m.name_work = w.work;
  }
  m.questions.resize(u.questions);
  m.answers.resize(u.answers);
  m.authorities.resize(u.authorities);
  m.additionals.resize(u.additionals);
  if (!m.edns.present) m.edns.options.clear();
  return has_header;
}

bool looks_like_dns(Bytes data) {
  // Bounds for "plausible": real queries ask one question (a handful at most)
  // and no message carries more records than fit in 64 KiB at ~11 bytes each.
  constexpr uint16_t kMaxPlausibleQuestions = 4;
  constexpr uint32_t kMaxPlausibleRecords = 6000;
  ByteReader r(data);
  Header h;
  if (!parse_header(r, h)) return false;
  if (h.qdcount == 0 || h.qdcount > kMaxPlausibleQuestions) return false;
  if (static_cast<uint32_t>(h.ancount) + h.nscount + h.arcount > kMaxPlausibleRecords) return false;
  if (!opcode_assigned(h.opcode()) || h.z()) return false;
  if (!h.qr() && h.rcode() != 0) return false;
  Question q;
  AnomalySet an;
  if (!parse_question(data, r, q, an, nullptr) || !an.empty()) return false;
  if (q.type == 0) return false;
  const uint16_t klass = q.klass & 0x7fff;  // mDNS uses the top bit (unicast response)
  return klass == 1 || klass == 3 || klass == 4 || klass == 254 || klass == 255;
}

std::string type_name(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 3: return "MD";
    case 4: return "MF";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 24: return "SIG";
    case 25: return "KEY";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 30: return "NXT";
    case 33: return "SRV";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 38: return "A6";
    case 39: return "DNAME";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 53: return "SMIMEA";
    case 55: return "HIP";
    case 59: return "CDS";
    case 60: return "CDNSKEY";
    case 61: return "OPENPGPKEY";
    case 62: return "CSYNC";
    case 63: return "ZONEMD";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 253: return "MAILB";
    case 254: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    case 32768: return "TA";
    case 32769: return "DLV";
    default: return "TYPE" + std::to_string(t);
  }
}

std::string rcode_name(uint16_t rc) {
  switch (rc) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    case 6: return "YXDOMAIN";
    case 7: return "YXRRSET";
    case 8: return "NXRRSET";
    case 9: return "NOTAUTH";
    case 10: return "NOTZONE";
    case 11: return "DSOTYPENI";
    case 16: return "BADVERS";
    case 17: return "BADKEY";
    case 18: return "BADTIME";
    case 19: return "BADMODE";
    case 20: return "BADNAME";
    case 21: return "BADALG";
    case 22: return "BADTRUNC";
    case 23: return "BADCOOKIE";
    default: return "RCODE" + std::to_string(rc);
  }
}

bool opcode_assigned(uint8_t opcode) {
  return opcode == 0 || opcode == 1 || opcode == 2 || opcode == 4 || opcode == 5 || opcode == 6;
}

}  // namespace tapir::analyzers::dns
