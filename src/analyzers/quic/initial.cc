#include "analyzers/quic/initial.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>

namespace tapir::analyzers::quic {

namespace {

// RFC 9001 5.2 and RFC 9369 3.3.1.
constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
constexpr size_t kTagLen = 16;
constexpr size_t kSampleLen = 16;
// Frames read from one Initial packet (at most ~1500 bytes, each frame at
// least one byte, so this only stops pathological padding-free packets).
constexpr int kMaxFrames = 1500;

struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

bool read_varint(ByteReader& r, uint64_t& v) {
  uint8_t first = 0;
  if (!r.u8(first)) return false;
  const size_t n = size_t{1} << (first >> 6);
  v = first & 0x3f;
  for (size_t i = 1; i < n; ++i) {
    uint8_t b = 0;
    if (!r.u8(b)) return false;
    v = (v << 8) | b;
  }
  return true;
}

bool hkdf_extract(const uint8_t* salt, size_t salt_len, const uint8_t* ikm, size_t ikm_len,
                  uint8_t* out, size_t out_len) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> c(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  return c && EVP_PKEY_derive_init(c.get()) == 1 &&
         EVP_PKEY_CTX_hkdf_mode(c.get(), EVP_PKEY_HKDEF_MODE_EXTRACT_ONLY) == 1 &&
         EVP_PKEY_CTX_set_hkdf_md(c.get(), EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set1_hkdf_salt(c.get(), salt, static_cast<int>(salt_len)) == 1 &&
         EVP_PKEY_CTX_set1_hkdf_key(c.get(), ikm, static_cast<int>(ikm_len)) == 1 &&
         EVP_PKEY_derive(c.get(), out, &out_len) == 1;
}

// RFC 8446 7.1 HKDF-Expand-Label with an empty context.
bool expand_label(const uint8_t* secret, size_t secret_len, const std::string& label,
                  uint8_t* out, size_t out_len) {
  // HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label,
  // opaque context<0..255> (empty). Labels used here are a few bytes long.
  const std::string full = "tls13 " + label;
  if (full.size() > 255) return false;
  std::array<uint8_t, 2 + 1 + 255 + 1> info{};
  info[0] = static_cast<uint8_t>(out_len >> 8);
  info[1] = static_cast<uint8_t>(out_len);
  info[2] = static_cast<uint8_t>(full.size());
  std::memcpy(info.data() + 3, full.data(), full.size());
  const size_t info_len = 3 + full.size() + 1;  // the final 0 is the empty context
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> c(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  return c && EVP_PKEY_derive_init(c.get()) == 1 &&
         EVP_PKEY_CTX_hkdf_mode(c.get(), EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) == 1 &&
         EVP_PKEY_CTX_set_hkdf_md(c.get(), EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set1_hkdf_key(c.get(), secret, static_cast<int>(secret_len)) == 1 &&
         EVP_PKEY_CTX_add1_hkdf_info(c.get(), info.data(), static_cast<int>(info_len)) == 1 &&
         EVP_PKEY_derive(c.get(), out, &out_len) == 1;
}

}  // namespace

bool parse_initial_header(const uint8_t* data, size_t len, InitialHeader& h) {
  ByteReader r(data, len);
  uint8_t first = 0;
  if (!r.u8(first) || (first & 0xc0) != 0xc0) return false;  // long header, fixed bit
  if (!r.be32(h.version)) return false;
  const uint8_t type = (first >> 4) & 0x03;
  // Initial is type 0 in v1 and type 1 in v2 (RFC 9369 3.2).
  if (!((h.version == kVersion1 && type == 0) || (h.version == kVersion2 && type == 1)))
    return false;
  uint8_t dlen = 0, slen = 0;
  Bytes dcid;
  if (!r.u8(dlen) || dlen > kMaxCidLen || !r.bytes(dlen, dcid)) return false;
  if (!r.u8(slen) || slen > kMaxCidLen || !r.skip(slen)) return false;
  uint64_t token_len = 0, length = 0;
  if (!read_varint(r, token_len) || token_len > r.remaining() || !r.skip(token_len)) return false;
  if (!read_varint(r, length) || length > r.remaining() || length < 4 + kSampleLen) return false;
  std::memcpy(h.dcid.data(), dcid.data(), dlen);
  h.dcid_len = dlen;
  h.pn_offset = r.pos();
  h.packet_len = r.pos() + length;
  return true;
}

bool derive_initial_keys(uint32_t version, const uint8_t* dcid, size_t dcid_len, bool client,
                         InitialKeys& out) {
  const bool v2 = version == kVersion2;
  uint8_t initial[32], secret[32];
  if (!hkdf_extract(v2 ? kSaltV2 : kSaltV1, 20, dcid, dcid_len, initial, sizeof initial))
    return false;
  if (!expand_label(initial, sizeof initial, client ? "client in" : "server in", secret,
                    sizeof secret))
    return false;
  const std::string p = v2 ? "quicv2 " : "quic ";
  return expand_label(secret, sizeof secret, p + "key", out.key.data(), out.key.size()) &&
         expand_label(secret, sizeof secret, p + "iv", out.iv.data(), out.iv.size()) &&
         expand_label(secret, sizeof secret, p + "hp", out.hp.data(), out.hp.size());
}

bool decrypt_initial(const uint8_t* packet, const InitialHeader& h, const InitialKeys& keys,
                     std::vector<uint8_t>& plain) {
  // Header protection (RFC 9001 5.4): the mask comes from a 16-byte sample
  // taken 4 bytes after the start of the packet number.
  uint8_t mask[32];
  int n = 0;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ecb(EVP_CIPHER_CTX_new());
  if (!ecb || EVP_EncryptInit_ex(ecb.get(), EVP_aes_128_ecb(), nullptr, keys.hp.data(), nullptr) != 1)
    return false;
  EVP_CIPHER_CTX_set_padding(ecb.get(), 0);
  if (EVP_EncryptUpdate(ecb.get(), mask, &n, packet + h.pn_offset + 4, kSampleLen) != 1)
    return false;
  std::vector<uint8_t> header(packet, packet + h.pn_offset + 4);
  header[0] ^= mask[0] & 0x0f;
  const size_t pn_len = (header[0] & 0x03) + 1;
  header.resize(h.pn_offset + pn_len);
  uint64_t pn = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    header[h.pn_offset + i] ^= mask[1 + i];
    pn = (pn << 8) | header[h.pn_offset + i];
  }
  const size_t payload_off = h.pn_offset + pn_len;
  if (h.packet_len < payload_off + kTagLen) return false;
  const size_t ct_len = h.packet_len - payload_off - kTagLen;
  std::array<uint8_t, 12> nonce = keys.iv;
  for (size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));

  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> gcm(EVP_CIPHER_CTX_new());
  plain.resize(ct_len + 16);
  int out = 0, fin = 0;
  if (!gcm || EVP_DecryptInit_ex(gcm.get(), EVP_aes_128_gcm(), nullptr, keys.key.data(),
                                 nonce.data()) != 1 ||
      EVP_DecryptUpdate(gcm.get(), nullptr, &out, header.data(), static_cast<int>(header.size())) != 1 ||
      EVP_DecryptUpdate(gcm.get(), plain.data(), &out, packet + payload_off,
                        static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(gcm.get(), EVP_CTRL_GCM_SET_TAG, kTagLen,
                          const_cast<uint8_t*>(packet + payload_off + ct_len)) != 1 ||
      EVP_DecryptFinal_ex(gcm.get(), plain.data() + out, &fin) != 1)
    return false;
  plain.resize(static_cast<size_t>(out + fin));
  return true;
}

bool collect_crypto(Bytes frames, std::vector<uint8_t>& crypto, std::vector<bool>& have) {
  ByteReader r(frames);
  for (int i = 0; i < kMaxFrames && !r.empty(); ++i) {
    uint64_t type = 0;
    if (!read_varint(r, type)) return false;
    switch (type) {
      case 0x00:  // PADDING
      case 0x01:  // PING
        break;
      case 0x02:
      case 0x03: {  // ACK (RFC 9000 19.3)
        uint64_t largest, delay, count, first, v;
        if (!read_varint(r, largest) || !read_varint(r, delay) || !read_varint(r, count) ||
            !read_varint(r, first) || count > r.remaining())
          return false;
        for (uint64_t k = 0; k < count; ++k)
          if (!read_varint(r, v) || !read_varint(r, v)) return false;
        if (type == 0x03)
          for (int k = 0; k < 3; ++k)
            if (!read_varint(r, v)) return false;
        break;
      }
      case 0x06: {  // CRYPTO
        uint64_t off = 0, len = 0;
        Bytes data;
        if (!read_varint(r, off) || !read_varint(r, len) || len > r.remaining() ||
            !r.bytes(static_cast<size_t>(len), data))
          return false;
        if (off >= kMaxCryptoBytes) break;
        const size_t end = std::min<size_t>(kMaxCryptoBytes, static_cast<size_t>(off) + data.size());
        if (crypto.size() < end) {
          crypto.resize(end);
          have.resize(end);
        }
        for (size_t k = static_cast<size_t>(off); k < end; ++k) {
          crypto[k] = data[k - static_cast<size_t>(off)];
          have[k] = true;
        }
        break;
      }
      case 0x1c: {  // CONNECTION_CLOSE
        return true;
      }
      default:
        return false;  // not allowed in Initial packets
    }
  }
  return true;
}

size_t contiguous_prefix(const std::vector<bool>& have, size_t from, uint64_t* visits) {
  size_t n = from;
  while (n < have.size() && have[n]) ++n;
  if (visits != nullptr) *visits += n - from + 1;
  return n;
}

}  // namespace tapir::analyzers::quic
