// Reads a capture with libpcap and decodes every frame; what the decode tests
// share. Fields are copied out of each Packet (its pointers die with the frame).
#pragma once

#include <pcap/pcap.h>

#include <filesystem>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "support/corpus.h"

namespace tapir::decode::testing {

struct Frame {
  int number = 0;  // 1-based, as tshark numbers frames
  DecodeStatus status = DecodeStatus::kOk;
  Packet pkt;      // pointer fields are not valid any more
  std::vector<uint8_t> bytes;  // the captured frame
  // Decoded from the ICMP quoted packet (valid when has_quoted).
  bool has_quoted = false;
  Packet quoted;
};

// LINKTYPE_* for a libpcap DLT_* value.
inline LinkType link_from_dlt(int dlt) {
  switch (dlt) {
    case DLT_NULL: return LinkType::kNull;
    case DLT_EN10MB: return LinkType::kEthernet;
    case DLT_RAW: return LinkType::kRaw;
#ifdef DLT_LOOP
    case DLT_LOOP: return LinkType::kLoop;
#endif
    case DLT_LINUX_SLL: return LinkType::kLinuxSll;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2: return LinkType::kLinuxSll2;
#endif
    case DLT_IPV4: return LinkType::kIpv4;
    case DLT_IPV6: return LinkType::kIpv6;
    default: return static_cast<LinkType>(dlt);
  }
}

struct Capture {
  std::string error;  // non-empty when the file could not be read
  LinkType link = LinkType::kEthernet;
  std::vector<Frame> frames;
  DecodeStats stats;
};

inline Capture decode_capture(const std::filesystem::path& path, const DecoderConfig& cfg = {}) {
  Capture out;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO,
                                                      errbuf);
  if (p == nullptr) {
    out.error = errbuf;
    return out;
  }
  out.link = link_from_dlt(pcap_datalink(p));
  Decoder dec(cfg);
  Decoder quoted_dec(cfg);
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int n = 0;
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    Frame f;
    f.number = ++n;
    f.bytes.assign(data, data + hdr->caplen);
    RawFrame raw;
    raw.ts = static_cast<TimeNs>(hdr->ts.tv_sec) * kNsPerSec + hdr->ts.tv_usec;
    raw.data = f.bytes.data();
    raw.caplen = hdr->caplen;
    raw.wirelen = hdr->len;
    raw.link = out.link;
    f.status = dec.decode(raw, f.pkt);
    if (f.pkt.icmp.quoted != nullptr && f.pkt.icmp.quoted_len > 0) {
      RawFrame q;
      q.data = f.pkt.icmp.quoted;
      q.caplen = q.wirelen = f.pkt.icmp.quoted_len;
      q.link = LinkType::kRaw;
      quoted_dec.decode(q, f.quoted);
      f.has_quoted = true;
    }
    out.frames.push_back(std::move(f));
  }
  out.stats = dec.stats();
  pcap_close(p);
  return out;
}

using tapir::testing::corpus_captures;

inline std::filesystem::path testdata(const std::string& rel) { return tapir::testing::corpus_path(rel); }

}  // namespace tapir::decode::testing
