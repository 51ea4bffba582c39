// libpcap sources: pcap/pcapng files (from a path or from memory) and live
// interfaces. libpcap is the portable default on every OS Tapir runs on.
#include <pcap/pcap.h>

#ifndef _WIN32
#include <poll.h>
#endif

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#include "capture/source.h"

namespace tapir::capture {

namespace {

// Maps libpcap's DLT_* value to the LINKTYPE_* numbering the decoder uses.
// DLT and LINKTYPE differ for a few types (DLT_RAW is 12 or 14 depending on
// the OS, LINKTYPE_RAW is 101), so this goes through the DLT_* names.
bool map_link_type(int dlt, decode::LinkType& out) {
  switch (dlt) {
    case DLT_NULL: out = decode::LinkType::kNull; return true;
    case DLT_EN10MB: out = decode::LinkType::kEthernet; return true;
    case DLT_RAW: out = decode::LinkType::kRaw; return true;
#if defined(DLT_LOOP)
    case DLT_LOOP: out = decode::LinkType::kLoop; return true;
#endif
    case DLT_LINUX_SLL: out = decode::LinkType::kLinuxSll; return true;
#if defined(DLT_IPV4)
    case DLT_IPV4: out = decode::LinkType::kIpv4; return true;
#endif
#if defined(DLT_IPV6)
    case DLT_IPV6: out = decode::LinkType::kIpv6; return true;
#endif
#if defined(DLT_LINUX_SLL2)
    case DLT_LINUX_SLL2: out = decode::LinkType::kLinuxSll2; return true;
#endif
    default: return false;
  }
}

std::string link_type_text(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  std::string s = "unsupported link type " + std::to_string(dlt);
  if (name != nullptr) s += std::string(" (") + name + ")";
  s += "; supported: EN10MB, NULL, LOOP, RAW, IPV4, IPV6, LINUX_SLL, LINUX_SLL2";
  return s;
}

bool apply_filter(pcap_t* p, const std::string& filter, std::string& problem) {
  if (filter.empty()) return true;
  bpf_program prog{};
  if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    problem = "bad filter '" + filter + "': " + pcap_geterr(p);
    return false;
  }
  const int rc = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (rc != 0) {
    problem = "cannot set filter '" + filter + "': " + pcap_geterr(p);
    return false;
  }
  return true;
}

// Seconds and sub-second units to nanoseconds. pcapng stamps can name times
// nanoseconds since 1970 cannot hold (beyond the year 2262); those saturate
// instead of overflowing.
TimeNs to_time_ns(int64_t sec, int64_t frac, TimeNs scale) {
  TimeNs ns = 0;
  if (__builtin_mul_overflow(sec, kNsPerSec, &ns) ||
      __builtin_add_overflow(ns, frac * scale, &ns)) {
    return sec < 0 ? INT64_MIN : INT64_MAX;
  }
  return ns;
}

class PcapSource : public Source {
 public:
  // `ts_scale` turns the sub-second part of pcap's timestamps into nanoseconds
  // (1 when libpcap delivers nanoseconds, 1000 when only microseconds).
  PcapSource(pcap_t* p, std::string name, decode::LinkType link, bool live, TimeNs ts_scale)
      : pcap_(p), name_(std::move(name)), link_(link), live_(live), ts_scale_(ts_scale) {}

  // Live handles: read without blocking and wait in poll() for at most `ms`.
  void use_poll(int fd, int ms) {
    poll_fd_ = fd;
    poll_ms_ = ms;
  }
  // pcap_close also closes a FILE handed to pcap_fopen_offline.
  ~PcapSource() override { pcap_close(pcap_); }

  ReadStatus next(decode::RawFrame& frame) override {
    if (stopped_.load(std::memory_order_relaxed)) return ReadStatus::kEnd;
    if (failed_) return ReadStatus::kError;
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(pcap_, &hdr, &data);
#ifndef _WIN32
    // A live handle is non-blocking with its own poll(): libpcap's timeout on
    // Linux (TPACKET_V3) only runs once a packet has arrived, so a silent
    // interface would otherwise block forever and callers could never close
    // a half-full batch on its age or notice stop().
    if (rc == 0 && poll_fd_ >= 0) {
      pollfd pfd{poll_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, poll_ms_) <= 0) return ReadStatus::kTimeout;
      if (stopped_.load(std::memory_order_relaxed)) return ReadStatus::kEnd;
      rc = pcap_next_ex(pcap_, &hdr, &data);
    }
#endif
    if (rc == 1) {
      frame.ts = to_time_ns(hdr->ts.tv_sec, hdr->ts.tv_usec, ts_scale_);
      frame.data = data;
      frame.caplen = hdr->caplen;
      frame.wirelen = hdr->len;
      frame.link = link_;
      ++stats_.frames;
      stats_.bytes += hdr->len;
      return ReadStatus::kFrame;
    }
    if (rc == 0) return ReadStatus::kTimeout;  // live only
    if (rc == PCAP_ERROR_BREAK) return ReadStatus::kEnd;
    failed_ = true;
    error_ = name_ + ": " + pcap_geterr(pcap_);
    return ReadStatus::kError;
  }

  void stop() override {
    stopped_.store(true, std::memory_order_relaxed);
    pcap_breakloop(pcap_);
  }

  SourceStats stats() override {
    SourceStats s = stats_;
    if (live_) {
      pcap_stat ps{};
      if (pcap_stats(pcap_, &ps) == 0) {
        s.kernel_drops = ps.ps_drop;
        s.if_drops = ps.ps_ifdrop;
      }
    }
    return s;
  }

  const std::string& name() const override { return name_; }
  const std::string& error() const override { return error_; }

 private:
  pcap_t* pcap_;
  int poll_fd_ = -1;
  int poll_ms_ = 100;
  std::string name_;
  decode::LinkType link_;
  bool live_;
  TimeNs ts_scale_;
  std::atomic<bool> stopped_{false};
  bool failed_ = false;
  SourceStats stats_;
  std::string error_;
};

// Common tail of the offline openers: link type check, filter.
std::unique_ptr<Source> finish_offline(pcap_t* p, const std::string& name, std::string& err,
                                       const std::string& bpf_filter) {
  const int dlt = pcap_datalink(p);
  decode::LinkType link{};
  std::string problem;
  if (!map_link_type(dlt, link)) {
    problem = link_type_text(dlt);
  } else if (!apply_filter(p, bpf_filter, problem)) {
  } else {
    const TimeNs scale = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    return std::make_unique<PcapSource>(p, name, link, false, scale);
  }
  err = name + ": " + problem;
  pcap_close(p);
  return nullptr;
}

}  // namespace

std::unique_ptr<Source> open_file(const std::string& path, std::string& err,
                                  const std::string& bpf_filter) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO,
                                                      errbuf);
  if (p == nullptr) {
    std::string msg = errbuf;
    // libpcap prefixes some messages with the path already.
    if (msg.rfind(path + ": ", 0) == 0) msg = msg.substr(path.size() + 2);
    err = path + ": " + msg;
    return nullptr;
  }
  return finish_offline(p, path, err, bpf_filter);
}

std::unique_ptr<Source> open_memory(const uint8_t* data, size_t len, const std::string& name,
                                    std::string& err, const std::string& bpf_filter) {
  if (len == 0) {
    err = name + ": empty input";
    return nullptr;
  }
  FILE* f = fmemopen(const_cast<uint8_t*>(data), len, "rb");
  if (f == nullptr) {
    err = name + ": cannot open memory stream";
    return nullptr;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    std::fclose(f);
    err = name + ": " + errbuf;
    return nullptr;
  }
  return finish_offline(p, name, err, bpf_filter);
}

std::unique_ptr<Source> open_live(const LiveOptions& o, std::string& err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_create(o.interface.c_str(), errbuf);
  if (p == nullptr) {
    err = o.interface + ": " + errbuf;
    return nullptr;
  }
  auto fail = [&](const std::string& what) -> std::unique_ptr<Source> {
    err = o.interface + ": " + what;
    pcap_close(p);
    return nullptr;
  };
  if (pcap_set_snaplen(p, o.snaplen) != 0) return fail("cannot set snaplen");
  if (pcap_set_promisc(p, o.promiscuous ? 1 : 0) != 0) return fail("cannot set promiscuous mode");
  if (pcap_set_timeout(p, o.timeout_ms) != 0) return fail("cannot set timeout");
  if (pcap_set_immediate_mode(p, o.immediate ? 1 : 0) != 0)
    return fail("cannot set immediate mode");
  if (o.buffer_mb > 0 && pcap_set_buffer_size(p, o.buffer_mb * 1024 * 1024) != 0)
    return fail("cannot set buffer size");
  // Not every platform offers nanosecond stamps; microseconds are fine then.
  (void)pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  const int rc = pcap_activate(p);
  if (rc < 0) {
    std::string msg = pcap_statustostr(rc);
    const std::string detail = pcap_geterr(p);
    if (!detail.empty()) msg += ": " + detail;
    return fail(msg);
  }
  const int dlt = pcap_datalink(p);
  decode::LinkType link{};
  if (!map_link_type(dlt, link)) return fail(link_type_text(dlt));
  std::string problem;
  if (!apply_filter(p, o.bpf_filter, problem)) return fail(problem);
  const TimeNs scale = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
  auto src = std::make_unique<PcapSource>(p, o.interface, link, true, scale);
#ifndef _WIN32
  const int fd = pcap_get_selectable_fd(p);
  if (fd >= 0 && pcap_setnonblock(p, 1, errbuf) == 0) src->use_poll(fd, o.timeout_ms);
#endif
  return src;
}

}  // namespace tapir::capture
