#include "agent/system.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace tapir::agent {

HostInfo host_info() {
  HostInfo h;
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) == 0) h.hostname = buf;
  struct utsname u;
  if (::uname(&u) == 0) {
    h.os = std::string(u.sysname) + " " + u.release;
    h.arch = u.machine;
  }
  return h;
}

bool drop_privileges(const std::string& user, const std::string& group,
                     const std::vector<std::string>& chown_paths, std::string& err) {
  if (user.empty()) return true;
  errno = 0;
  struct passwd* pw = ::getpwnam(user.c_str());
  if (!pw) {
    err = "privileges.user: no user '" + user + "'";
    return false;
  }
  uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  if (!group.empty()) {
    struct group* gr = ::getgrnam(group.c_str());
    if (!gr) {
      err = "privileges.group: no group '" + group + "'";
      return false;
    }
    gid = gr->gr_gid;
  }
  if (::geteuid() != 0) {
    if (::geteuid() == uid) return true;  // already that user
    err = "privileges.user: switching to '" + user + "' needs to start as root";
    return false;
  }
  for (const auto& p : chown_paths) {
    if (p.empty()) continue;
    std::error_code ec;
    if (::chown(p.c_str(), uid, gid) != 0) {
      err = "privileges.user: chown " + p + ": " + std::strerror(errno);
      return false;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec))
      if (::chown(e.path().c_str(), uid, gid) != 0) {
        err = "privileges.user: chown " + e.path().string() + ": " + std::strerror(errno);
        return false;
      }
  }
  if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
    err = std::string("privileges.user: cannot switch to '") + user + "': " + std::strerror(errno);
    return false;
  }
  // The switch must be permanent: root is gone for good.
  if (::setuid(0) == 0 || ::geteuid() == 0) {
    err = "privileges.user: could regain root after switching; refusing to run";
    return false;
  }
#ifdef __linux__
  // No setuid binary run later can raise privileges again.
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
#endif
  return true;
}

namespace {

void metric(std::ostringstream& o, const char* name, const char* type, const char* help,
            uint64_t value, const std::string& labels = {}) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
    << name << labels << ' ' << value << '\n';
}

}  // namespace

std::string prometheus_text(const ExporterStats& s, const CaptureCounters& c,
                            const std::string& agent_id) {
  std::ostringstream o;
  (void)agent_id;
  metric(o, "tapir_agent_packets_total", "counter", "Packets handed to the decoder.", c.packets);
  metric(o, "tapir_agent_bytes_total", "counter", "Bytes captured.", c.bytes);
  metric(o, "tapir_agent_kernel_drops_total", "counter", "Packets the kernel dropped (pcap ps_drop).", c.kernel_drops);
  metric(o, "tapir_agent_interface_drops_total", "counter", "Packets the interface dropped (pcap ps_ifdrop).", c.if_drops);
  metric(o, "tapir_agent_decoded_total", "counter", "Packets decoded without error.", c.decoded);
  metric(o, "tapir_agent_malformed_total", "counter", "Packets with a decoding problem.", c.malformed);
  metric(o, "tapir_agent_events_total", "counter", "Events produced by the engines.", c.events);
  metric(o, "tapir_agent_flows_evicted_total", "counter", "Flows ended early because the flow table was full.", c.flows_evicted);
  metric(o, "tapir_agent_queue_batches", "gauge", "Unacknowledged batches held in memory.", s.queue_batches);
  metric(o, "tapir_agent_queue_bytes", "gauge", "Memory held by those batches.", s.queue_bytes);
  metric(o, "tapir_agent_in_flight_batches", "gauge", "Batches sent and awaiting acknowledgement.", s.in_flight);
  metric(o, "tapir_agent_spool_batches", "gauge", "Batch files in the spool.", s.spool_batches);
  metric(o, "tapir_agent_spool_bytes", "gauge", "Bytes in the spool.", s.spool_bytes);
  metric(o, "tapir_agent_spool_events", "gauge", "Events in the spool.", s.spool_events);
  metric(o, "tapir_agent_batches_submitted_total", "counter", "Batches sealed for export.", s.batches_submitted);
  metric(o, "tapir_agent_events_submitted_total", "counter", "Events sealed for export.", s.events_submitted);
  metric(o, "tapir_agent_batches_sent_total", "counter", "Batch writes to a collector stream (resends included).", s.batches_sent);
  metric(o, "tapir_agent_events_sent_total", "counter", "Events written to a collector stream (resends included).", s.events_sent);
  metric(o, "tapir_agent_batches_acked_total", "counter", "Batches acknowledged by a collector.", s.batches_acked);
  metric(o, "tapir_agent_events_acked_total", "counter", "Events acknowledged by a collector.", s.events_acked);
  metric(o, "tapir_agent_acked_sequence", "gauge", "Highest acknowledged sequence number.", s.acked_sequence);
  metric(o, "tapir_agent_duplicates_total", "counter", "Resent batches the collector already had.", s.duplicates);
  metric(o, "tapir_agent_batches_spooled_total", "counter", "Batches written to the spool.", s.batches_spooled);
  o << "# HELP tapir_agent_dropped_batches_total Batches dropped, by reason.\n"
       "# TYPE tapir_agent_dropped_batches_total counter\n";
  o << "tapir_agent_dropped_batches_total{reason=\"spool_full\"} " << s.dropped_batches_spool_full << '\n'
    << "tapir_agent_dropped_batches_total{reason=\"queue_full\"} " << s.dropped_batches_queue_full << '\n'
    << "tapir_agent_dropped_batches_total{reason=\"spool_error\"} " << s.dropped_batches_spool_error << '\n'
    << "tapir_agent_dropped_batches_total{reason=\"shutdown\"} " << s.dropped_batches_shutdown << '\n';
  o << "# HELP tapir_agent_dropped_events_total Events dropped, by reason.\n"
       "# TYPE tapir_agent_dropped_events_total counter\n";
  o << "tapir_agent_dropped_events_total{reason=\"spool_full\"} " << s.dropped_events_spool_full << '\n'
    << "tapir_agent_dropped_events_total{reason=\"queue_full\"} " << s.dropped_events_queue_full << '\n'
    << "tapir_agent_dropped_events_total{reason=\"spool_error\"} " << s.dropped_events_spool_error << '\n'
    << "tapir_agent_dropped_events_total{reason=\"shutdown\"} " << s.dropped_events_shutdown << '\n';
  metric(o, "tapir_agent_spool_corrupt_total", "counter", "Damaged spool files set aside at start.", s.spool_corrupt_recovered);
  metric(o, "tapir_agent_sequence_write_failures_total", "counter", "Writes of the sequence counter to the spool that failed.", s.sequence_write_failures);
  metric(o, "tapir_agent_instance_changes_total", "counter", "Moves to a fresh instance id because the sequence counter could not be persisted.", s.instance_changes);
  metric(o, "tapir_agent_store_failures_total", "counter", "Streams the collector ended because it could not store the batches (resent).", s.store_failures);
  metric(o, "tapir_agent_tls_failures_total", "counter", "Connection attempts whose TLS handshake failed.", s.tls_failures);
  metric(o, "tapir_agent_connects_total", "counter", "Streams that got at least one acknowledgement.", s.connects);
  metric(o, "tapir_agent_reconnects_total", "counter", "Stream attempts after the first.", s.reconnects);
  metric(o, "tapir_agent_connected", "gauge", "1 while a stream is acknowledging batches.", s.connected ? 1 : 0);
  return o.str();
}

}  // namespace tapir::agent
