// Bounded IPv4/IPv6 fragment reassembly. Internal to the decoder.
//
// Memory is bounded by DecoderConfig: at most max_frag_datagrams datagrams in
// progress and at most max_frag_bytes of buffer capacity in total; either
// bound evicts the oldest datagrams to make room (a datagram that alone would
// exceed the byte bound is dropped).
// Overlaps are resolved first-wins: bytes already received are never
// overwritten, and a later fragment carrying different bytes is counted.
//
// Work per fragment does not grow with the table: datagrams are found through
// a hash index, kept in arrival order for expiry and eviction (the oldest is
// the list head), and free slots sit on stacks. A full table of 1024 datagrams
// costs a fragment a few slot visits, not the thousands a scan of every slot
// cost (slot_visits() counts them, for tests).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "common/ip.h"
#include "decode/decoder.h"

namespace tapir::decode {

struct FragmentIn {
  int version = 4;
  IpAddr src;
  IpAddr dst;
  uint32_t id = 0;
  uint8_t proto = 0;           // IPv4 protocol / IPv6 fragment header's next header
  const uint8_t* hdr = nullptr;  // IPv4 header (with options) or IPv6 fixed header
  uint32_t hdr_len = 0;
  uint32_t offset = 0;         // bytes
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  bool more = false;
  TimeNs ts = 0;
};

enum class FragOutcome : uint8_t {
  kHeld,      // buffered, datagram not complete yet
  kComplete,  // `datagram` holds the rebuilt IP packet
  kBad,       // impossible offsets/lengths; this fragment was ignored
  kDropped,   // a bound was hit; the datagram was abandoned
};

class FragmentReassembler {
 public:
  explicit FragmentReassembler(const DecoderConfig& config);

  // `datagram` stays valid until the next call to add().
  FragOutcome add(const FragmentIn& f, DecodeStats& stats, Bytes& datagram);
  void expire(TimeNs now, DecodeStats& stats);

  size_t memory_bytes() const { return memory_; }
  size_t pending() const { return active_; }
  // Slots examined so far (index probes, list and stack steps): the work
  // counter the regression tests bound per fragment.
  uint64_t slot_visits() const { return visits_; }

 private:
  // Fragment offsets count 8-byte blocks; a bitmap over all blocks of a
  // 64 KiB datagram records what has arrived.
  static constexpr uint32_t kBlock = 8;
  static constexpr uint32_t kMaxPayload = 65535;
  static constexpr uint32_t kBlocks = (kMaxPayload + kBlock) / kBlock;

  struct Slot {
    bool used = false;
    int version = 4;
    IpAddr src;
    IpAddr dst;
    uint32_t id = 0;
    uint8_t proto = 0;
    TimeNs first_seen = 0;
    std::array<uint8_t, 60> hdr{};
    uint32_t hdr_len = 0;  // 0 until the first fragment (offset 0) arrives
    uint32_t total = 0;    // payload length, known once the last fragment arrives
    bool total_known = false;
    uint32_t max_end = 0;  // highest byte received so far
    uint32_t blocks_have = 0;
    std::vector<uint8_t> data;  // capacity counted in memory_
    std::array<uint64_t, (kBlocks + 63) / 64> have{};
    uint64_t hash = 0;   // of the key, for the index
    int32_t older = -1;  // arrival-order list (used slots)
    int32_t newer = -1;
  };

  static constexpr int32_t kNone = -1;

  Slot* find(const FragmentIn& f);
  Slot* allocate(const FragmentIn& f, DecodeStats& stats);
  void release(Slot& s);
  void free_capacity(Slot& s);
  bool reserve(Slot& s, uint32_t end);
  static bool test(const Slot& s, uint32_t b) { return (s.have[b / 64] >> (b % 64)) & 1; }
  static void set(Slot& s, uint32_t b) { s.have[b / 64] |= uint64_t{1} << (b % 64); }
  uint64_t key_hash(const FragmentIn& f) const;
  bool same_key(const Slot& s, const FragmentIn& f) const;
  int32_t index_of(const Slot& s) const { return static_cast<int32_t>(&s - slots_.data()); }
  void index_insert(int32_t slot);
  void index_erase(int32_t slot);
  void link_newest(int32_t slot);
  void unlink(int32_t slot);

  DecoderConfig config_;
  std::vector<Slot> slots_;  // reserved up front: never reallocated
  // Open addressing with linear probing over slot numbers (kNone = empty), at
  // most a quarter full so that probes stay short (16 KiB for 1024 slots);
  // deletion shifts entries back, so there are no tombstones.
  std::vector<int32_t> index_;
  size_t index_mask_ = 0;
  int32_t oldest_ = kNone;  // head of the arrival-order list
  int32_t newest_ = kNone;
  std::vector<int32_t> free_warm_;  // unused slots still holding a buffer
  std::vector<int32_t> free_cold_;  // unused slots without one
  uint64_t seed_;  // of the index's hash, random per reassembler
  uint64_t visits_ = 0;
  size_t active_ = 0;
  size_t memory_ = 0;
  uint64_t evicted_ = 0;  // datagrams evicted by the last reserve()
  std::vector<uint8_t> out_;  // the last rebuilt datagram
};

}  // namespace tapir::decode
