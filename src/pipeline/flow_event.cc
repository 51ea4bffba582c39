#include "pipeline/flow_event.h"

#include "analyzers/event_util.h"

namespace tapir::pipeline {

void fill_flow_event(const flow::FlowRecord& f, v1::Flow& out, uint32_t sampling_rate) {
  analyzers::fill_flow_header(out, f, f.first_ts, sampling_rate);
  analyzers::set_timestamp(out.mutable_ts_end(), f.last_ts);
  const TimeNs duration = f.last_ts > f.first_ts ? f.last_ts - f.first_ts : 0;
  out.set_duration_us(static_cast<uint64_t>(duration / kNsPerUs));
  const flow::DirStats& o = f.dir[0];
  const flow::DirStats& r = f.dir[1];
  out.set_src_packets(o.packets);
  out.set_dst_packets(r.packets);
  out.set_src_ip_bytes(o.ip_bytes);
  out.set_dst_ip_bytes(r.ip_bytes);
  out.set_src_frame_bytes(o.frame_bytes);
  out.set_dst_frame_bytes(r.frame_bytes);
  out.set_src_payload_bytes(o.payload_bytes);
  out.set_dst_payload_bytes(r.payload_bytes);
  if (f.ip_proto == decode::ipproto::kTcp) {
    out.set_src_tcp_flags(o.tcp_flags);
    out.set_dst_tcp_flags(r.tcp_flags);
  }
  out.set_rtt_us(f.rtt_ns > 0 ? static_cast<uint64_t>(f.rtt_ns / kNsPerUs) : 0);
  out.set_end_reason(static_cast<v1::FlowEndReason>(f.end_reason));
  out.set_app_proto(f.app_proto);
  // A direction with no packets has no TTL to report (0, not the 255 start value).
  out.set_src_min_ttl(o.packets > 0 ? o.min_ttl : 0);
  out.set_dst_min_ttl(r.packets > 0 ? r.min_ttl : 0);
}

}  // namespace tapir::pipeline
