// Reading and writing capture files frame by frame with libpcap directly, so
// tests can look at raw frames without the decoder and build captures.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tapir::testing {

struct Frame {
  int number = 0;  // 1-based, as tshark counts
  int64_t ts_us = 0;
  int linktype = 0;
  std::vector<uint8_t> data;
};

// All frames of a capture; empty and `err` set on failure.
inline std::vector<Frame> read_pcap(const std::string& path, std::string& err) {
  std::vector<Frame> frames;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (!p) {
    err = errbuf;
    return frames;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int n = 0;
  while (pcap_next_ex(p, &h, &d) == 1) {
    Frame f;
    f.number = ++n;
    f.ts_us = static_cast<int64_t>(h->ts.tv_sec) * 1000000 + h->ts.tv_usec;
    f.linktype = pcap_datalink(p);
    f.data.assign(d, d + h->caplen);
    frames.push_back(std::move(f));
  }
  pcap_close(p);
  return frames;
}

// Writes frames to a pcap file of one link type (Ethernet by default).
inline bool write_pcap(const std::string& path, const std::vector<Frame>& frames,
                       int linktype = DLT_EN10MB) {
  pcap_t* dead = pcap_open_dead(linktype, 262144);
  if (!dead) return false;
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (!d) {
    pcap_close(dead);
    return false;
  }
  for (const auto& f : frames) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(f.ts_us / 1000000);
    h.ts.tv_usec = static_cast<suseconds_t>(f.ts_us % 1000000);
    h.caplen = h.len = static_cast<bpf_u_int32>(f.data.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  return true;
}

}  // namespace tapir::testing
