// DNS transactions over UDP and TCP: queries and responses paired by flow,
// transaction id and question; one v1::Dns event per transaction, emitted
// when the response arrives, or unanswered when the query times out (packet
// clock) or its flow ends. Responses without a query are emitted flagged
// unsolicited, a second response to an answered query flagged duplicate.
#pragma once

#include <cstdint>
#include <array>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/dns/parser.h"
#include "flow/stream.h"

namespace tapir::analyzers::dns {

// Ports claimed without sniffing: DNS, multicast DNS (RFC 6762), LLMNR (RFC 4795).
constexpr uint16_t kPortDns = 53;
constexpr uint16_t kPortMdns = 5353;
constexpr uint16_t kPortLlmnr = 5355;
// NetBIOS name service (RFC 1002) shares DNS's wire format, so sniffing
// would take it for DNS; it is a different protocol with its own name
// encoding and is left unclaimed.
constexpr uint16_t kPortNetbiosNs = 137;
// A query unanswered this long (capture time) is emitted without response.
// Zeek's dns_session_timeout is 10 s too; resolvers retry well before that.
constexpr TimeNs kQueryTimeout = 10 * kNsPerSec;
// Outstanding queries kept per flow. A client reusing one source port for a
// burst of queries stays well below this; past it the oldest is emitted
// unanswered, so a flood cannot grow memory.
constexpr size_t kMaxPendingPerFlow = 64;
// Answered (id, question) pairs remembered per flow to tell a duplicate
// response from an unsolicited one.
constexpr size_t kMaxAnsweredRemembered = 16;
// TCP messages are length-prefixed with 16 bits (RFC 1035 4.2.2), so one
// message never needs more buffer than this.
constexpr size_t kMaxTcpMessage = 2 + 65535;

class DnsAnalyzer;

// What is kept of a query until its response arrives.
struct PendingQuery {
  TimeNs ts = 0;
  flow::Direction dir = flow::Direction::kFromOriginator;  // sender of the query
  Message msg;
};

// Per-flow state: TCP framing buffers and outstanding queries.
class DnsFlowState : public flow::FlowAppState, public flow::StreamConsumer {
 public:
  DnsFlowState(DnsAnalyzer* owner, flow::FlowRecord* f) : owner_(owner), flow_(f) {}
  ~DnsFlowState() override;

  // One complete DNS message (UDP datagram or TCP message) from `dir`.
  void on_message(flow::Direction dir, Bytes data, TimeNs ts);

  void on_stream_data(flow::Direction dir, const uint8_t* data, size_t len, TimeNs ts) override;
  void on_stream_gap(flow::Direction dir, uint64_t len) override;

  // Emits queries older than `before` (all if before == 0) as unanswered.
  void expire(TimeNs before);
  bool has_pending() const { return live_ != 0; }
  void detach() { owner_ = nullptr; }

 private:
  struct Answered {
    uint16_t id = 0;
    uint16_t qtype = 0;
    std::string qname;
  };
  // One event: query and/or response (`rdir`/`rts`: the response's sender
  // and time), with anomalies of both plus `extra`.
  void emit(const PendingQuery* q, const Message* resp, flow::Direction rdir, TimeNs rts,
            AnomalySet extra);
  void remember_answered(const Message& resp);
  // Removes pending_[i], keeping the order of the rest; the slot (and its
  // buffers) goes to the spare end for reuse.
  void remove_pending(size_t i);

  DnsAnalyzer* owner_;
  flow::FlowRecord* flow_;
  // Outstanding queries, oldest first, in pending_[0, live_); slots past
  // live_ are spares whose buffers the next queries reuse.
  std::vector<PendingQuery> pending_;
  size_t live_ = 0;
  // Ring of the last kMaxAnsweredRemembered answered questions.
  std::array<Answered, kMaxAnsweredRemembered> answered_;
  size_t answered_count_ = 0;
  size_t answered_next_ = 0;
  Message scratch_;
  // TCP: bytes of an incomplete message per direction, and whether a gap
  // lost the framing (the rest of that direction is then ignored).
  std::string buf_[2];
  bool desynced_[2] = {false, false};
};

class DnsAnalyzer : public Analyzer {
 public:
  explicit DnsAnalyzer(const AnalyzerContext& ctx) : ctx_(ctx) {}
  ~DnsAnalyzer() override;

  bool claim(const PacketView& v) override;
  bool wants_streams() const override { return true; }
  void on_flow_packet(const PacketView& v) override;
  void on_flow_end(flow::FlowRecord& f) override;
  void on_tick(TimeNs now) override;
  void on_shutdown() override;

  // Used by DnsFlowState.
  const AnalyzerContext& context() const { return ctx_; }
  void track(DnsFlowState* s) { with_pending_.insert(s); }
  void untrack(DnsFlowState* s) { with_pending_.erase(s); }

 private:
  AnalyzerContext ctx_;
  // Flow states holding unanswered queries, for the packet-clock timeout.
  std::unordered_set<DnsFlowState*> with_pending_;
};

}  // namespace tapir::analyzers::dns
