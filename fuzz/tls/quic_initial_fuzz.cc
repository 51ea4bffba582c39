// Arbitrary datagrams as QUIC Initials: header parsing, key derivation from
// whatever DCID they carry, decryption (almost always failing
// authentication), and CRYPTO frame collection over the raw bytes as if they
// had decrypted, which reaches the frame parser without a valid tag.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "analyzers/quic/initial.h"

using namespace tapir::analyzers::quic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  InitialHeader h;
  if (parse_initial_header(data, size, h)) {
    InitialKeys k;
    std::vector<uint8_t> plain;
    if (derive_initial_keys(h.version, h.dcid.data(), h.dcid_len, true, k))
      decrypt_initial(data, h, k, plain);
  }
  std::vector<uint8_t> crypto;
  std::vector<bool> have;
  collect_crypto(tapir::Bytes(data, size), crypto, have);
  return 0;
}
