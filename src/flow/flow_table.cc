#include "flow/flow_table.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <utility>
#include <vector>

#include "common/seeded_hash.h"
#include "flow/community_id.h"
#include "flow/reassembly.h"

namespace tapir::flow {
namespace {

using decode::ipproto::kIcmp;
using decode::ipproto::kIcmpv6;
using decode::ipproto::kSctp;
using decode::ipproto::kTcp;
using decode::ipproto::kUdp;

// ICMP request/reply pairs, made symmetric so that both messages of a pair
// land in one flow whichever is seen first. (Community ID's own table is
// deliberately copied verbatim in community_id.cc; this one only keys flows.)
bool icmp_pair(uint8_t proto, uint8_t type, uint8_t& lo, uint8_t& hi) {
  static constexpr std::pair<uint8_t, uint8_t> kV4[] = {{0, 8}, {13, 14}, {15, 16}, {9, 10},
                                                        {17, 18}};
  static constexpr std::pair<uint8_t, uint8_t> kV6[] = {{128, 129}, {133, 134}, {135, 136},
                                                        {130, 131}, {139, 140}, {144, 145}};
  auto look = [&](const auto& table) {
    for (const auto& [x, y] : table) {
      if (type == x || type == y) {
        lo = x;
        hi = y;
        return true;
      }
    }
    return false;
  };
  return proto == kIcmp ? look(kV4) : look(kV6);
}

bool is_echo(uint8_t proto, uint8_t type) {
  return proto == kIcmp ? (type == 0 || type == 8) : (type == 128 || type == 129);
}


inline uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

FlowKey make_flow_key(const decode::Packet& p, bool& a_is_src) {
  FlowKey k;
  k.ip_proto = p.ip_proto;
  k.vlan = p.vlan_count > 0 ? p.vlans[0] : 0;
  k.tunnel_id = p.tunnel.kind == decode::TunnelKind::kNone
                    ? 0
                    : (p.tunnel.id ^ (static_cast<uint32_t>(p.tunnel.kind) << 24));
  const bool icmp = p.ip_proto == kIcmp || p.ip_proto == kIcmpv6;
  uint16_t sp = 0, dp = 0;
  if (p.ip_proto == kTcp || p.ip_proto == kUdp || p.ip_proto == kSctp) {
    sp = p.src_port;
    dp = p.dst_port;
  }
  if (!icmp) {
    a_is_src = p.src_ip < p.dst_ip || (p.src_ip == p.dst_ip && sp <= dp);
  } else {
    // Both "ports" are direction-independent for ICMP, so the addresses
    // alone order the key.
    a_is_src = !(p.dst_ip < p.src_ip);
    uint8_t lo = 0, hi = 0;
    if (icmp_pair(p.ip_proto, p.icmp.type, lo, hi)) {
      sp = static_cast<uint16_t>((lo << 8) | hi);
      dp = is_echo(p.ip_proto, p.icmp.type) ? p.icmp.id : 0;
    } else {
      sp = static_cast<uint16_t>((p.icmp.type << 8) | p.icmp.code);
      dp = 0;
    }
    k.a = a_is_src ? p.src_ip : p.dst_ip;
    k.b = a_is_src ? p.dst_ip : p.src_ip;
    k.port_a = sp;
    k.port_b = dp;
    return k;
  }
  if (a_is_src) {
    k.a = p.src_ip;
    k.b = p.dst_ip;
    k.port_a = sp;
    k.port_b = dp;
  } else {
    k.a = p.dst_ip;
    k.b = p.src_ip;
    k.port_a = dp;
    k.port_b = sp;
  }
  return k;
}

uint64_t hash_flow_key(const FlowKey& k, uint64_t seed) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  h = mix64(h ^ load_u64(k.a.b.data()));
  h = mix64(h ^ load_u64(k.a.b.data() + 8));
  h = mix64(h ^ load_u64(k.b.b.data()));
  h = mix64(h ^ load_u64(k.b.b.data() + 8));
  h = mix64(h ^ (static_cast<uint64_t>(k.port_a) | (static_cast<uint64_t>(k.port_b) << 16) |
                 (static_cast<uint64_t>(k.ip_proto) << 32) |
                 (static_cast<uint64_t>(k.a.version) << 40) |
                 (static_cast<uint64_t>(k.vlan) << 48)));
  h = mix64(h ^ k.tunnel_id);
  return h;
}

namespace {

// Which timeout a record is waiting for. Each list is kept in last-packet
// order (a packet moves its flow to the tail), so expiry only looks at heads.
enum ListId : uint8_t { kListTcp = 0, kListUdp, kListOther, kListClosing, kListCount, kListNone };

constexpr uint32_t kNil = 0xffffffffu;

// Records are allocated in chunks so that their addresses never move while
// the pool grows (analyzers keep FlowRecord pointers).
constexpr uint32_t kChunkShift = 12;
constexpr uint32_t kChunkSize = 1u << kChunkShift;

// The index starts small and doubles; it is kept at most half full so that
// linear probing stays short.
constexpr size_t kMinIndexSlots = 1024;

struct Node : FlowRecord {
  uint64_t hash = 0;
  uint32_t self = kNil;
  uint32_t prev = kNil;
  uint32_t next = kNil;
  ListId list = kListNone;
  bool orig_is_a = true;       // the originator is side `a` of the key
  EndReason close_reason = EndReason::kUnknown;
};

}  // namespace

class FlowTable::Impl {
 public:
  Impl(const FlowConfig& config, FlowObserver* observer, FlowStats& stats)
      : config_(config), observer_(observer), stats_(stats) {
    seed_ = random_seed();
    timeouts_[kListTcp] = config.tcp_idle_timeout;
    timeouts_[kListUdp] = config.udp_idle_timeout;
    timeouts_[kListOther] = config.other_idle_timeout;
    timeouts_[kListClosing] = config.tcp_close_linger;
    if (config_.max_flows == 0) config_.max_flows = 1;
    if (config_.max_flows > kNil / 2) config_.max_flows = kNil / 2;
    index_.assign(kMinIndexSlots, 0);
  }

  FlowRecord* update(const decode::Packet& p, Direction& dir, bool& created);
  void update_outer(const decode::Packet& p) {
    const int levels = std::min<int>(p.outer_count, decode::kMaxOuterLayers);
    for (int i = 0; i < levels; ++i) {
      decode::outer_packet(p, i, outer_);
      Direction dir;
      bool created;
      FlowRecord* f = update(outer_, dir, created);
      if (f != nullptr && created) f->app_proto = decode::tunnel_kind_name(p.outer[i].kind);
    }
  }
  void expire(TimeNs now);
  void flush(EndReason reason);

 private:
  Node& node(uint32_t i) { return chunks_[i >> kChunkShift][i & (kChunkSize - 1)]; }

  // --- index (open addressing, linear probing, backward-shift deletion) ---
  // A slot holds (hash high 32 bits << 32) | (record index + 1); 0 = empty.
  uint32_t find(const FlowKey& k, uint64_t h) {
    const size_t mask = index_.size() - 1;
    const uint64_t tag = h >> 32;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t s = index_[i];
      if (s == 0) return kNil;
      if ((s >> 32) == tag) {
        const uint32_t idx = static_cast<uint32_t>(s) - 1;
        if (node(idx).key == k) return idx;
      }
    }
  }
  void index_insert(uint64_t h, uint32_t idx) {
    if ((index_count_ + 1) * 2 > index_.size()) grow_index();
    const size_t mask = index_.size() - 1;
    size_t i = h & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = ((h >> 32) << 32) | (static_cast<uint64_t>(idx) + 1);
    ++index_count_;
  }
  void index_erase(uint64_t h, uint32_t idx) {
    const size_t mask = index_.size() - 1;
    const uint64_t want = ((h >> 32) << 32) | (static_cast<uint64_t>(idx) + 1);
    size_t i = h & mask;
    while (index_[i] != want) {
      assert(index_[i] != 0);
      i = (i + 1) & mask;
    }
    // Backward-shift: pull later members of the probe run into the hole so
    // that lookups never need tombstones.
    size_t hole = i;
    for (size_t j = (i + 1) & mask; index_[j] != 0; j = (j + 1) & mask) {
      const size_t home = node(static_cast<uint32_t>(index_[j]) - 1).hash & mask;
      // Move j into the hole if its home is not in (hole, j] cyclically.
      const bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        index_[hole] = index_[j];
        hole = j;
      }
    }
    index_[hole] = 0;
    --index_count_;
  }
  void grow_index() {
    std::vector<uint64_t> old = std::move(index_);
    index_.assign(old.size() * 2, 0);
    const size_t mask = index_.size() - 1;
    for (uint64_t s : old) {
      if (s == 0) continue;
      size_t i = node(static_cast<uint32_t>(s) - 1).hash & mask;
      while (index_[i] != 0) i = (i + 1) & mask;
      index_[i] = s;
    }
  }

  // --- LRU lists ---
  void unlink(Node& n) {
    if (n.list == kListNone) return;
    auto& l = lists_[n.list];
    if (n.prev != kNil) node(n.prev).next = n.next; else l.head = n.next;
    if (n.next != kNil) node(n.next).prev = n.prev; else l.tail = n.prev;
    n.prev = n.next = kNil;
    n.list = kListNone;
  }
  void push_back(Node& n, ListId id) {
    auto& l = lists_[id];
    n.list = id;
    n.prev = l.tail;
    n.next = kNil;
    if (l.tail != kNil) node(l.tail).next = n.self; else l.head = n.self;
    l.tail = n.self;
  }
  static ListId idle_list(uint8_t proto) {
    return proto == kTcp ? kListTcp : proto == kUdp ? kListUdp : kListOther;
  }
  // The least recently seen flow over all lists.
  uint32_t oldest() {
    uint32_t best = kNil;
    for (auto& l : lists_) {
      if (l.head == kNil) continue;
      if (best == kNil || node(l.head).last_ts < node(best).last_ts) best = l.head;
    }
    return best;
  }

  // --- records ---
  uint32_t allocate() {
    if (!free_.empty()) {
      const uint32_t i = free_.back();
      free_.pop_back();
      return i;
    }
    if (pool_size_ >= config_.max_flows) return kNil;
    if ((pool_size_ & (kChunkSize - 1)) == 0) {
      chunks_.push_back(std::make_unique<Node[]>(kChunkSize));
    }
    const uint32_t i = pool_size_++;
    node(i).self = i;
    stats_.pool_records = pool_size_;
    return i;
  }
  void end(Node& n, EndReason reason) {
    n.end_reason = reason;
    if (observer_ != nullptr) observer_->on_flow_end(n);
    unlink(n);
    index_erase(n.hash, n.self);
    // Keep the Community ID string's buffer so the next flow in this record
    // does not allocate.
    std::string cid = std::move(n.community_id);
    std::string tunnel_cid = std::move(n.tunnel_community_id);
    cid.clear();
    tunnel_cid.clear();
    static_cast<FlowRecord&>(n) = FlowRecord{};
    n.community_id = std::move(cid);
    n.tunnel_community_id = std::move(tunnel_cid);
    n.close_reason = EndReason::kUnknown;
    free_.push_back(n.self);
    ++stats_.ended;
    --stats_.active;
  }
  // Active timeout: report, then continue in the same record.
  void restart(Node& n, TimeNs ts) {
    n.end_reason = EndReason::kActive;
    if (observer_ != nullptr) observer_->on_flow_end(n);
    ++stats_.active_timeouts;
    n.end_reason = EndReason::kUnknown;
    n.first_ts = n.last_ts = ts;
    for (auto& d : n.dir) {
      const MacAddr mac = d.mac;
      const bool has_mac = d.has_mac;
      d = DirStats{};
      d.mac = mac;
      d.has_mac = has_mac;
    }
    n.syn_ts = n.synack_ts = n.rtt_ns = 0;
    n.id = ++next_id_;
  }
  void init(Node& n, const FlowKey& k, uint64_t h, const decode::Packet& p, bool a_is_src);

  FlowConfig config_;
  FlowObserver* observer_;
  FlowStats& stats_;
  uint64_t seed_ = 0;
  std::array<TimeNs, kListCount> timeouts_{};
  struct List {
    uint32_t head = kNil;
    uint32_t tail = kNil;
  };
  std::array<List, kListCount> lists_{};
  std::vector<std::unique_ptr<Node[]>> chunks_;
  uint32_t pool_size_ = 0;
  std::vector<uint32_t> free_;
  std::vector<uint64_t> index_;
  size_t index_count_ = 0;
  uint64_t next_id_ = 0;
  decode::Packet outer_;  // scratch view of one encapsulation level
};

void FlowTable::Impl::init(Node& n, const FlowKey& k, uint64_t h, const decode::Packet& p,
                           bool a_is_src) {
  n.key = k;
  n.hash = h;
  n.id = ++next_id_;
  n.ip_proto = p.ip_proto;
  n.ip_version = static_cast<uint8_t>(p.ip_version());
  n.vlans = p.vlans;
  n.vlan_count = p.vlan_count;
  n.tunnel = p.tunnel;
  n.first_ts = n.last_ts = p.ts;
  // The sender of the first packet is the originator, unless that packet is
  // a SYN-ACK: then the other side opened the connection before we looked.
  bool sender_is_orig = true;
  if (p.ip_proto == kTcp &&
      (p.tcp_flags & (decode::tcpflag::kSyn | decode::tcpflag::kAck)) ==
          (decode::tcpflag::kSyn | decode::tcpflag::kAck)) {
    sender_is_orig = false;
  }
  n.orig_is_a = sender_is_orig == a_is_src;
  // Ports as the event schema has them: 0 where the protocol has none (ICMP
  // type and code go into the Community ID only).
  const bool icmp = p.ip_proto == kIcmp || p.ip_proto == kIcmpv6;
  const bool ported = p.ip_proto == kTcp || p.ip_proto == kUdp || p.ip_proto == kSctp;
  const uint16_t sport = ported ? p.src_port : 0;
  const uint16_t dport = ported ? p.dst_port : 0;
  if (sender_is_orig) {
    n.src_ip = p.src_ip;
    n.dst_ip = p.dst_ip;
    n.src_port = sport;
    n.dst_port = dport;
  } else {
    n.src_ip = p.dst_ip;
    n.dst_ip = p.src_ip;
    n.src_port = dport;
    n.dst_port = sport;
  }
  // ICMP: hash the packet's own (type, code) so one-way messages keep their
  // meaning; the two-way mapping makes request and reply agree anyway.
  if (icmp) {
    community_id_v1(p.src_ip, p.dst_ip, p.ip_proto, p.icmp.type, p.icmp.code, 0, n.community_id);
  } else {
    community_id_v1(n.src_ip, n.dst_ip, p.ip_proto, n.src_port, n.dst_port, 0, n.community_id);
  }
  if (p.tunnel.kind != decode::TunnelKind::kNone && !p.tunnel.outer_src.empty()) {
    const decode::TunnelInfo& t = p.tunnel;
    community_id_v1(t.outer_src, t.outer_dst, t.outer_proto, t.outer_sport, t.outer_dport, 0,
                    n.tunnel_community_id);
  }
}

FlowRecord* FlowTable::Impl::update(const decode::Packet& p, Direction& dir, bool& created) {
  created = false;
  // Non-first fragments that were not reassembled carry no ports and cannot
  // be placed; packets whose headers failed to decode are counted by the
  // decoder instead.
  if (!p.is_ip() || p.is_fragment || p.error != decode::DecodeError::kNone) return nullptr;

  bool a_is_src = true;
  const FlowKey key = make_flow_key(p, a_is_src);
  const uint64_t h = hash_flow_key(key, seed_);
  const bool tcp = p.ip_proto == kTcp;
  const uint8_t flags = tcp ? p.tcp_flags : 0;
  const bool bare_syn = tcp && (flags & (decode::tcpflag::kSyn | decode::tcpflag::kAck)) ==
                                   decode::tcpflag::kSyn;

  uint32_t idx = find(key, h);
  if (idx != kNil) {
    Node& n = node(idx);
    if (n.list == kListClosing && bare_syn) {
      // A new connection reusing the 5-tuple of one that has closed.
      ++stats_.tcp_reused;
      end(n, n.close_reason);
      idx = kNil;
    } else if (p.ts - n.last_ts >= timeouts_[n.list]) {
      // Idle (or lingered) long enough already; expire() was not called in
      // time, which is allowed (it may run every N packets).
      end(n, n.list == kListClosing ? n.close_reason : EndReason::kIdle);
      idx = kNil;
    } else if (p.ts - n.first_ts >= config_.active_timeout) {
      restart(n, p.ts);
    }
  }
  if (idx == kNil) {
    idx = allocate();
    if (idx == kNil) {
      // A closed flow only waits for stragglers: it gives way first, and ends
      // with the reason it really ended for. Only then is a live flow evicted.
      if (lists_[kListClosing].head != kNil) {
        Node& closed = node(lists_[kListClosing].head);
        ++stats_.linger_cut;
        end(closed, closed.close_reason);
      } else {
        const uint32_t victim = oldest();
        assert(victim != kNil);
        ++stats_.evicted;
        end(node(victim), EndReason::kEvicted);
      }
      idx = allocate();
    }
    Node& n = node(idx);
    init(n, key, h, p, a_is_src);
    index_insert(h, idx);
    push_back(n, idle_list(p.ip_proto));
    ++stats_.created;
    ++stats_.active;
    created = true;
  }

  Node& n = node(idx);
  const bool from_orig = a_is_src == n.orig_is_a;
  dir = from_orig ? Direction::kFromOriginator : Direction::kFromResponder;
  DirStats& d = n.dir[dir_index(dir)];
  ++d.packets;
  d.ip_bytes += p.ip_len;
  d.frame_bytes += p.wirelen;
  d.payload_bytes += p.payload_wire_len;
  d.min_ttl = std::min(d.min_ttl, p.ttl);
  if (!d.has_mac && p.has_eth) {
    d.mac = p.eth_src;
    d.has_mac = true;
  }
  n.first_ts = std::min(n.first_ts, p.ts);
  n.last_ts = std::max(n.last_ts, p.ts);

  ListId list = n.list == kListClosing ? kListClosing : idle_list(p.ip_proto);
  if (tcp) {
    d.tcp_flags |= flags;
    const bool syn = flags & decode::tcpflag::kSyn;
    const bool ack = flags & decode::tcpflag::kAck;
    if (syn && !ack && from_orig && n.syn_ts == 0) n.syn_ts = p.ts;
    if (syn && ack && !from_orig && n.synack_ts == 0) n.synack_ts = p.ts;
    if (!syn && ack && from_orig && n.rtt_ns == 0 && n.syn_ts != 0 && n.synack_ts != 0) {
      n.rtt_ns = p.ts - n.syn_ts;
    }
    if ((flags & decode::tcpflag::kFin) && !d.fin_seen) {
      d.fin_seen = true;
      d.fin_seq = p.tcp_seq + p.payload_wire_len;
    }
    if (flags & decode::tcpflag::kRst) n.rst_seen = true;
    if (list != kListClosing && (n.rst_seen || (n.dir[0].fin_seen && n.dir[1].fin_seen))) {
      n.close_reason = n.rst_seen ? EndReason::kRst : EndReason::kFin;
      list = kListClosing;
    }
  }
  unlink(n);
  push_back(n, list);
  return &n;
}

void FlowTable::Impl::expire(TimeNs now) {
  for (int l = 0; l < kListCount; ++l) {
    // Each end() removes the head, so this loop runs once per expired flow.
    while (lists_[l].head != kNil) {
      Node& n = node(lists_[l].head);
      if (now - n.last_ts < timeouts_[l]) break;
      end(n, l == kListClosing ? n.close_reason : EndReason::kIdle);
    }
  }
}

void FlowTable::Impl::flush(EndReason reason) {
  for (uint32_t i = oldest(); i != kNil; i = oldest()) {
    Node& n = node(i);
    // A closed TCP flow keeps its FIN/RST reason: it really ended that way.
    end(n, n.list == kListClosing ? n.close_reason : reason);
  }
}

FlowTable::FlowTable(const FlowConfig& config, FlowObserver* observer)
    : impl_(std::make_unique<Impl>(config, observer, stats_)), config_(config) {}

FlowTable::~FlowTable() = default;

FlowRecord* FlowTable::update(const decode::Packet& p, Direction& dir, bool& created) {
  return impl_->update(p, dir, created);
}

void FlowTable::update_outer_levels(const decode::Packet& p) { impl_->update_outer(p); }

void FlowTable::expire(TimeNs now) { impl_->expire(now); }

void FlowTable::flush(EndReason reason) { impl_->flush(reason); }

}  // namespace tapir::flow
