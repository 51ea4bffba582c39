// Hashes for tables keyed by packet fields. The sender chooses those fields,
// so with a fixed hash it can precompute keys that share one bucket, and each
// lookup then scans the whole bucket: 65536 pending ICMP echoes in one bucket
// cost every later echo 65536 key comparisons (hash flooding). Each table
// instead draws a random seed when it is built and folds it into every hash;
// without the seed, colliding keys cannot be chosen in advance. The mixing is
// not cryptographic (the hash values never leave the process); it only has
// to make buckets unpredictable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

namespace tapir {

// splitmix64's finalizer: a bijection on 64-bit values in which every input
// bit affects every output bit.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// A fresh seed per table (std::random_device: the kernel's generator).
inline uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// `n` bytes folded 8 at a time (the tail zero-padded, the length mixed in).
inline uint64_t seeded_hash_bytes(uint64_t seed, const uint8_t* p, size_t n) {
  uint64_t h = mix64(seed ^ n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, n - i < 8 ? n - i : 8);
    h = mix64(h ^ w) + seed;
  }
  return h;
}

// For std::unordered_map<uint64_t, ...>: std::hash<uint64_t> is the identity
// in libstdc++, so keys equal modulo the bucket count collide by construction.
struct SeededU64Hash {
  uint64_t seed = random_seed();
  size_t operator()(uint64_t k) const { return static_cast<size_t>(mix64(k ^ seed) + seed); }
};

}  // namespace tapir
