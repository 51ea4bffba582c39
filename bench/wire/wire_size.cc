// tapir-bench-wire: bytes on the wire per event versus the bytes of the
// packets each event summarises, per event type.
//
//   tapir decode capture.pcap --format pb -o events.pb
//   tapir-bench-wire events.pb --pcap capture.pcap [--batch 100]
//
// Events are re-encoded the way an agent exports them: EventBatch messages of
// --batch events (of one type for the per-type rows, in stream order for the
// total). The packet bytes an event summarises are taken from the Flow
// records, matched by Community ID:
//   Flow                  its frame bytes (both directions)
//   Dns, Tls, Http, Icmp  its flow's frame bytes shared among that flow's events of the type
//   Packet                its wire length
//   Arp                   60 bytes (one minimum Ethernet frame per ARP message)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include "tapir/v1/events.pb.h"

namespace {

using tapir::v1::Event;
using tapir::v1::EventBatch;

// One ARP message in a minimum-size Ethernet frame (60 bytes without FCS).
constexpr double kArpFrameBytes = 60;
// A length prefix longer than this is a corrupt stream, not an event.
constexpr uint32_t kMaxEventBytes = 64u << 20;

const char* type_name(Event::BodyCase c) {
  switch (c) {
    case Event::kFlow: return "flow";
    case Event::kDns: return "dns";
    case Event::kArp: return "arp";
    case Event::kIcmp: return "icmp";
    case Event::kPacket: return "packet";
    case Event::kTls: return "tls";
    case Event::kHttp: return "http";
    case Event::kAgent: return "agent";
    default: return "?";
  }
}

const std::string& community_id(const Event& e) {
  static const std::string kNone;
  switch (e.body_case()) {
    case Event::kDns: return e.dns().community_id();
    case Event::kTls: return e.tls().community_id();
    case Event::kHttp: return e.http().community_id();
    case Event::kIcmp: return e.icmp().community_id();
    default: return kNone;
  }
}

// Encoded size of `events` sent in batches of `batch`.
uint64_t batched_bytes(const std::vector<const Event*>& events, size_t batch) {
  uint64_t total = 0;
  EventBatch b;
  b.set_agent_id("agent-0001");
  uint64_t seq = 1;
  for (size_t i = 0; i < events.size(); i += batch) {
    b.clear_events();
    b.set_sequence(seq++);
    for (size_t k = i; k < std::min(events.size(), i + batch); ++k) *b.add_events() = *events[k];
    total += b.ByteSizeLong();
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::string in, pcap;
  size_t batch = 100;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--pcap" && i + 1 < argc) {
      pcap = argv[++i];
    } else if (a == "--batch" && i + 1 < argc) {
      batch = std::stoul(argv[++i]);
    } else if (!a.empty() && a[0] != '-') {
      in = a;
    } else {
      std::fprintf(stderr, "usage: tapir-bench-wire EVENTS.pb [--pcap FILE] [--batch N]\n");
      return 2;
    }
  }
  if (in.empty() || batch == 0) {
    std::fprintf(stderr, "usage: tapir-bench-wire EVENTS.pb [--pcap FILE] [--batch N]\n");
    return 2;
  }
  int fd = open(in.c_str(), O_RDONLY);
  if (fd < 0) {
    std::fprintf(stderr, "tapir-bench-wire: %s: %s\n", in.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<Event> events;
  {
    google::protobuf::io::FileInputStream file(fd);
    for (;;) {
      google::protobuf::io::CodedInputStream cis(&file);
      uint32_t len;
      if (!cis.ReadVarint32(&len)) break;  // clean end of stream
      if (len > kMaxEventBytes) {
        std::fprintf(stderr, "tapir-bench-wire: %s: event %zu announces %u bytes\n", in.c_str(),
                     events.size() + 1, len);
        return 1;
      }
      auto limit = cis.PushLimit(static_cast<int>(len));
      Event e;
      if (!e.ParseFromCodedStream(&cis) || !cis.ConsumedEntireMessage()) {
        std::fprintf(stderr, "tapir-bench-wire: %s: event %zu does not parse\n", in.c_str(),
                     events.size() + 1);
        return 1;
      }
      cis.PopLimit(limit);
      events.push_back(std::move(e));
    }
  }
  close(fd);

  // Frame bytes per Community ID, from the flow records.
  std::unordered_map<std::string, double> flow_bytes;
  std::unordered_map<std::string, std::array<uint32_t, 9>> per_cid;  // events by type
  for (auto& e : events) {
    if (e.has_flow()) {
      flow_bytes[e.flow().community_id()] +=
          static_cast<double>(e.flow().src_frame_bytes() + e.flow().dst_frame_bytes());
    } else if (!community_id(e).empty()) {
      per_cid[community_id(e)][e.body_case()]++;
    }
  }

  struct Row {
    std::vector<const Event*> events;
    uint64_t encoded = 0;
    double packet_bytes = 0;
    uint64_t unmatched = 0;
  };
  std::map<int, Row> rows;
  std::vector<const Event*> all;
  for (auto& e : events) {
    Row& r = rows[e.body_case()];
    r.events.push_back(&e);
    all.push_back(&e);
    r.encoded += e.ByteSizeLong();
    switch (e.body_case()) {
      case Event::kFlow:
        r.packet_bytes += static_cast<double>(e.flow().src_frame_bytes() + e.flow().dst_frame_bytes());
        break;
      case Event::kPacket: r.packet_bytes += e.packet().wire_len(); break;
      case Event::kArp: r.packet_bytes += kArpFrameBytes; break;
      case Event::kAgent: break;
      default: {
        auto it = flow_bytes.find(community_id(e));
        if (it == flow_bytes.end()) {
          r.unmatched++;
        } else {
          r.packet_bytes += it->second / per_cid[community_id(e)][e.body_case()];
        }
      }
    }
  }

  std::printf("type\tevents\tevent_bytes\tbatched_bytes_per_event\tpacket_bytes_per_event\t"
              "packets_to_event_ratio\tunmatched\n");
  for (auto& [type, r] : rows) {
    double n = static_cast<double>(r.events.size());
    double per_batched = static_cast<double>(batched_bytes(r.events, batch)) / n;
    double pkt = r.packet_bytes / std::max(1.0, n - static_cast<double>(r.unmatched));
    std::printf("%s\t%zu\t%.1f\t%.1f\t%.1f\t%.1f\t%llu\n", type_name(static_cast<Event::BodyCase>(type)),
                r.events.size(), static_cast<double>(r.encoded) / n, per_batched, pkt,
                per_batched > 0 ? pkt / per_batched : 0.0, static_cast<unsigned long long>(r.unmatched));
  }
  uint64_t total = batched_bytes(all, batch);
  std::printf("all\t%zu\t-\t%.1f\t-\t-\t-\n", all.size(),
              all.empty() ? 0.0 : static_cast<double>(total) / static_cast<double>(all.size()));
  std::printf("# batches of %zu events in stream order: %llu bytes\n", batch,
              static_cast<unsigned long long>(total));
  if (!pcap.empty()) {
    struct stat st;
    if (stat(pcap.c_str(), &st) != 0) {
      std::fprintf(stderr, "tapir-bench-wire: %s: %s\n", pcap.c_str(), std::strerror(errno));
      return 1;
    }
    std::printf("# capture %s: %lld bytes; events are %.2f%% of it (%.1fx smaller)\n",
                pcap.c_str(), static_cast<long long>(st.st_size),
                100.0 * static_cast<double>(total) / static_cast<double>(st.st_size),
                total > 0 ? static_cast<double>(st.st_size) / static_cast<double>(total) : 0.0);
  }
  return 0;
}
