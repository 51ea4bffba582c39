#include "decode/frag.h"

#include <algorithm>
#include <cstring>

#include "common/seeded_hash.h"

namespace tapir::decode {
namespace {
// Buffers grow in steps of this many bytes so that a datagram arriving in
// many small fragments is not copied once per fragment.
constexpr uint32_t kGrowStep = 4096;
constexpr size_t kMaxIpv4Header = 60;
constexpr size_t kIpv6Header = 40;
}  // namespace

FragmentReassembler::FragmentReassembler(const DecoderConfig& config)
    : config_(config), seed_(random_seed()) {
  slots_.reserve(config_.max_frag_datagrams);
  free_warm_.reserve(config_.max_frag_datagrams);
  free_cold_.reserve(config_.max_frag_datagrams);
  size_t n = 2;
  while (n < 4 * size_t{config_.max_frag_datagrams}) n *= 2;
  index_.assign(n, kNone);
  index_mask_ = n - 1;
  out_.reserve(kMaxPayload + kMaxIpv4Header);
}

uint64_t FragmentReassembler::key_hash(const FragmentIn& f) const {
  // The key is the sender's choice: seeded, so that it cannot pick keys that
  // pile up in one run of the index (common/seeded_hash.h). The protocol is
  // part of the key for IPv4 only (RFC 791); IPv6 identifies a datagram by
  // addresses and id (RFC 8200 4.5).
  uint8_t key[16 + 16 + 6] = {};
  std::memcpy(key, f.src.data(), f.src.size());
  std::memcpy(key + 16, f.dst.data(), f.dst.size());
  std::memcpy(key + 32, &f.id, 4);
  key[36] = static_cast<uint8_t>(f.version);
  key[37] = f.version == 6 ? uint8_t{0} : f.proto;
  return seeded_hash_bytes(seed_, key, sizeof key);
}

bool FragmentReassembler::same_key(const Slot& s, const FragmentIn& f) const {
  return s.used && s.id == f.id && s.version == f.version && s.src == f.src && s.dst == f.dst &&
         (f.version == 6 || s.proto == f.proto);
}

FragmentReassembler::Slot* FragmentReassembler::find(const FragmentIn& f) {
  if (slots_.empty()) return nullptr;
  const uint64_t h = key_hash(f);
  for (size_t i = h & index_mask_; index_[i] != kNone; i = (i + 1) & index_mask_) {
    ++visits_;
    Slot& s = slots_[static_cast<size_t>(index_[i])];
    if (s.hash == h && same_key(s, f)) return &s;
  }
  return nullptr;
}

void FragmentReassembler::index_insert(int32_t slot) {
  size_t i = slots_[static_cast<size_t>(slot)].hash & index_mask_;
  while (index_[i] != kNone) {
    ++visits_;
    i = (i + 1) & index_mask_;
  }
  index_[i] = slot;
}

void FragmentReassembler::index_erase(int32_t slot) {
  size_t hole = slots_[static_cast<size_t>(slot)].hash & index_mask_;
  while (index_[hole] != slot) {
    ++visits_;
    hole = (hole + 1) & index_mask_;
  }
  index_[hole] = kNone;
  // Shift back the entries of the run after the hole that may not stay past
  // it (their home position is not strictly between the hole and them).
  for (size_t j = (hole + 1) & index_mask_; index_[j] != kNone; j = (j + 1) & index_mask_) {
    ++visits_;
    const size_t home = slots_[static_cast<size_t>(index_[j])].hash & index_mask_;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    index_[hole] = index_[j];
    index_[j] = kNone;
    hole = j;
  }
}

void FragmentReassembler::link_newest(int32_t slot) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  s.older = newest_;
  s.newer = kNone;
  if (newest_ != kNone) slots_[static_cast<size_t>(newest_)].newer = slot;
  newest_ = slot;
  if (oldest_ == kNone) oldest_ = slot;
}

void FragmentReassembler::unlink(int32_t slot) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (s.older != kNone)
    slots_[static_cast<size_t>(s.older)].newer = s.newer;
  else
    oldest_ = s.newer;
  if (s.newer != kNone)
    slots_[static_cast<size_t>(s.newer)].older = s.older;
  else
    newest_ = s.older;
  s.older = s.newer = kNone;
}

void FragmentReassembler::free_capacity(Slot& s) {
  memory_ -= s.data.capacity();
  std::vector<uint8_t>().swap(s.data);
}

void FragmentReassembler::release(Slot& s) {
  // The buffer is kept for reuse; it stays counted in memory_.
  const int32_t i = index_of(s);
  index_erase(i);
  unlink(i);
  s.used = false;
  s.data.clear();
  (s.data.capacity() > 0 ? free_warm_ : free_cold_).push_back(i);
  --active_;
}

FragmentReassembler::Slot* FragmentReassembler::allocate(const FragmentIn& f, DecodeStats& stats) {
  int32_t i = kNone;
  // A slot with a buffer first, so that its memory is reused.
  for (std::vector<int32_t>* st : {&free_warm_, &free_cold_}) {
    // A slot is on at most one stack and only while unused; the check keeps
    // a bookkeeping slip from handing out a live datagram's slot.
    while (i == kNone && !st->empty()) {
      ++visits_;
      const int32_t c = st->back();
      st->pop_back();
      if (!slots_[static_cast<size_t>(c)].used) i = c;
    }
  }
  if (i == kNone && slots_.size() < config_.max_frag_datagrams) {
    slots_.emplace_back();
    i = static_cast<int32_t>(slots_.size() - 1);
  }
  if (i == kNone) {
    if (oldest_ == kNone) return nullptr;  // max_frag_datagrams == 0: reassembly is off
    // Table full: the oldest datagram in progress makes room.
    Slot& old = slots_[static_cast<size_t>(oldest_)];
    release(old);
    ++stats.frag_expired;
    ++stats.errors[static_cast<size_t>(DecodeError::kFragmentLimit)];
    return allocate(f, stats);  // the released slot is on a free stack now
  }
  Slot* slot = &slots_[static_cast<size_t>(i)];
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
  slot->hash = key_hash(f);
  index_insert(i);
  link_newest(i);
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
    // newer datagrams out. Bounded: each step frees one buffer or stops.
    while (memory_ + extra > config_.max_frag_bytes && !free_warm_.empty()) {
      ++visits_;
      const int32_t c = free_warm_.back();
      free_warm_.pop_back();
      Slot& other = slots_[static_cast<size_t>(c)];
      if (other.used) continue;  // as in allocate(): never a live datagram's buffer
      free_capacity(other);
      free_cold_.push_back(c);
    }
    while (memory_ + extra > config_.max_frag_bytes) {
      // The oldest other datagram holding a buffer, in arrival order.
      int32_t c = oldest_;
      while (c != kNone && (&slots_[static_cast<size_t>(c)] == &s ||
                            slots_[static_cast<size_t>(c)].data.capacity() == 0)) {
        ++visits_;
        c = slots_[static_cast<size_t>(c)].newer;
      }
      if (c == kNone) return false;  // this datagram alone is over the bound
      Slot& oldest = slots_[static_cast<size_t>(c)];
      release(oldest);
      free_capacity(oldest);
      // release() put it on the warm stack; it has no buffer now.
      free_warm_.pop_back();
      free_cold_.push_back(c);
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
  // Oldest first, in arrival order: one look at the head when nothing is due.
  // (With packet timestamps going backwards a datagram may wait behind a
  // younger head until that one expires.)
  while (oldest_ != kNone) {
    ++visits_;
    Slot& s = slots_[static_cast<size_t>(oldest_)];
    if (now - s.first_seen <= config_.frag_timeout) break;
    release(s);
    ++stats.frag_expired;
  }
}

}  // namespace tapir::decode
