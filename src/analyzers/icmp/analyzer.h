// ICMP and ICMPv6: one v1::Icmp event per message, with type names, echo
// request/reply pairing and RTT, the quoted packet's destination for error
// messages and the target address of neighbor discovery messages.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "analyzers/analyzer.h"
#include "common/seeded_hash.h"

namespace tapir::analyzers::icmp {

// An echo request is remembered this long (capture time). ping waits 10 s
// for a reply by default (-W); anything later is not an answer worth an RTT.
constexpr TimeNs kEchoTimeout = 10 * kNsPerSec;
// Echo requests remembered at once; past it new requests are not remembered
// (their replies come unpaired) rather than growing memory under a flood.
constexpr size_t kMaxPendingEchoes = 65536;

// "echo-request", "dest-unreachable", "neighbor-solicitation" ... or "type-N".
std::string_view type_name(bool v6, uint8_t type);

class IcmpAnalyzer : public Analyzer {
 public:
  explicit IcmpAnalyzer(const AnalyzerContext& ctx) : ctx_(ctx) {}

  uint32_t interests() const override { return interest::kIcmp; }
  void on_packet(const PacketView& v) override;
  void on_tick(TimeNs now) override;

 private:
  // Requester, responder, id and sequence of one echo.
  struct EchoKey {
    std::array<uint8_t, 16> requester{};
    std::array<uint8_t, 16> responder{};
    uint16_t id = 0;
    uint16_t seq = 0;
    uint8_t version = 0;
    friend bool operator==(const EchoKey&, const EchoKey&) = default;
  };
  // Seeded per analyzer: the key is the sender's choice (common/seeded_hash.h).
  struct EchoHash {
    uint64_t seed = 0;
    size_t operator()(const EchoKey& k) const;
  };

  AnalyzerContext ctx_;
  std::unordered_map<EchoKey, TimeNs, EchoHash> pending_{0, EchoHash{random_seed()}};
  std::string community_id_;  // scratch for packets without a flow
};

}  // namespace tapir::analyzers::icmp
