#include "flow/reassembly.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <vector>

namespace tapir::flow {
namespace {

// Out-of-order pieces kept per direction, whatever their size: with the byte
// bound alone, a stream of 1-byte segments would cost ~100 bytes of map node
// per byte buffered. 4096 pieces covers a full 1 MiB window of 256-byte
// segments, far more disorder than real networks show.
constexpr size_t kMaxPiecesPerDir = 4096;

// Sequence numbers are unwrapped into 64-bit positions whose low 32 bits are
// the wire value; starting at 2^32 leaves room for data that arrives from
// before the first segment we saw (midstream pick-up).
constexpr uint64_t kPositionBase = 1ull << 32;

}  // namespace

// Bytes buffered by all the flows of one Reassembler. Shared with every
// TcpStreams so that a flow released after its Reassembler still returns its
// bytes correctly (and never touches freed memory).
struct ReassemblyBudget {
  uint64_t used = 0;
};

class TcpStreams {
 public:
  struct Piece {
    std::vector<uint8_t> data;
    TimeNs ts = 0;
    uint64_t end(uint64_t start) const { return start + data.size(); }
  };
  struct Side {
    bool init = false;
    bool done = false;          // no more delivery (FIN reached, RST, stopped, flow end)
    bool end_reported = false;
    bool fin_known = false;
    uint64_t fin_pos = 0;       // position of the FIN (one past the last data byte)
    uint64_t next = 0;          // position of the next byte to deliver
    std::map<uint64_t, Piece> pieces;  // out-of-order data, disjoint, all beyond `next`
    size_t buffered = 0;

    uint64_t position(uint32_t seq) const {
      return next + static_cast<uint64_t>(static_cast<int64_t>(
                        static_cast<int32_t>(seq - static_cast<uint32_t>(next))));
    }
  };

  explicit TcpStreams(std::shared_ptr<ReassemblyBudget> budget) : budget_(std::move(budget)) {}
  ~TcpStreams() { budget_->used -= side[0].buffered + side[1].buffered; }

  std::array<Side, 2> side;

 private:
  friend class Reassembler;
  friend struct ReassemblyOps;
  std::shared_ptr<ReassemblyBudget> budget_;
};

void TcpStreamsDeleter::operator()(TcpStreams* s) const { delete s; }

// The per-segment work, with access to the Reassembler's config and stats.
struct ReassemblyOps {
  const ReassemblyConfig& config;
  ReassemblyStats& stats;
  TcpStreams& streams;
  StreamConsumer& consumer;

  void release(TcpStreams::Side& s) {
    streams.budget_->used -= s.buffered;
    s.buffered = 0;
    s.pieces.clear();
  }

  void finish(Direction dir, TcpStreams::Side& s) {
    s.done = true;
    release(s);
    if (!s.end_reported) {
      s.end_reported = true;
      consumer.on_stream_end(dir);
    }
  }

  // Hands bytes at `next` to the consumer; false if the consumer has had enough.
  bool deliver(Direction dir, TcpStreams::Side& s, const uint8_t* data, size_t len, TimeNs ts) {
    if (len > 0) {
      consumer.on_stream_data(dir, data, len, ts);
      stats.bytes_delivered += len;
      s.next += len;
    }
    if (!consumer.wants_more(dir)) {
      s.done = true;
      release(s);
      return false;
    }
    return true;
  }

  void gap(Direction dir, TcpStreams::Side& s, uint64_t to) {
    if (to <= s.next) return;
    consumer.on_stream_gap(dir, to - s.next);
    ++stats.gaps;
    stats.gap_bytes += to - s.next;
    s.next = to;
  }

  // Delivers buffered pieces that have become contiguous, then ends the
  // direction if its FIN has been reached.
  void drain(Direction dir, TcpStreams::Side& s) {
    while (!s.done && !s.pieces.empty() && s.pieces.begin()->first <= s.next) {
      auto it = s.pieces.begin();
      const uint64_t start = it->first;
      TcpStreams::Piece piece = std::move(it->second);
      s.pieces.erase(it);
      s.buffered -= piece.data.size();
      streams.budget_->used -= piece.data.size();
      const uint64_t end = piece.end(start);
      if (end <= s.next) continue;
      const size_t skip = static_cast<size_t>(s.next - start);
      if (!deliver(dir, s, piece.data.data() + skip, piece.data.size() - skip, piece.ts)) return;
    }
    if (!s.done && s.fin_known && s.next >= s.fin_pos) finish(dir, s);
  }

  // Gives up on the first hole: reports it and delivers what follows it.
  // Returns false when there is nothing buffered to give up on.
  bool skip_first_hole(Direction dir, TcpStreams::Side& s) {
    if (s.pieces.empty()) return false;
    gap(dir, s, s.pieces.begin()->first);
    drain(dir, s);
    return true;
  }

  // Makes room for `n` more buffered bytes, turning holes into gaps while a
  // bound is exceeded. False if the bytes at `pos` must instead be handled
  // by skipping straight to them.
  bool make_room(Direction dir, TcpStreams::Side& s, uint64_t pos, size_t n) {
    bool hit = false;
    for (;;) {
      const bool over_flow = s.buffered + n > config.max_flow_bytes ||
                             s.pieces.size() >= kMaxPiecesPerDir;
      const bool over_global = streams.budget_->used + n > config.max_total_bytes;
      if (!over_flow && !over_global) return true;
      if (!hit) {
        hit = true;
        if (over_flow) ++stats.flow_limit_hits; else ++stats.global_limit_hits;
      }
      // Only holes before `pos` are given up here; skipping a later one
      // would jump over the very bytes being added.
      if (s.done || s.pieces.empty() || s.pieces.begin()->first > pos) return false;
      skip_first_hole(dir, s);
    }
  }

  // Adds [pos, pos+len) keeping bytes already buffered (first wins):
  // delivered at once where it continues the stream, buffered elsewhere.
  void insert(Direction dir, TcpStreams::Side& s, uint64_t pos, const uint8_t* data, size_t len,
              TimeNs ts) {
    const uint64_t end = pos + len;
    // A bounded walk: every turn consumes part of [pos, end) or one piece.
    while (pos < end && !s.done) {
      if (pos < s.next) {  // delivered meanwhile (a gap was skipped past it)
        const uint64_t to = std::min(end, s.next);
        stats.retransmitted_bytes += to - pos;
        data += to - pos;
        pos = to;
        continue;
      }
      auto it = s.pieces.upper_bound(pos);
      if (it != s.pieces.begin()) {
        auto prev = std::prev(it);
        const uint64_t prev_end = prev->second.end(prev->first);
        if (prev_end > pos) {  // overlaps a kept piece: compare, keep the old bytes
          const uint64_t to = std::min(end, prev_end);
          const uint8_t* kept = prev->second.data.data() + (pos - prev->first);
          for (uint64_t i = 0; i < to - pos; ++i) {
            if (kept[i] != data[i]) ++stats.overlap_conflicts;
          }
          stats.retransmitted_bytes += to - pos;
          data += to - pos;
          pos = to;
          continue;
        }
      }
      const uint64_t piece_end = it == s.pieces.end() ? end : std::min(end, it->first);
      const size_t n = static_cast<size_t>(piece_end - pos);
      if (pos == s.next) {
        if (!deliver(dir, s, data, n, ts)) return;
        drain(dir, s);
      } else if (make_room(dir, s, pos, n)) {
        if (s.done) return;
        if (pos < s.next) continue;  // room was made by skipping past this piece
        if (pos == s.next) continue;  // now in order: deliver on the next turn
        TcpStreams::Piece& piece = s.pieces[pos];
        piece.data.assign(data, data + n);
        piece.ts = ts;
        s.buffered += n;
        streams.budget_->used += n;
      } else {
        if (s.done) return;
        // Nothing buffered to give up on and still no room: skip to these bytes.
        gap(dir, s, pos);
        continue;
      }
      data += n;
      pos = piece_end;
    }
  }

  // The peer acknowledged up to `ack`: anything before it that we have not
  // seen was lost in the capture and will never arrive.
  void on_ack(Direction dir, TcpStreams::Side& s, uint32_t ack) {
    if (!s.init || s.done) return;
    uint64_t to = s.position(ack);
    if (s.fin_known) to = std::min(to, s.fin_pos);
    // Each turn either reaches `to` or delivers at least one buffered piece.
    while (!s.done && s.next < to) {
      const uint64_t hole_end =
          s.pieces.empty() ? to : std::min(to, s.pieces.begin()->first);
      gap(dir, s, hole_end);
      drain(dir, s);
    }
  }
};

Reassembler::Reassembler(const ReassemblyConfig& config)
    : config_(config), budget_(std::make_shared<ReassemblyBudget>()) {}

Reassembler::~Reassembler() = default;

void Reassembler::on_segment(FlowRecord& flow, Direction dir, const decode::Packet& p,
                             StreamConsumer& consumer) {
  ++stats_.segments;
  if (!flow.streams) flow.streams.reset(new TcpStreams(budget_));
  TcpStreams& st = *flow.streams;
  ReassemblyOps ops{config_, stats_, st, consumer};
  const int di = dir_index(dir);
  const Direction peer_dir = dir == Direction::kFromOriginator ? Direction::kFromResponder
                                                               : Direction::kFromOriginator;
  TcpStreams::Side& s = st.side[di];
  const uint8_t flags = p.tcp_flags;

  if (flags & decode::tcpflag::kAck) ops.on_ack(peer_dir, st.side[1 - di], p.tcp_ack);

  if (!s.done) {
    uint32_t seq = p.tcp_seq;
    if (flags & decode::tcpflag::kSyn) {
      if (!s.init) {
        s.init = true;
        s.next = kPositionBase | static_cast<uint32_t>(seq + 1);
      }
      seq += 1;  // the SYN takes one sequence number; data (TFO) follows it
    } else if (!s.init) {
      // Midstream pick-up: the first segment we see anchors the stream.
      s.init = true;
      s.next = kPositionBase | seq;
    }
    if (!consumer.wants_more(dir)) {
      s.done = true;
      ops.release(s);
    } else {
      const uint64_t pos = s.position(seq);
      if (flags & decode::tcpflag::kFin) {
        const uint64_t fin = pos + p.payload_wire_len;
        if (!s.fin_known || fin < s.fin_pos) s.fin_pos = fin;
        s.fin_known = true;
      }
      size_t len = p.payload == nullptr ? 0 : p.payload_len;
      if (s.fin_known && pos + len > s.fin_pos) {
        len = pos >= s.fin_pos ? 0 : static_cast<size_t>(s.fin_pos - pos);
      }
      if (len > 0) {
        if (pos + len <= s.next) {
          stats_.retransmitted_bytes += len;
        } else {
          if (pos > s.next) ++stats_.out_of_order;
          ops.insert(dir, s, pos, p.payload, len, p.ts);
        }
      }
      ops.drain(dir, s);
      if (!s.done && (flags & decode::tcpflag::kRst)) {
        // Nothing more will come this way: what is still missing is a gap.
        while (ops.skip_first_hole(dir, s)) {
        }
        ops.finish(dir, s);
      }
    }
  }
  stats_.buffered_bytes = budget_->used;
}

void Reassembler::on_flow_end(FlowRecord& flow, StreamConsumer& consumer) {
  // An active-timeout report is not an end: the record continues in place
  // (see FlowObserver), and so do its streams.
  if (!flow.streams || flow.end_reason == EndReason::kActive) return;
  TcpStreams& st = *flow.streams;
  ReassemblyOps ops{config_, stats_, st, consumer};
  for (int di = 0; di < 2; ++di) {
    const Direction dir = static_cast<Direction>(di);
    TcpStreams::Side& s = st.side[di];
    if (!s.done && s.init) {
      while (ops.skip_first_hole(dir, s)) {
      }
      if (!s.done && s.fin_known) ops.gap(dir, s, s.fin_pos);
    }
    ops.finish(dir, s);
  }
  stats_.buffered_bytes = budget_->used;
}

}  // namespace tapir::flow
