// Hash flooding, counted in bucket sizes (the key comparisons one lookup
// costs), never timed: keys chosen to share a bucket under a hash the sender
// can compute land in one bucket there, and spread under a seeded table.
#include "common/seeded_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <random>
#include <unordered_map>

namespace tapir {
namespace {

template <class Map>
size_t max_bucket(const Map& m) {
  size_t most = 0;
  for (size_t b = 0; b < m.bucket_count(); ++b) most = std::max(most, m.bucket_size(b));
  return most;
}

constexpr size_t kKeys = 4000;

// ARP's table keys (asker << 32 | asked): with std::hash<uint64_t> (the
// identity in libstdc++) keys equal modulo the bucket count collide.
TEST(SeededHash, AddressPairKeysDoNotShareABucket) {
  std::unordered_map<uint64_t, int> plain;
  plain.reserve(kKeys);
  const size_t buckets = plain.bucket_count();
  std::unordered_map<uint64_t, int, SeededU64Hash> seeded;
  seeded.reserve(kKeys);
  for (size_t i = 0; i < kKeys; ++i) {
    const uint64_t key = 7 + i * buckets;  // what a sender who knows the hash sends
    plain.emplace(key, 0);
    seeded.emplace(key, 0);
  }
  std::printf("%zu keys, %zu buckets: largest bucket %zu unseeded, %zu seeded\n", kKeys, buckets,
              max_bucket(plain), max_bucket(seeded));
  EXPECT_EQ(max_bucket(plain), kKeys);  // every lookup compares with every key
  EXPECT_LE(max_bucket(seeded), 16u);
}

// ICMP echo keys (37 bytes): keys searched offline to share a bucket under
// one seed (as a sender would under a fixed hash) spread under another.
TEST(SeededHash, EchoKeysChosenForOneSeedSpreadUnderAnother) {
  struct ByteHash {
    uint64_t seed;
    size_t operator()(const std::array<uint8_t, 37>& k) const {
      return static_cast<size_t>(seeded_hash_bytes(seed, k.data(), k.size()));
    }
  };
  constexpr size_t kChosen = 500;
  std::unordered_map<std::array<uint8_t, 37>, int, ByteHash> known(0, ByteHash{1});
  known.reserve(kChosen);
  const size_t buckets = known.bucket_count();
  std::unordered_map<std::array<uint8_t, 37>, int, ByteHash> secret(0, ByteHash{random_seed()});
  secret.reserve(kChosen);
  std::mt19937_64 rng(3);
  std::array<uint8_t, 37> key{};
  key[36] = 4;
  const size_t target = 0;
  while (known.size() < kChosen) {
    const uint64_t r = rng();  // vary id, seq and the low source address bytes
    std::memcpy(key.data() + 12, &r, 4);
    std::memcpy(key.data() + 32, reinterpret_cast<const uint8_t*>(&r) + 4, 4);
    if (known.hash_function()(key) % buckets != target) continue;
    known.emplace(key, 0);
    secret.emplace(key, 0);
  }
  std::printf("%zu chosen keys, %zu buckets: largest bucket %zu known seed, %zu secret seed\n",
              kChosen, buckets, max_bucket(known), max_bucket(secret));
  EXPECT_EQ(max_bucket(known), kChosen);
  EXPECT_LE(max_bucket(secret), 12u);
}

TEST(SeededHash, SeedsDiffer) { EXPECT_NE(SeededU64Hash{}.seed, SeededU64Hash{}.seed); }

}  // namespace
}  // namespace tapir
