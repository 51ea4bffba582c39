// The on-disk spool: round trip, recovery in order after a restart, damaged
// files set aside (never resent, never silently deleted), sequence counter.
#include "agent/spool.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "harness.h"

namespace tapir::agent {
namespace {

namespace fs = std::filesystem;

TEST(AgentSpool, Crc32MatchesTheStandardCheckValue) {
  // The CRC-32/ISO-HDLC check value from the CRC catalogue ("123456789").
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
}

// The instance id is made once per directory and kept; another directory gets another.
TEST(AgentSpool, InstanceIdIsKeptPerDirectory) {
  auto dir = test::temp_dir("spool-instance");
  SpoolConfig cfg{dir + "/a", 1 << 20, 100, true};
  std::string err, first;
  {
    auto s = Spool::open(cfg, err);
    ASSERT_TRUE(s) << err;
    first = s->instance_id(err);
    ASSERT_EQ(first.size(), 16u) << err;
    EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos) << first;
  }
  auto again = Spool::open(cfg, err);
  ASSERT_TRUE(again) << err;
  EXPECT_EQ(again->instance_id(err), first);
  SpoolConfig other{dir + "/b", 1 << 20, 100, true};
  auto s2 = Spool::open(other, err);
  ASSERT_TRUE(s2) << err;
  EXPECT_NE(s2->instance_id(err), first);
}

TEST(AgentSpool, WriteReadRecoverInOrder) {
  auto dir = test::temp_dir("spool-rt");
  SpoolConfig cfg{dir + "/s", 1 << 20, 100, true};
  std::string err;
  {
    auto s = Spool::open(cfg, err);
    ASSERT_TRUE(s) << err;
    EXPECT_EQ(s->load_next_sequence(), 1u);
    for (uint64_t seq : {5, 3, 9}) ASSERT_TRUE(s->write(seq, 2, "payload-" + std::to_string(seq), err)) << err;
    EXPECT_EQ(s->files().size(), 3u);
    EXPECT_EQ(s->events(), 6u);
    ASSERT_TRUE(s->store_next_sequence(10, err));
  }
  auto s = Spool::open(cfg, err);
  ASSERT_TRUE(s) << err;
  ASSERT_EQ(s->files().size(), 3u);
  EXPECT_EQ(s->files()[0].sequence, 3u);
  EXPECT_EQ(s->files()[1].sequence, 5u);
  EXPECT_EQ(s->files()[2].sequence, 9u);
  std::string p;
  ASSERT_TRUE(s->read(5, p, err)) << err;
  EXPECT_EQ(p, "payload-5");
  EXPECT_EQ(s->load_next_sequence(), 10u);
  s->remove(5);
  EXPECT_EQ(s->files().size(), 2u);
  EXPECT_FALSE(fs::exists(dir + "/s/00000000000000000005.batch"));
  EXPECT_EQ(s->bytes(), Spool::file_size(9) * 2);
}

TEST(AgentSpool, DamagedFilesAreSetAsideAndCounted) {
  auto dir = test::temp_dir("spool-bad");
  SpoolConfig cfg{dir + "/s", 1 << 20, 100, false};
  std::string err;
  {
    auto s = Spool::open(cfg, err);
    ASSERT_TRUE(s) << err;
    for (uint64_t seq = 1; seq <= 4; ++seq) ASSERT_TRUE(s->write(seq, 1, std::string(100, 'x'), err));
  }
  // Flip one payload byte in 2, truncate 3, and leave a half-written temporary file.
  {
    std::fstream f(dir + "/s/00000000000000000002.batch", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50);
    f.put('y');
  }
  fs::resize_file(dir + "/s/00000000000000000003.batch", 40);
  std::ofstream(dir + "/s/00000000000000000007.batch.tmp") << "partial";
  auto s = Spool::open(cfg, err);
  ASSERT_TRUE(s) << err;
  ASSERT_EQ(s->files().size(), 2u);
  EXPECT_EQ(s->files()[0].sequence, 1u);
  EXPECT_EQ(s->files()[1].sequence, 4u);
  EXPECT_EQ(s->corrupt_recovered(), 2u);
  EXPECT_TRUE(fs::exists(dir + "/s/00000000000000000002.batch.corrupt"));
  EXPECT_TRUE(fs::exists(dir + "/s/00000000000000000003.batch.corrupt"));
  EXPECT_FALSE(fs::exists(dir + "/s/00000000000000000007.batch.tmp"));
  // The counter never goes below what is spooled, even without a sequence file.
  EXPECT_EQ(s->load_next_sequence(), 5u);
}

TEST(AgentSpool, BoundsByCountAndBytes) {
  auto dir = test::temp_dir("spool-bounds");
  SpoolConfig cfg{dir + "/s", Spool::file_size(10) * 3, 2, false};
  std::string err;
  auto s = Spool::open(cfg, err);
  ASSERT_TRUE(s) << err;
  EXPECT_FALSE(s->would_overflow(Spool::file_size(10)));
  ASSERT_TRUE(s->write(1, 1, std::string(10, 'a'), err));
  ASSERT_TRUE(s->write(2, 1, std::string(10, 'a'), err));
  EXPECT_TRUE(s->would_overflow(Spool::file_size(10)));  // batch count
  s->remove(1);
  EXPECT_TRUE(s->would_overflow(Spool::file_size(50)));  // bytes
  EXPECT_FALSE(s->would_overflow(Spool::file_size(10)));
}

TEST(AgentSpool, UnusableDirectoryIsAClearError) {
  auto dir = test::temp_dir("spool-file");
  std::ofstream(dir + "/plainfile") << "x";
  std::string err;
  EXPECT_FALSE(Spool::open(SpoolConfig{dir + "/plainfile/sub", 1, 1, false}, err));
  EXPECT_NE(err.find("plainfile"), std::string::npos) << err;
}

}  // namespace
}  // namespace tapir::agent
