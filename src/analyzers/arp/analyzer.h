// ARP: one v1::Arp event per message (request, reply, gratuitous), with the
// reply's round-trip time when its request was seen and a flag when the
// sender MAC differs from the Ethernet source. Messages of another hardware
// or protocol type, or with other address lengths, are reported too, with
// their anomalies and the addresses that have a known form.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "analyzers/analyzer.h"
#include "common/seeded_hash.h"

namespace tapir::analyzers::arp {

// A request is remembered this long (capture time) for pairing with its
// reply. Linux retries an unanswered ARP request after 1 s and gives up
// after 3; a reply later than this is not a reply to that request.
constexpr TimeNs kRequestTimeout = 5 * kNsPerSec;
// Requests remembered at once. A /16 sweep fits; past it new requests are
// not remembered (their replies carry no RTT) rather than growing memory.
constexpr size_t kMaxPendingRequests = 65536;

class ArpAnalyzer : public Analyzer {
 public:
  explicit ArpAnalyzer(const AnalyzerContext& ctx) : ctx_(ctx) {}

  uint32_t interests() const override { return interest::kArp; }
  void on_packet(const PacketView& v) override;
  void on_tick(TimeNs now) override;

 private:
  AnalyzerContext ctx_;
  // (requester IPv4, asked-for IPv4) -> time of the latest request.
  // Seeded: both addresses of the key are the sender's choice
  // (common/seeded_hash.h).
  std::unordered_map<uint64_t, TimeNs, SeededU64Hash> pending_;
};

}  // namespace tapir::analyzers::arp
