// Fragment flood: many interleaved, overlapping and never-completed
// fragments. Memory and table size must stay within the configured bounds,
// expirations and evictions must be counted, and genuine datagrams mixed into
// the flood must still be rebuilt byte for byte.
#include <gtest/gtest.h>

#include <random>

#include "decode/decoder.h"
#include "frames.h"

namespace tapir::decode {
namespace {

using namespace testing;  // NOLINT: frame builders

Buf fragment(uint16_t id, uint32_t offset, bool more, const Buf& data, uint8_t last_octet) {
  V4 v;
  v.proto = 17;
  v.id = id;
  v.src[3] = last_octet;
  v.frag = static_cast<uint16_t>((more ? 0x2000 : 0) | (offset / 8));
  return eth(0x0800, ipv4(v, data));
}

TEST(DecodeFragStress, BoundedUnderFlood) {
  DecoderConfig cfg;
  cfg.max_frag_datagrams = 64;
  cfg.max_frag_bytes = 1024 * 1024;
  cfg.frag_timeout = 2 * kNsPerSec;
  Decoder d(cfg);
  std::mt19937 rng(12345);  // fixed seed: the run is reproducible
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };

  constexpr int kFrames = 60000;
  constexpr int kGenuineEvery = 50;
  TimeNs ts = 0;
  size_t max_memory = 0;
  size_t max_pending = 0;
  int genuine_sent = 0;
  int genuine_ok = 0;
  Buf pending_last;  // second half of the genuine datagram in flight
  Buf expected;
  int pending_due = -1;

  auto feed = [&](const Buf& f) {
    RawFrame raw;
    raw.ts = ts;
    raw.data = f.data();
    raw.caplen = raw.wirelen = static_cast<uint32_t>(f.size());
    Packet p;
    DecodeStatus st = d.decode(raw, p);
    max_memory = std::max(max_memory, d.fragment_memory());
    max_pending = std::max(max_pending, d.fragments_pending());
    EXPECT_LE(d.fragment_memory(), cfg.max_frag_bytes);
    EXPECT_LE(d.fragments_pending(), cfg.max_frag_datagrams);
    return std::make_pair(st, p);
  };

  for (int i = 0; i < kFrames; ++i) {
    ts += kNsPerMs;
    if (i == pending_due) {
      auto [st, p] = feed(pending_last);
      if (st == DecodeStatus::kOk && p.reassembled && p.payload_len == expected.size() &&
          std::equal(expected.begin(), expected.end(), p.payload)) {
        ++genuine_ok;
      }
      continue;
    }
    if (i % kGenuineEvery == 0) {
      // A real datagram (source .200, ids from a range the noise never uses).
      auto id = static_cast<uint16_t>(40000 + genuine_sent);
      uint32_t len = pick(1, 200) * 8;
      expected = Buf(len + 8);
      for (auto& b : expected) b = static_cast<uint8_t>(pick(0, 255));
      Buf whole = udp(7, 9, expected);
      expected = Buf(whole.begin() + 8, whole.end());
      uint32_t cut = pick(1, static_cast<uint32_t>(whole.size() / 8 - 1)) * 8;
      feed(fragment(id, 0, true, Buf(whole.begin(), whole.begin() + cut), 200));
      pending_last = fragment(id, cut, false, Buf(whole.begin() + cut, whole.end()), 200);
      pending_due = i + static_cast<int>(pick(1, 5));
      ++genuine_sent;
      continue;
    }
    // Noise: random ids from a small pool (so fragments collide and overlap),
    // random offsets up to the 64 KiB limit, random lengths and bytes.
    auto id = static_cast<uint16_t>(pick(0, 499));
    uint32_t offset = pick(0, 4) == 0 ? pick(0, 8000) * 8 : pick(0, 250) * 8;
    uint32_t len = pick(1, 180) * 8;
    bool more = pick(0, 9) != 0;
    feed(fragment(id, offset, more, bytes(len, static_cast<uint8_t>(pick(0, 255))), 1));
  }

  const DecodeStats& s = d.stats();
  EXPECT_EQ(genuine_ok, genuine_sent);
  EXPECT_GT(genuine_sent, 1000);
  EXPECT_GT(s.frag_expired, 0u);
  EXPECT_GT(s.errors[static_cast<size_t>(DecodeError::kFragmentLimit)], 0u);
  EXPECT_GT(s.errors[static_cast<size_t>(DecodeError::kFragmentOverlap)], 0u);
  EXPECT_GT(s.errors[static_cast<size_t>(DecodeError::kBadFragment)], 0u);
  EXPECT_LE(max_memory, cfg.max_frag_bytes);
  EXPECT_EQ(max_pending, cfg.max_frag_datagrams);
  std::printf("fragments %llu reassembled %llu expired %llu limit %llu overlap %llu bad %llu "
              "max memory %zu\n",
              static_cast<unsigned long long>(s.fragments),
              static_cast<unsigned long long>(s.reassembled),
              static_cast<unsigned long long>(s.frag_expired),
              static_cast<unsigned long long>(s.errors[static_cast<size_t>(DecodeError::kFragmentLimit)]),
              static_cast<unsigned long long>(s.errors[static_cast<size_t>(DecodeError::kFragmentOverlap)]),
              static_cast<unsigned long long>(s.errors[static_cast<size_t>(DecodeError::kBadFragment)]),
              max_memory);

  // Everything left expires once the clock moves past the timeout.
  d.expire(ts + cfg.frag_timeout + 1);
  EXPECT_EQ(d.fragments_pending(), 0u);
}

// Work per fragment, counted in fragment-table slots visited (no timing): a
// full table of the default 1024 datagrams in progress must not make each
// fragment look at every slot, as a scan did (three passes: expiry, lookup,
// free slot or oldest), so a flood of tiny never-completed fragments cannot
// buy ~3000 slot visits per 60-byte packet.
TEST(DecodeFragStress, WorkPerFragmentDoesNotGrowWithTheTable) {
  DecoderConfig cfg;  // defaults: 1024 datagrams, 64 MiB, 30 s
  Decoder d(cfg);
  TimeNs ts = 0;
  auto feed = [&](const Buf& f) {
    RawFrame raw;
    raw.ts = ts;
    raw.data = f.data();
    raw.caplen = raw.wirelen = static_cast<uint32_t>(f.size());
    Packet p;
    const DecodeStatus st = d.decode(raw, p);
    return std::make_pair(st, p);
  };
  std::mt19937 rng(7);
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  // Fill the table: first halves that never complete, from many sources.
  for (uint32_t i = 0; i < cfg.max_frag_datagrams; ++i) {
    ts += kNsPerMs;
    feed(fragment(static_cast<uint16_t>(i), 0, true, bytes(8, 1), static_cast<uint8_t>(i % 7)));
  }
  ASSERT_EQ(d.fragments_pending(), cfg.max_frag_datagrams);

  const uint64_t before = d.fragment_slot_visits();
  constexpr int kFrames = 30000;
  int genuine_sent = 0, genuine_ok = 0;
  for (int i = 0; i < kFrames; ++i) {
    ts += 2 * kNsPerMs;  // 60 s in all: expiry runs too
    if (i % 10 == 0) {
      // A genuine two-fragment datagram, both halves back to back.
      const auto id = static_cast<uint16_t>(50000 + genuine_sent++);
      Buf payload(64);
      for (auto& b : payload) b = static_cast<uint8_t>(pick(0, 255));
      const Buf whole = udp(7, 9, payload);
      feed(fragment(id, 0, true, Buf(whole.begin(), whole.begin() + 40), 200));
      auto [st, p] = feed(fragment(id, 40, false, Buf(whole.begin() + 40, whole.end()), 200));
      if (st == DecodeStatus::kOk && p.reassembled && p.payload_len == payload.size() &&
          std::equal(payload.begin(), payload.end(), p.payload))
        ++genuine_ok;
      continue;
    }
    // Noise: new datagrams (each evicts the oldest) and pieces of old ones.
    const auto id = static_cast<uint16_t>(pick(0, 40000));
    feed(fragment(id, pick(0, 100) * 8, true, bytes(8, 2), static_cast<uint8_t>(pick(0, 6))));
  }
  const uint64_t visits = d.fragment_slot_visits() - before;
  const uint64_t fragments = kFrames + kFrames / 10;  // noise + genuine second halves
  std::printf("fragment table: %llu slot visits for %llu fragments (%.2f each)\n",
              static_cast<unsigned long long>(visits), static_cast<unsigned long long>(fragments),
              static_cast<double>(visits) / static_cast<double>(fragments));
  EXPECT_EQ(genuine_ok, genuine_sent);
  EXPECT_EQ(d.fragments_pending(), cfg.max_frag_datagrams);  // stayed full
  EXPECT_GT(d.stats().frag_expired, 0u);
  // A scan visited >= 1024 slots per fragment; the index and lists a handful.
  EXPECT_LE(visits, 8 * fragments);
}

}  // namespace
}  // namespace tapir::decode
