// File sources against the corpus: every capture yields exactly the frames
// the MANIFEST and tshark count; pcapng (converted by editcap) gives the same
// frames; damaged files deliver every frame before the damage, then an error
// naming the file.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include "capture/source.h"
#include "support/files.h"
#include "support/process.h"

namespace tapir::capture {
namespace {

const std::string kData = TAPIR_TESTDATA;

struct Entry {
  std::string path;
  uint64_t packets = 0;
  std::string linktype;
};

std::vector<Entry> manifest() {
  std::ifstream in(kData + "/MANIFEST.tsv");
  std::string line;
  std::getline(in, line);  // header
  std::vector<Entry> out;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() < 7) continue;
    out.push_back({kData + "/" + cols[2], std::stoull(cols[4]), cols[6]});
  }
  return out;
}

std::string run(const std::string& cmd) { return testing::sh(cmd); }

uint64_t tshark_frames(const std::string& path) {
  const std::string out = run("tshark -r '" + path + "' -T fields -e frame.number 2>/dev/null");
  uint64_t n = 0;
  for (char c : out) n += c == '\n';
  return n;
}

struct ReadResult {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  std::vector<uint32_t> caplens;
  ReadStatus last = ReadStatus::kEnd;
  std::string error;
  decode::LinkType link = decode::LinkType::kEthernet;
};

ReadResult read_all(Source& s) {
  ReadResult r;
  decode::RawFrame f;
  ReadStatus st;
  while ((st = s.next(f)) == ReadStatus::kFrame) {
    ++r.frames;
    r.bytes += f.wirelen;
    r.caplens.push_back(f.caplen);
    r.link = f.link;
    EXPECT_LE(f.caplen, 262144u);
    EXPECT_NE(f.data, nullptr);
  }
  r.last = st;
  r.error = s.error();
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string temp_dir() { return testing::temp_dir("capture"); }

// Offsets of the records of a classic little-endian pcap (microsecond or
// nanosecond magic), parsed independently of libpcap.
std::vector<size_t> record_offsets(const std::string& data) {
  std::vector<size_t> offs;
  size_t off = 24;
  while (off + 16 <= data.size()) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + off);
    const uint32_t caplen = p[8] | (p[9] << 8) | (p[10] << 16) | (static_cast<uint32_t>(p[11]) << 24);
    if (off + 16 + caplen > data.size()) break;
    offs.push_back(off);
    off += 16 + caplen;
  }
  return offs;
}

TEST(CaptureFile, EveryCorpusCaptureMatchesManifestAndTshark) {
  const auto entries = manifest();
  ASSERT_GT(entries.size(), 50u);
  // The MANIFEST's link type names, as libpcap reports the captures.
  const std::map<std::string, decode::LinkType> links = {
      {"ether", decode::LinkType::kEthernet},
      {"rawip", decode::LinkType::kRaw},
      {"rawip4", decode::LinkType::kIpv4},
  };
  for (const auto& e : entries) {
    SCOPED_TRACE(e.path);
    std::string err;
    auto src = open_file(e.path, err);
    ASSERT_NE(src, nullptr) << err;
    const auto r = read_all(*src);
    EXPECT_EQ(r.last, ReadStatus::kEnd) << r.error;
    EXPECT_EQ(r.frames, e.packets);
    EXPECT_EQ(r.frames, tshark_frames(e.path));
    EXPECT_EQ(src->stats().frames, r.frames);
    EXPECT_EQ(src->stats().bytes, r.bytes);
    EXPECT_EQ(src->name(), e.path);
    auto it = links.find(e.linktype);
    ASSERT_NE(it, links.end()) << "link type " << e.linktype << " not in the table";
    if (r.frames > 0) {
      EXPECT_EQ(static_cast<int>(r.link), static_cast<int>(it->second));
    }
  }
}

TEST(CaptureFile, PcapngGivesTheSameFrames) {
  const std::string dir = temp_dir();
  int tested = 0;
  for (const auto& e : manifest()) {
    if (tested >= 6 && e.linktype == "ether") continue;  // all non-Ethernet ones, a few others
    SCOPED_TRACE(e.path);
    const std::string ng = dir + "/x.pcapng";
    ASSERT_EQ(std::system(("editcap -F pcapng '" + e.path + "' " + ng + " 2>/dev/null").c_str()), 0);
    std::string err;
    auto a = open_file(e.path, err);
    auto b = open_file(ng, err);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr) << err;
    const auto ra = read_all(*a);
    const auto rb = read_all(*b);
    EXPECT_EQ(rb.last, ReadStatus::kEnd) << rb.error;
    EXPECT_EQ(ra.frames, rb.frames);
    EXPECT_EQ(ra.caplens, rb.caplens);
    EXPECT_EQ(ra.bytes, rb.bytes);
    if (ra.frames > 0) {
      EXPECT_EQ(static_cast<int>(ra.link), static_cast<int>(rb.link));
    }
    ++tested;
  }
}

TEST(CaptureFile, PcapngStampsBeyondInt64Saturate) {
  const std::string dir = temp_dir();
  const std::string ng = dir + "/big-ts.pcapng";
  ASSERT_EQ(std::system(("editcap -F pcapng '" + kData + "/zeek/dns__tkey/tkey.pcap' " + ng +
                         " 2>/dev/null").c_str()),
            0);
  std::string data = slurp(ng);
  // Walk the blocks (little-endian: type, total length) to the first
  // Enhanced Packet Block and set its timestamp's high word near 2^32: with
  // microsecond or nanosecond resolution that is past the year 2262.
  size_t off = 0;
  bool patched = false;
  while (off + 12 <= data.size()) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + off);
    const uint32_t type = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
    const uint32_t len = p[4] | (p[5] << 8) | (p[6] << 16) | (static_cast<uint32_t>(p[7]) << 24);
    if (len < 12) break;
    if (type == 6) {
      for (int i = 0; i < 4; ++i) data[off + 12 + i] = static_cast<char>(0xf0);
      patched = true;
      break;
    }
    off += len;
  }
  ASSERT_TRUE(patched);
  // libpcap hands stamps over in struct timeval; where its seconds are 32 bits
  // (armhf and other 32-bit ABIs with a 32-bit time_t) libpcap itself has
  // already wrapped such a stamp before Tapir sees it.
  if (sizeof(decltype(pcap_pkthdr::ts.tv_sec)) < 8)
    GTEST_SKIP() << "32-bit tv_sec: libpcap wraps stamps past 2038 before Tapir sees them";
  spit(ng, data);
  std::string err;
  auto src = open_file(ng, err);
  ASSERT_NE(src, nullptr) << err;
  decode::RawFrame f;
  ASSERT_EQ(src->next(f), ReadStatus::kFrame);
  EXPECT_EQ(f.ts, INT64_MAX);
  const auto r = read_all(*src);
  EXPECT_EQ(r.frames, 11u);
  EXPECT_EQ(r.last, ReadStatus::kEnd);
}

TEST(CaptureFile, TimestampsMatchTshark) {
  const std::string path = kData + "/zeek/dns__tkey/tkey.pcap";
  std::istringstream ts(run("tshark -r '" + path + "' -T fields -e frame.time_epoch"));
  std::string err;
  auto src = open_file(path, err);
  ASSERT_NE(src, nullptr) << err;
  decode::RawFrame f;
  std::string line;
  int n = 0;
  while (src->next(f) == ReadStatus::kFrame && std::getline(ts, line)) {
    // tshark prints seconds.nanoseconds
    const auto dot = line.find('.');
    ASSERT_NE(dot, std::string::npos);
    std::string frac = line.substr(dot + 1);
    frac.resize(9, '0');
    const TimeNs want = std::stoll(line.substr(0, dot)) * kNsPerSec + std::stoll(frac);
    EXPECT_EQ(f.ts, want) << line;
    ++n;
  }
  EXPECT_EQ(n, 12);
}

TEST(CaptureFile, TruncatedFileDeliversFramesBeforeTheCutThenNamesTheFile) {
  const std::string src_path = kData + "/zeek/dns__tkey/tkey.pcap";
  const std::string data = slurp(src_path);
  const auto offs = record_offsets(data);
  ASSERT_EQ(offs.size(), 12u);
  const std::string path = temp_dir() + "/cut.pcap";
  // Cut in the middle of record 8's data: records 0..6 are whole.
  spit(path, data.substr(0, offs[7] + 16 + 10));
  std::string err;
  auto src = open_file(path, err);
  ASSERT_NE(src, nullptr) << err;
  const auto r = read_all(*src);
  EXPECT_EQ(r.frames, 7u);
  EXPECT_EQ(r.frames, tshark_frames(path));
  EXPECT_EQ(r.last, ReadStatus::kError);
  EXPECT_EQ(r.error.rfind(path + ": ", 0), 0u) << r.error;
  // Reading on after an error keeps reporting it.
  decode::RawFrame f;
  EXPECT_EQ(src->next(f), ReadStatus::kError);
}

TEST(CaptureFile, DamagedRecordHeaderStopsWithAnErrorAfterEarlierFrames) {
  const std::string data = slurp(kData + "/zeek/dns__tkey/tkey.pcap");
  const auto offs = record_offsets(data);
  ASSERT_EQ(offs.size(), 12u);
  std::string bad = data;
  // A record length far beyond the snap length, as a damaged disk block or an
  // interrupted writer leaves behind (pcapfix's "oversized packet" case).
  const size_t at = offs[5] + 8;
  for (int i = 0; i < 4; ++i) bad[at + i] = static_cast<char>(0x7f);
  const std::string path = temp_dir() + "/damaged.pcap";
  spit(path, bad);
  std::string err;
  auto src = open_file(path, err);
  ASSERT_NE(src, nullptr) << err;
  const auto r = read_all(*src);
  EXPECT_EQ(r.frames, 5u);
  EXPECT_EQ(r.last, ReadStatus::kError);
  EXPECT_EQ(r.error.rfind(path + ": ", 0), 0u) << r.error;
}

TEST(CaptureFile, UnsupportedLinkTypeIsRejectedClearly) {
  std::string data = slurp(kData + "/zeek/dns__tkey/tkey.pcap");
  // Link type field of the file header: LINKTYPE_USER0 (147).
  data[20] = static_cast<char>(147);
  data[21] = data[22] = data[23] = 0;
  const std::string path = temp_dir() + "/user0.pcap";
  spit(path, data);
  std::string err;
  auto src = open_file(path, err);
  EXPECT_EQ(src, nullptr);
  EXPECT_EQ(err.rfind(path + ": unsupported link type 147", 0), 0u) << err;
}

TEST(CaptureFile, MissingAndNonPcapFilesNameTheFile) {
  std::string err;
  EXPECT_EQ(open_file("/nonexistent/x.pcap", err), nullptr);
  EXPECT_EQ(err.rfind("/nonexistent/x.pcap: ", 0), 0u) << err;
  const std::string path = temp_dir() + "/text.pcap";
  spit(path, "this is not a capture file, just some text\n");
  err.clear();
  EXPECT_EQ(open_file(path, err), nullptr);
  EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << err;
}

TEST(CaptureFile, BpfFilterMatchesTcpdump) {
  for (const char* rel : {"zeek/dns__tkey/tkey.pcap", "tcpdump/vxlan/vxlan.pcap"}) {
    const std::string path = kData + "/" + rel;
    for (const char* filter : {"udp", "tcp", "port 53", "icmp or arp"}) {
      SCOPED_TRACE(std::string(rel) + " / " + filter);
      std::string err;
      auto src = open_file(path, err, filter);
      ASSERT_NE(src, nullptr) << err;
      const auto r = read_all(*src);
      // tcpdump writes the matching frames; tshark counts them (tcpdump's own
      // text output has several lines for tunnelled frames).
      const std::string kept = temp_dir() + "/kept.pcap";
      ASSERT_EQ(std::system(("tcpdump -r '" + path + "' -w " + kept + " '" + filter +
                             "' 2>/dev/null").c_str()),
                0);
      EXPECT_EQ(r.frames, tshark_frames(kept));
    }
  }
  std::string err;
  EXPECT_EQ(open_file(kData + "/zeek/dns__tkey/tkey.pcap", err, "port nonsense("), nullptr);
  EXPECT_NE(err.find("bad filter"), std::string::npos) << err;
}

TEST(CaptureMemory, SameFramesAsTheFile) {
  const std::string path = kData + "/zeek/dns__tkey/tkey.pcap";
  const std::string data = slurp(path);
  std::string err;
  auto a = open_file(path, err);
  auto b = open_memory(reinterpret_cast<const uint8_t*>(data.data()), data.size(), "mem", err);
  ASSERT_NE(b, nullptr) << err;
  const auto ra = read_all(*a);
  const auto rb = read_all(*b);
  EXPECT_EQ(ra.caplens, rb.caplens);
  EXPECT_EQ(rb.last, ReadStatus::kEnd);
  EXPECT_EQ(open_memory(nullptr, 0, "empty", err), nullptr);
  EXPECT_EQ(err, "empty: empty input");
}

TEST(CaptureFile, StopEndsReading) {
  std::string err;
  auto src = open_file(kData + "/zeek/dns__tkey/tkey.pcap", err);
  ASSERT_NE(src, nullptr);
  decode::RawFrame f;
  EXPECT_EQ(src->next(f), ReadStatus::kFrame);
  src->stop();
  EXPECT_EQ(src->next(f), ReadStatus::kEnd);
}

}  // namespace
}  // namespace tapir::capture
