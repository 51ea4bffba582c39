#include "analyzers/tls/parser.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

namespace tapir::analyzers::tls {

namespace {

// RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest.
constexpr std::array<uint8_t, 32> kHelloRetryRandom = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

// The number of hex digits of a SHA-256 JA4 keeps for its b and c parts.
constexpr size_t kJa4HashHexLen = 12;

// Reads a list of 16-bit values prefixed by a 16-bit byte length.
bool read_u16_list(ByteReader& r, std::vector<uint16_t>& out) {
  uint16_t n = 0;
  ByteReader list;
  if (!r.be16(n) || !r.sub(n, list)) return false;
  uint16_t v = 0;
  while (list.be16(v))
    if (out.size() < kMaxListItems) out.push_back(v);
  return true;
}

void parse_sni(ByteReader r, std::string& out) {
  uint16_t n = 0;
  ByteReader list;
  if (!r.be16(n) || !r.sub(n, list)) return;
  // Each entry is at least 3 bytes, so the loop ends within the extension.
  while (!list.empty()) {
    uint8_t type = 0;
    uint16_t len = 0;
    Bytes name;
    if (!list.u8(type) || !list.be16(len) || !list.bytes(len, name)) return;
    if (type == 0 && out.empty()) {
      out.assign(as_string_view(name));
      return;
    }
  }
}

void parse_alpn_list(ByteReader r, std::vector<std::string>& out, size_t max) {
  uint16_t n = 0;
  ByteReader list;
  if (!r.be16(n) || !r.sub(n, list)) return;
  while (!list.empty() && out.size() < max) {
    uint8_t len = 0;
    Bytes name;
    if (!list.u8(len) || !list.bytes(len, name)) return;
    out.emplace_back(as_string_view(name));
  }
}

void parse_client_extension(uint16_t type, ByteReader data, ClientHello& out) {
  switch (type) {
    case ext::kServerName:
      parse_sni(data, out.sni);
      break;
    case ext::kSupportedGroups:
      read_u16_list(data, out.groups);
      break;
    case ext::kEcPointFormats: {
      uint8_t n = 0;
      Bytes b;
      if (data.u8(n) && data.bytes(n, b)) out.ec_point_formats.assign(b.begin(), b.end());
      break;
    }
    case ext::kSignatureAlgorithms:
      read_u16_list(data, out.signature_algorithms);
      break;
    case ext::kAlpn:
      parse_alpn_list(data, out.alpn, kMaxAlpn);
      break;
    case ext::kSessionTicket:
      out.session_ticket = data.size() > 0;
      break;
    case ext::kPreSharedKey:
      out.psk = true;
      break;
    case ext::kEncryptedClientHello:
      out.ech = true;
      break;
    case ext::kSupportedVersions: {
      uint8_t n = 0;
      ByteReader list;
      if (!data.u8(n) || !data.sub(n, list)) break;
      uint16_t v = 0;
      while (list.be16(v) && out.supported_versions.size() < kMaxListItems)
        out.supported_versions.push_back(v);
      break;
    }
    case ext::kKeyShare: {
      uint16_t n = 0;
      ByteReader list;
      if (!data.be16(n) || !data.sub(n, list)) break;
      while (!list.empty() && out.key_share_groups.size() < kMaxListItems) {
        uint16_t group = 0, klen = 0;
        if (!list.be16(group) || !list.be16(klen) || !list.skip(klen)) break;
        out.key_share_groups.push_back(group);
      }
      break;
    }
    default:
      break;
  }
}

void parse_server_extension(uint16_t type, ByteReader data, ServerHello& out) {
  switch (type) {
    case ext::kSupportedVersions: {
      uint16_t v = 0;
      if (data.be16(v)) out.supported_version = v;
      break;
    }
    case ext::kAlpn: {
      std::vector<std::string> names;
      parse_alpn_list(data, names, 1);
      if (!names.empty()) out.alpn = std::move(names[0]);
      break;
    }
    case ext::kKeyShare: {
      uint16_t g = 0;
      if (data.be16(g)) out.key_share_group = g;
      break;
    }
    case ext::kPreSharedKey:
      out.psk = true;
      break;
    default:
      break;
  }
}

// Walks an extensions block; false if it was cut short.
template <class Fn>
bool for_each_extension(ByteReader& r, std::vector<uint16_t>& types, Fn fn) {
  if (r.empty()) return true;  // extensions are optional before TLS 1.3
  uint16_t n = 0;
  ByteReader block;
  if (!r.be16(n)) return false;
  if (!r.sub(n, block)) return false;
  // Each extension takes at least 4 bytes of the (at most 64 KiB) block.
  while (!block.empty()) {
    uint16_t type = 0, len = 0;
    ByteReader data;
    if (!block.be16(type) || !block.be16(len) || !block.sub(len, data)) return false;
    if (types.size() < kMaxListItems) types.push_back(type);
    fn(type, data);
  }
  return true;
}

std::string join_dec(const std::vector<uint16_t>& v) {
  std::string s;
  for (uint16_t x : v) {
    if (is_grease(x)) continue;
    if (!s.empty()) s += '-';
    s += std::to_string(x);
  }
  return s;
}

std::string hex4(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04x", v);
  return buf;
}

std::string sha256_prefix(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n && out.size() < kJa4HashHexLen; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string ja4_version(uint16_t v) {
  switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
  }
}

bool is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

std::string version_name(uint16_t v) {
  switch (v) {
    case 0x0002: return "SSLv2";
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1.0";
    case 0x0302: return "TLSv1.1";
    case 0x0303: return "TLSv1.2";
    case 0x0304: return "TLSv1.3";
    case 0xfeff: return "DTLSv1.0";
    case 0xfefd: return "DTLSv1.2";
    case 0xfefc: return "DTLSv1.3";
    default: break;
  }
  if ((v >> 8) == 0x7f) return "TLSv1.3-draft" + std::to_string(v & 0xff);
  return "unknown";
}

bool parse_client_hello(Bytes body, ClientHello& out) {
  ByteReader r(body);
  uint8_t sid_len = 0, comp_len = 0;
  uint16_t cipher_len = 0;
  ByteReader ciphers;
  if (!r.be16(out.version) || !r.skip(32) || !r.u8(sid_len) || sid_len > 32 || !r.skip(sid_len) ||
      !r.be16(cipher_len) || !r.sub(cipher_len, ciphers) || !r.u8(comp_len) || !r.skip(comp_len)) {
    out.truncated = true;
    return false;
  }
  out.session_id_len = sid_len;
  uint16_t c = 0;
  while (ciphers.be16(c))
    if (out.ciphers.size() < kMaxListItems) out.ciphers.push_back(c);
  if (!for_each_extension(r, out.extensions, [&](uint16_t type, ByteReader data) {
        parse_client_extension(type, data, out);
      }))
    out.truncated = true;
  return true;
}

bool parse_server_hello(Bytes body, ServerHello& out) {
  ByteReader r(body);
  Bytes random;
  uint8_t sid_len = 0, comp = 0;
  if (!r.be16(out.version) || !r.bytes(32, random) || !r.u8(sid_len) || sid_len > 32) {
    out.truncated = true;
    return false;
  }
  Bytes sid;
  if (!r.bytes(sid_len, sid) || !r.be16(out.cipher) || !r.u8(comp)) {
    out.truncated = true;
    return false;
  }
  out.session_id_len = sid_len;
  std::copy(sid.begin(), sid.end(), out.session_id.begin());
  out.hello_retry = std::equal(random.begin(), random.end(), kHelloRetryRandom.begin());
  if (!for_each_extension(r, out.extensions, [&](uint16_t type, ByteReader data) {
        parse_server_extension(type, data, out);
      }))
    out.truncated = true;
  return true;
}

bool parse_certificate_list(Bytes body, std::vector<Bytes>& out, uint32_t& total) {
  ByteReader r(body);
  uint32_t n = 0;
  ByteReader list;
  total = 0;
  if (!r.be24(n) || !r.sub(n, list)) return false;
  // Each certificate takes at least 3 bytes of the bounded message.
  while (!list.empty()) {
    uint32_t len = 0;
    Bytes der;
    if (!list.be24(len) || !list.bytes(len, der)) return false;
    ++total;
    if (out.size() < kMaxCertificates) out.push_back(der);
  }
  return true;
}

std::string ja3_string(const ClientHello& ch) {
  std::string s = std::to_string(ch.version) + ',' + join_dec(ch.ciphers) + ',' +
                  join_dec(ch.extensions) + ',' + join_dec(ch.groups) + ',';
  bool first = true;
  for (uint8_t f : ch.ec_point_formats) {
    if (!first) s += '-';
    first = false;
    s += std::to_string(f);
  }
  return s;
}

std::string ja3s_string(const ServerHello& sh) {
  return std::to_string(sh.version) + ',' + std::to_string(sh.cipher) + ',' +
         join_dec(sh.extensions);
}

std::string md5_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_md5(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string ja4(const ClientHello& ch, bool quic) {
  std::string a(1, quic ? 'q' : 't');
  uint16_t version = ch.version;
  bool have_sv = false;
  for (uint16_t v : ch.supported_versions) {
    if (is_grease(v)) continue;
    if (!have_sv || v > version) version = v;
    have_sv = true;
  }
  a += ja4_version(version);
  bool sni = false;
  std::vector<uint16_t> ciphers, exts;
  for (uint16_t c : ch.ciphers)
    if (!is_grease(c)) ciphers.push_back(c);
  for (uint16_t e : ch.extensions) {
    if (is_grease(e)) continue;
    if (e == ext::kServerName) sni = true;
    exts.push_back(e);
  }
  a += sni ? 'd' : 'i';
  char counts[8];
  std::snprintf(counts, sizeof counts, "%02zu%02zu", std::min<size_t>(ciphers.size(), 99),
                std::min<size_t>(exts.size(), 99));
  a += counts;
  if (ch.alpn.empty() || ch.alpn[0].empty()) {
    a += "00";
  } else {
    const std::string& p = ch.alpn[0];
    const auto first = static_cast<uint8_t>(p.front());
    const auto last = static_cast<uint8_t>(p.back());
    if (is_alnum(first) && is_alnum(last)) {
      a += static_cast<char>(first);
      a += static_cast<char>(last);
    } else {
      static const char* kHex = "0123456789abcdef";
      a += kHex[first >> 4];
      a += kHex[last & 15];
    }
  }

  std::sort(ciphers.begin(), ciphers.end());
  std::string b;
  for (uint16_t c : ciphers) b += (b.empty() ? "" : ",") + hex4(c);
  std::string c;
  std::vector<uint16_t> sorted;
  for (uint16_t e : exts)
    if (e != ext::kServerName && e != ext::kAlpn) sorted.push_back(e);
  std::sort(sorted.begin(), sorted.end());
  for (uint16_t e : sorted) c += (c.empty() ? "" : ",") + hex4(e);
  std::string sigs;
  for (uint16_t s : ch.signature_algorithms)
    if (!is_grease(s)) sigs += (sigs.empty() ? "" : ",") + hex4(s);
  if (!sigs.empty()) c += "_" + sigs;

  const std::string zeros(kJa4HashHexLen, '0');
  return a + '_' + (ciphers.empty() ? zeros : sha256_prefix(b)) + '_' +
         (sorted.empty() ? zeros : sha256_prefix(c));
}

// ---------------------------------------------------------------- stream

void HandshakeStream::feed(const uint8_t* data, size_t len) {
  // Finish a record left incomplete by the previous call, one piece at a time.
  while (len > 0 && !partial_.empty() && state_ == State::kHandshake) {
    size_t need;
    if (partial_.size() < kRecordHeaderLen) {
      need = kRecordHeaderLen - partial_.size();
    } else {
      need = kRecordHeaderLen + load_be16(partial_.data() + 3) - partial_.size();
    }
    const size_t take = std::min(need, len);
    partial_.insert(partial_.end(), data, data + take);
    data += take;
    len -= take;
    if (partial_.size() < kRecordHeaderLen) return;
    size_t used = 0;
    consume_records(partial_.data(), partial_.size(), used);
    if (used == partial_.size()) {
      partial_.clear();
    } else if (state_ != State::kHandshake) {
      return;
    }
  }
  if (state_ != State::kHandshake || len == 0) return;
  size_t used = 0;
  consume_records(data, len, used);
  if (state_ == State::kHandshake && used < len) partial_.assign(data + used, data + len);
}

void HandshakeStream::consume_records(const uint8_t* data, size_t len, size_t& used) {
  used = 0;
  while (state_ == State::kHandshake && len - used >= kRecordHeaderLen) {
    const uint8_t* h = data + used;
    const uint8_t type = h[0];
    const uint16_t version = load_be16(h + 1);
    const uint16_t rlen = load_be16(h + 3);
    if (type < content::kChangeCipherSpec || type > content::kHeartbeat || h[1] != 3 ||
        rlen > kMaxRecordLen) {
      state_ = State::kNotTls;
      ++anomalies_;
      return;
    }
    if (len - used < kRecordHeaderLen + rlen) return;
    on_record(type, version, h + kRecordHeaderLen, rlen);
    used += kRecordHeaderLen + rlen;
  }
}

void HandshakeStream::on_record(uint8_t type, uint16_t version, const uint8_t* data, size_t len) {
  ++records_;
  if (first_record_version_ == 0) first_record_version_ = version;
  switch (type) {
    case content::kHandshake: {
      if (hs_pos_ > 0) {
        hs_.erase(hs_.begin(), hs_.begin() + static_cast<std::ptrdiff_t>(hs_pos_));
        hs_pos_ = 0;
      }
      const size_t s = std::min(skip_, len);
      skip_ -= s;
      data += s;
      len -= s;
      if (hs_.empty()) hs_record_version_ = version;
      hs_.insert(hs_.end(), data, data + len);
      // Drop a message too large to keep as soon as its header is known.
      while (skip_ == 0 && hs_.size() - hs_pos_ >= kHandshakeHeaderLen) {
        const uint32_t mlen = load_be24(hs_.data() + hs_pos_ + 1);
        if (mlen <= kMaxHandshakeMessage) break;
        ++anomalies_;
        skip_ = kHandshakeHeaderLen + mlen;
        const size_t d = std::min(skip_, hs_.size() - hs_pos_);
        hs_pos_ += d;
        skip_ -= d;
      }
      break;
    }
    case content::kChangeCipherSpec:
      ccs_ = true;
      if (ccs_ends_plaintext_) state_ = State::kEncrypted;
      break;
    case content::kAlert:
      if (len == 2 && alerts_.size() < kMaxAlerts)
        alerts_.push_back(static_cast<uint16_t>(data[0] * 256 + data[1]));
      break;
    case content::kApplicationData:
      state_ = State::kEncrypted;
      break;
    default:
      break;
  }
}

void HandshakeStream::gap() {
  // Record boundaries are lost with the bytes; what was buffered stays readable.
  if (state_ == State::kHandshake) state_ = State::kEncrypted;
  partial_.clear();
}

bool HandshakeStream::next(HandshakeMessage& out) {
  if (messages_ >= kMaxHandshakeMessages) return false;
  const size_t avail = hs_.size() - hs_pos_;
  if (avail < kHandshakeHeaderLen) return false;
  const uint8_t* p = hs_.data() + hs_pos_;
  const uint32_t mlen = load_be24(p + 1);
  if (avail < kHandshakeHeaderLen + mlen) return false;
  out.type = p[0];
  out.record_version = hs_record_version_;
  out.body = Bytes(p + kHandshakeHeaderLen, mlen);
  hs_pos_ += kHandshakeHeaderLen + mlen;
  ++messages_;
  if (messages_ == kMaxHandshakeMessages) {
    ++anomalies_;
    state_ = State::kEncrypted;
  }
  return true;
}

bool looks_like_client_hello(const uint8_t* data, size_t len) {
  // Record header + handshake header + client version: 11 bytes.
  if (len < kRecordHeaderLen + kHandshakeHeaderLen + 2) return false;
  if (data[0] != content::kHandshake || data[1] != 3 || data[2] > 4) return false;
  const uint16_t rlen = load_be16(data + 3);
  if (rlen < kHandshakeHeaderLen + 2 || rlen > kMaxRecordLen) return false;
  if (data[5] != hs::kClientHello) return false;
  const uint32_t mlen = load_be24(data + 6);
  // A ClientHello is at least version + random + three length bytes.
  if (mlen < 38) return false;
  return data[9] == 3 && data[10] <= 4;
}

}  // namespace tapir::analyzers::tls
