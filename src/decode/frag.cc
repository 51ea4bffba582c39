#include "decode/frag.h"

#include <algorithm>
#include <cstring>

namespace tapir::decode {
namespace {
// Buffers grow in steps of this many bytes so that a datagram arriving in
// many small fragments is not copied once per fragment.
constexpr uint32_t kGrowStep = 4096;
constexpr size_t kMaxIpv4Header = 60;
constexpr size_t kIpv6Header = 40;
}  // namespace

FragmentReassembler::FragmentReassembler(const DecoderConfig& config) : config_(config) {
  slots_.reserve(config_.max_frag_datagrams);
  out_.reserve(kMaxPayload + kMaxIpv4Header);
}

FragmentReassembler::Slot* FragmentReassembler::find(const FragmentIn& f) {
  for (Slot& s : slots_) {
    if (s.used && s.id == f.id && s.version == f.version && s.src == f.src && s.dst == f.dst &&
        (f.version == 6 || s.proto == f.proto)) {
      return &s;
    }
  }
  return nullptr;
}

void FragmentReassembler::free_capacity(Slot& s) {
  memory_ -= s.data.capacity();
  std::vector<uint8_t>().swap(s.data);
}

void FragmentReassembler::release(Slot& s) {
  // The buffer is kept for reuse; it stays counted in memory_.
  s.used = false;
  s.data.clear();
  --active_;
}

FragmentReassembler::Slot* FragmentReassembler::allocate(const FragmentIn& f, DecodeStats& stats) {
  Slot* slot = nullptr;
  for (Slot& s : slots_) {
    if (!s.used) {
      slot = &s;
      break;
    }
  }
  if (slot == nullptr && slots_.size() < config_.max_frag_datagrams) {
    slot = &slots_.emplace_back();
  }
  if (slot == nullptr) {
    if (slots_.empty()) return nullptr;  // max_frag_datagrams == 0: reassembly is off
    // Table full: the oldest datagram in progress makes room.
    slot = &*std::min_element(slots_.begin(), slots_.end(), [](const Slot& a, const Slot& b) {
      return a.first_seen < b.first_seen;
    });
    release(*slot);
    ++stats.frag_expired;
    ++stats.errors[static_cast<size_t>(DecodeError::kFragmentLimit)];
  }
  slot->used = true;
  slot->version = f.version;
  slot->src = f.src;
  slot->dst = f.dst;
  slot->id = f.id;
  slot->proto = f.proto;
  slot->first_seen = f.ts;
  slot->hdr_len = 0;
  slot->total = 0;
  slot->total_known = false;
  slot->max_end = 0;
  slot->blocks_have = 0;
  slot->have.fill(0);
  slot->data.clear();
  ++active_;
  return slot;
}

bool FragmentReassembler::reserve(Slot& s, uint32_t end) {
  if (end <= s.data.capacity()) return true;
  size_t want = std::min<size_t>((end + kGrowStep - 1) / kGrowStep * kGrowStep, kMaxPayload);
  want = std::max<size_t>(want, end);
  size_t extra = want - s.data.capacity();
  if (memory_ + extra > config_.max_frag_bytes) {
    // Idle buffers go first, then the oldest datagrams in progress (as the
    // table-full case does), so that a flood of large offsets cannot lock
    // newer datagrams out. Bounded: each pass frees one slot or stops.
    for (Slot& other : slots_) {
      if (!other.used && other.data.capacity() > 0) free_capacity(other);
      if (memory_ + extra <= config_.max_frag_bytes) break;
    }
    while (memory_ + extra > config_.max_frag_bytes) {
      Slot* oldest = nullptr;
      for (Slot& other : slots_) {
        if (&other == &s || !other.used || other.data.capacity() == 0) continue;
        if (oldest == nullptr || other.first_seen < oldest->first_seen) oldest = &other;
      }
      if (oldest == nullptr) return false;  // this datagram alone is over the bound
      release(*oldest);
      free_capacity(*oldest);
      ++evicted_;
    }
  }
  size_t before = s.data.capacity();
  s.data.reserve(want);
  memory_ += s.data.capacity() - before;
  return true;
}

FragOutcome FragmentReassembler::add(const FragmentIn& f, DecodeStats& stats, Bytes& datagram) {
  expire(f.ts, stats);
  uint64_t end64 = uint64_t{f.offset} + f.len;
  size_t hdr_room = f.version == 4 ? f.hdr_len : 0;  // IPv4 total length includes the header
  // Non-final fragments should be multiples of 8 bytes long, but Zeek and
  // Wireshark reassemble them anyway: so do we (the odd tail is not marked
  // as received, so a later fragment fills it).
  if (f.len == 0 || end64 + hdr_room > kMaxPayload || f.offset % kBlock != 0) {
    return FragOutcome::kBad;
  }
  auto end = static_cast<uint32_t>(end64);
  Slot* s = find(f);
  if (s == nullptr) {
    s = allocate(f, stats);
    if (s == nullptr) return FragOutcome::kDropped;
  }
  // A last fragment fixes the length. A later fragment reaching past it is
  // cut at that length (as Zeek and Wireshark do) and counted as an
  // inconsistency; a second, different last fragment is rejected.
  bool conflict = false;
  if (s->total_known && end > s->total && f.more) {
    if (f.offset >= s->total) return FragOutcome::kBad;
    end = s->total;
    conflict = true;
  }
  if ((!f.more && s->total_known && end != s->total) || (!f.more && s->max_end > end)) {
    return FragOutcome::kBad;
  }
  evicted_ = 0;
  bool reserved = reserve(*s, end);
  stats.frag_expired += evicted_;
  stats.errors[static_cast<size_t>(DecodeError::kFragmentLimit)] += evicted_;
  if (!reserved) {
    release(*s);
    ++stats.frag_expired;
    ++stats.errors[static_cast<size_t>(DecodeError::kFragmentLimit)];
    return FragOutcome::kDropped;
  }
  if (!f.more) {
    s->total = end;
    s->total_known = true;
  }
  if (f.offset == 0) {
    s->hdr_len = std::min<uint32_t>(f.hdr_len, static_cast<uint32_t>(s->hdr.size()));
    std::memcpy(s->hdr.data(), f.hdr, s->hdr_len);
  }
  if (s->data.size() < end) s->data.resize(end);
  s->max_end = std::max(s->max_end, end);
  // First wins: copy only blocks not yet present; compare the others.
  for (uint32_t b = f.offset / kBlock; b * kBlock < end; ++b) {
    uint32_t from = b * kBlock;
    uint32_t to = std::min(from + kBlock, end);
    const uint8_t* src = f.data + (from - f.offset);
    if (test(*s, b)) {
      if (std::memcmp(s->data.data() + from, src, to - from) != 0) conflict = true;
      continue;
    }
    std::memcpy(s->data.data() + from, src, to - from);
    if (to - from == kBlock || (s->total_known && to == s->total)) {
      set(*s, b);
      ++s->blocks_have;
    }
  }
  if (conflict) ++stats.errors[static_cast<size_t>(DecodeError::kFragmentOverlap)];
  if (!s->total_known || s->hdr_len == 0 ||
      s->blocks_have != (s->total + kBlock - 1) / kBlock) {
    return FragOutcome::kHeld;
  }
  // Rebuild: the first fragment's header with the lengths and fragment
  // fields fixed up, then the payload.
  out_.resize(s->hdr_len + s->total);
  std::memcpy(out_.data(), s->hdr.data(), s->hdr_len);
  std::memcpy(out_.data() + s->hdr_len, s->data.data(), s->total);
  if (s->version == 4) {
    store_be16(out_.data() + 2, static_cast<uint16_t>(s->hdr_len + s->total));
    store_be16(out_.data() + 6, 0);
  } else {
    store_be16(out_.data() + 4, static_cast<uint16_t>(s->total));
    out_[6] = s->proto;
  }
  release(*s);
  datagram = Bytes(out_.data(), out_.size());
  return FragOutcome::kComplete;
}

void FragmentReassembler::expire(TimeNs now, DecodeStats& stats) {
  if (active_ == 0) return;
  for (Slot& s : slots_) {
    if (s.used && now - s.first_seen > config_.frag_timeout) {
      release(s);
      ++stats.frag_expired;
    }
  }
}

}  // namespace tapir::decode
