// QUIC Initial packets (RFC 9000 17.2.2, RFC 9001 5, RFC 9369 for v2): header
// parsing, key derivation from the Destination Connection ID, header
// protection removal and AEAD decryption, and the CRYPTO frames inside.
// Pure: bytes in, bytes out; OpenSSL does the cryptography.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace tapir::analyzers::quic {

constexpr uint32_t kVersion1 = 0x00000001;
constexpr uint32_t kVersion2 = 0x6b3343cf;
// RFC 9000 17.2: connection ids are at most 20 bytes in QUIC v1 and v2.
constexpr size_t kMaxCidLen = 20;
// The ClientHello is rebuilt from CRYPTO frames at offsets below this. One
// ClientHello rarely passes 2 KiB; post-quantum key shares take it to about
// 4 KiB over two or three Initials.
constexpr size_t kMaxCryptoBytes = 16 * 1024;

// The fields of a long-header Initial packet, before decryption.
struct InitialHeader {
  uint32_t version = 0;
  std::array<uint8_t, kMaxCidLen> dcid{};
  uint8_t dcid_len = 0;
  size_t pn_offset = 0;     // where the protected packet number starts
  size_t packet_len = 0;    // the whole packet, header included
};

// Whether `data` starts with a QUIC v1/v2 Initial packet; fills `h`.
bool parse_initial_header(const uint8_t* data, size_t len, InitialHeader& h);

struct InitialKeys {
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 16> hp{};
};

// RFC 9001 5.2 (v1) / RFC 9369 3.3.1 (v2): the client's or server's Initial keys.
bool derive_initial_keys(uint32_t version, const uint8_t* dcid, size_t dcid_len, bool client,
                         InitialKeys& out);

// Removes header protection and decrypts one Initial packet; `plain` gets the
// frames. False when the packet does not authenticate.
bool decrypt_initial(const uint8_t* packet, const InitialHeader& h, const InitialKeys& keys,
                     std::vector<uint8_t>& plain);

// Copies the CRYPTO frames of decrypted Initial frames into `crypto` (by
// offset, below kMaxCryptoBytes) and marks `have` for the bytes present.
// False on a malformed frame (what came before it is kept).
bool collect_crypto(Bytes frames, std::vector<uint8_t>& crypto, std::vector<bool>& have);

// Bytes of `have` present from offset 0 without a hole, found by advancing
// from `from` (what an earlier call returned). Called once per datagram, it
// looks at each offset once over a connection instead of rescanning up to
// kMaxCryptoBytes per datagram. `visits`, when given, counts offsets looked at.
size_t contiguous_prefix(const std::vector<bool>& have, size_t from, uint64_t* visits = nullptr);

}  // namespace tapir::analyzers::quic
