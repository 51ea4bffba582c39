#include "agent/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <set>
#include <sstream>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

namespace tapir::agent {
namespace {

enum class Kind { kString, kInt, kBool, kList, kMap, kFlagTrue, kFlagFalse };

struct FlagSpec {
  const char* names;  // CLI11 names
  const char* key;    // section.key in the YAML file
  Kind kind;
  const char* help;
};

// Every flag maps to one YAML key, so `--help` and docs/agent.md list the same settings.
const FlagSpec kFlags[] = {
    {"--id", "agent.id", Kind::kString, "Agent id (default: the host name); must match the CN of tls.cert"},
    {"--label", "agent.labels", Kind::kMap, "Label KEY=VALUE sent in Agent events (repeatable)"},
    {"-i,--interface", "capture.interfaces", Kind::kList, "Capture live on this interface (repeatable; one thread each)"},
    {"-r,--read", "capture.files", Kind::kList, "Replay this pcap/pcapng file instead (repeatable)"},
    {"-f,--filter", "capture.filter", Kind::kString, "BPF filter, tcpdump syntax"},
    {"--snaplen", "capture.snaplen", Kind::kInt, "Bytes captured per packet"},
    {"--no-promisc", "capture.promiscuous", Kind::kFlagFalse, "Do not put interfaces in promiscuous mode"},
    {"--buffer-mb", "capture.buffer_mb", Kind::kInt, "Kernel capture buffer per interface, MiB"},
    {"--replay", "capture.replay", Kind::kString, "File replay pace: fast (default) or realtime"},
    {"--analyzers", "decode.analyzers", Kind::kList, "Analyzers to run (comma list; default: all)"},
    {"--packet-sampling", "decode.packet_sampling", Kind::kInt, "Emit a Packet event for 1 in N packets (0: none)"},
    {"--flow-max", "flow.max_flows", Kind::kInt, "Flows kept at once per capture thread (the least recently seen is ended when full)"},
    {"--tcp-idle", "flow.tcp_idle_s", Kind::kInt, "Seconds without a packet before a TCP flow ends"},
    {"--udp-idle", "flow.udp_idle_s", Kind::kInt, "Seconds without a packet before a UDP flow ends"},
    {"--other-idle", "flow.other_idle_s", Kind::kInt, "Seconds without a packet before another flow ends"},
    {"--active-timeout", "flow.active_s", Kind::kInt, "Seconds after which a long flow is reported and continues in a new record"},
    {"--close-linger", "flow.tcp_close_linger_s", Kind::kInt, "Seconds a closed TCP flow waits for late packets (last ACK, retransmitted FIN, RST) before it is reported"},
    {"-c,--collector", "collector.address", Kind::kString, "Collector HOST:PORT"},
    {"--server-name", "collector.server_name", Kind::kString, "Name expected in the collector certificate, if not the host of --collector"},
    {"--insecure", "collector.insecure", Kind::kFlagTrue, "Plain text, no TLS (testing only; logs a warning)"},
    {"--token-file", "collector.token_file", Kind::kString, "File holding a shared token sent as 'authorization: Bearer'"},
    {"--ca", "tls.ca", Kind::kString, "PEM CA certificate that signed the collector certificate"},
    {"--cert", "tls.cert", Kind::kString, "PEM certificate of this agent"},
    {"--key", "tls.key", Kind::kString, "PEM private key of this agent"},
    {"--events", "export.events", Kind::kList, "Event types to export (comma list: flow,dns,tls,http,arp,icmp,packet; default: all)"},
    {"--batch-events", "export.batch_events", Kind::kInt, "Events per batch at most"},
    {"--batch-delay-ms", "export.batch_delay_ms", Kind::kInt, "Oldest event in a batch waits at most this long"},
    {"--queue-batches", "export.queue_batches", Kind::kInt, "Batches kept in memory before spooling to disk"},
    {"--report-interval", "export.report_interval_s", Kind::kInt, "Seconds between Agent status events (0: only on connect)"},
    {"--drain", "export.drain_s", Kind::kInt, "Seconds to wait at exit for the collector to acknowledge (rest stays spooled)"},
    {"--spool-dir", "spool.dir", Kind::kString, "Spool directory (unacknowledged batches; sequence counter)"},
    {"--spool-max-bytes", "spool.max_bytes", Kind::kInt, "Spool size bound in bytes"},
    {"--spool-max-batches", "spool.max_batches", Kind::kInt, "Spool bound in batch files"},
    {"--drop", "spool.drop", Kind::kString, "When the spool is full drop the oldest or the newest batches"},
    {"--user", "privileges.user", Kind::kString, "Run as this user after opening the captures"},
    {"--group", "privileges.group", Kind::kString, "Run as this group (default: the user's group)"},
    {"--metrics", "metrics.listen", Kind::kString, "Serve Prometheus /metrics on HOST:PORT"},
};

// Keys accepted in the file, by section (everything a flag can set, and a few more).
const std::map<std::string, std::set<std::string>>& known_keys() {
  static const std::map<std::string, std::set<std::string>> k = [] {
    std::map<std::string, std::set<std::string>> m;
    for (const auto& f : kFlags) {
      std::string key = f.key;
      auto dot = key.find('.');
      m[key.substr(0, dot)].insert(key.substr(dot + 1));
    }
    m["collector"].insert("token");
    m["export"].insert({"queue_bytes", "max_in_flight", "backoff_initial_ms", "backoff_max_ms",
                          "connect_timeout_ms"});
    m["spool"].insert("fsync");
    return m;
  }();
  return k;
}

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& v : in) {
    std::stringstream ss(v);
    std::string part;
    while (std::getline(ss, part, ','))
      if (!part.empty()) out.push_back(part);
  }
  return out;
}

class Checker {
 public:
  Checker(const YAML::Node& root, std::string& err) : root_(root), err_(err) {}

  bool fail(const std::string& key, const std::string& problem) {
    if (ok_) err_ = key + ": " + problem;
    ok_ = false;
    return false;
  }
  bool ok() const { return ok_; }

  YAML::Node get(const std::string& key) {
    auto dot = key.find('.');
    YAML::Node sec = root_[key.substr(0, dot)];
    if (!sec) return YAML::Node();
    return sec[key.substr(dot + 1)];
  }

  void str(const std::string& key, std::string& out) {
    YAML::Node n = get(key);
    if (!n || n.IsNull()) return;
    if (!n.IsScalar()) {
      fail(key, "expected a string");
      return;
    }
    out = n.Scalar();
  }

  template <class T>
  void integer(const std::string& key, T& out, int64_t lo, int64_t hi) {
    YAML::Node n = get(key);
    if (!n || n.IsNull()) return;
    std::string s = n.IsScalar() ? n.Scalar() : "";
    char* end = nullptr;
    errno = 0;
    long long v = s.empty() ? 0 : std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0) {
      fail(key, "expected an integer, got '" + s + "'");
      return;
    }
    if (v < lo || v > hi) {
      fail(key, std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
      return;
    }
    out = static_cast<T>(v);
  }

  void boolean(const std::string& key, bool& out) {
    YAML::Node n = get(key);
    if (!n || n.IsNull()) return;
    std::string s = n.IsScalar() ? n.Scalar() : "";
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on" || s == "1")
      out = true;
    else if (s == "false" || s == "no" || s == "off" || s == "0")
      out = false;
    else
      fail(key, "expected true or false, got '" + s + "'");
  }

  void list(const std::string& key, std::vector<std::string>& out) {
    YAML::Node n = get(key);
    if (!n || n.IsNull()) return;
    if (n.IsScalar()) {
      out = split_commas({n.Scalar()});
      return;
    }
    if (!n.IsSequence()) {
      fail(key, "expected a list");
      return;
    }
    out.clear();
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        fail(key, "expected a list of strings");
        return;
      }
      out.push_back(item.Scalar());
    }
  }

  void map(const std::string& key, std::map<std::string, std::string>& out) {
    YAML::Node n = get(key);
    if (!n || n.IsNull()) return;
    if (!n.IsMap()) {
      fail(key, "expected a mapping of key: value");
      return;
    }
    for (const auto& kv : n) {
      if (!kv.second.IsScalar()) {
        fail(key + "." + kv.first.Scalar(), "expected a string");
        return;
      }
      out[kv.first.Scalar()] = kv.second.Scalar();
    }
  }

  void unknown_keys() {
    if (!root_.IsMap()) {
      if (root_ && !root_.IsNull()) fail("(top level)", "expected a mapping of sections");
      return;
    }
    for (const auto& sec : root_) {
      std::string name = sec.first.Scalar();
      auto it = known_keys().find(name);
      if (it == known_keys().end()) {
        fail(name, "unknown section");
        return;
      }
      if (sec.second.IsNull()) continue;
      if (!sec.second.IsMap()) {
        fail(name, "expected a mapping");
        return;
      }
      for (const auto& kv : sec.second)
        if (!it->second.count(kv.first.Scalar())) {
          fail(name + "." + kv.first.Scalar(), "unknown key");
          return;
        }
    }
  }

 private:
  const YAML::Node& root_;
  std::string& err_;
  bool ok_ = true;
};

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "agent";
  return buf;
}

std::string certificate_cn(const std::string& path) {
  std::string pem, why;
  if (!read_text_file(path, pem, why)) return {};
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (!cert) return {};
  char cn[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return n > 0 ? std::string(cn, static_cast<size_t>(n)) : std::string();
}

bool from_tree(const YAML::Node& root, AgentConfig& c, std::string& err) {
  Checker k(root, err);
  k.unknown_keys();
  if (!k.ok()) return false;
  constexpr int64_t kMaxInt = 1ll << 40;
  k.str("agent.id", c.id);
  k.map("agent.labels", c.labels);
  k.list("capture.interfaces", c.capture.interfaces);
  k.list("capture.files", c.capture.files);
  k.str("capture.filter", c.capture.filter);
  k.integer("capture.snaplen", c.capture.snaplen, 64, 262144);
  k.boolean("capture.promiscuous", c.capture.promiscuous);
  k.integer("capture.buffer_mb", c.capture.buffer_mb, 1, 4096);
  std::string replay = "fast";
  k.str("capture.replay", replay);
  if (replay != "fast" && replay != "realtime")
    k.fail("capture.replay", "expected fast or realtime, got '" + replay + "'");
  c.capture.realtime = replay == "realtime";
  k.list("decode.analyzers", c.analyzers);
  k.integer("decode.packet_sampling", c.packet_sampling, 0, 1 << 30);
  {
    flow::FlowConfig& f = c.flow;
    int64_t v = static_cast<int64_t>(f.max_flows);
    k.integer("flow.max_flows", v, 1024, 1ll << 26);
    f.max_flows = static_cast<size_t>(v);
    auto seconds = [&](const char* key, TimeNs& t, int64_t lo) {
      int64_t s = t / kNsPerSec;
      k.integer(key, s, lo, 7 * 86400);
      t = s * kNsPerSec;
    };
    seconds("flow.tcp_idle_s", f.tcp_idle_timeout, 1);
    seconds("flow.udp_idle_s", f.udp_idle_timeout, 1);
    seconds("flow.other_idle_s", f.other_idle_timeout, 1);
    seconds("flow.active_s", f.active_timeout, 1);
    seconds("flow.tcp_close_linger_s", f.tcp_close_linger, 0);
  }

  TransportConfig& t = c.exporter.transport;
  k.str("collector.address", t.collector);
  k.str("collector.server_name", t.server_name);
  k.boolean("collector.insecure", t.insecure);
  k.str("collector.token", t.token);
  std::string token_file;
  k.str("collector.token_file", token_file);
  k.str("tls.ca", t.ca_file);
  k.str("tls.cert", t.cert_file);
  k.str("tls.key", t.key_file);

  std::vector<std::string> events;
  k.list("export.events", events);
  for (const auto& e : events) {
    v1::Event::BodyCase bc;
    if (!event_type_from_name(e, bc)) {
      k.fail("export.events", "unknown event type '" + e + "' (flow, dns, tls, http, arp, icmp, packet)");
      break;
    }
    c.batching.types.insert(bc);
  }
  k.integer("export.batch_events", c.batching.max_events, 1, 100000);
  int64_t ms = c.batching.max_delay.count();
  k.integer("export.batch_delay_ms", ms, 1, 3600000);
  c.batching.max_delay = std::chrono::milliseconds(ms);
  k.integer("export.queue_batches", c.exporter.queue_batches, 1, 1000000);
  k.integer("export.queue_bytes", c.exporter.queue_bytes, 1 << 16, kMaxInt);
  k.integer("export.max_in_flight", c.exporter.max_in_flight, 1, 10000);
  int64_t report_s = c.exporter.report_interval.count() / 1000;
  k.integer("export.report_interval_s", report_s, 0, 86400);
  c.exporter.report_interval = std::chrono::milliseconds(report_s * 1000);
  ms = c.exporter.backoff_initial.count();
  k.integer("export.backoff_initial_ms", ms, 1, 600000);
  c.exporter.backoff_initial = std::chrono::milliseconds(ms);
  ms = c.exporter.backoff_max.count();
  k.integer("export.backoff_max_ms", ms, 1, 3600000);
  c.exporter.backoff_max = std::chrono::milliseconds(ms);
  ms = c.exporter.connect_timeout.count();
  k.integer("export.connect_timeout_ms", ms, 100, 600000);
  c.exporter.connect_timeout = std::chrono::milliseconds(ms);
  k.integer("export.drain_s", c.drain_seconds, 0, 3600);

  SpoolConfig& s = c.exporter.spool;
  k.str("spool.dir", s.dir);
  k.integer("spool.max_bytes", s.max_bytes, 0, kMaxInt);
  k.integer("spool.max_batches", s.max_batches, 1, 100000000);
  k.boolean("spool.fsync", s.fsync);
  std::string drop = "oldest";
  k.str("spool.drop", drop);
  if (drop != "oldest" && drop != "newest")
    k.fail("spool.drop", "expected oldest or newest, got '" + drop + "'");
  c.exporter.drop_policy = drop == "newest" ? DropPolicy::kNewest : DropPolicy::kOldest;

  k.str("privileges.user", c.user);
  k.str("privileges.group", c.group);
  k.str("metrics.listen", c.metrics_listen);
  if (!k.ok()) return false;

  // Cross-field checks. The collector identifies an agent by its certificate
  // CN, so that is the natural default id; the host name only without TLS.
  if (c.id.empty() && !t.insecure && !t.cert_file.empty()) c.id = certificate_cn(t.cert_file);
  if (c.id.empty()) c.id = host_name();
  c.exporter.agent_id = c.id;
  if (c.capture.interfaces.empty() && c.capture.files.empty())
    return k.fail("capture.interfaces", "no interface and no file (capture.files) to read");
  if (!c.capture.interfaces.empty() && !c.capture.files.empty())
    return k.fail("capture.files", "cannot be combined with capture.interfaces");
  if (t.collector.empty()) return k.fail("collector.address", "not set (HOST:PORT)");
  if (t.collector.find(':') == std::string::npos)
    return k.fail("collector.address", "'" + t.collector + "' has no :PORT");
  if (!token_file.empty()) {
    std::string why;
    if (!read_text_file(token_file, t.token, why)) return k.fail("collector.token_file", why);
    while (!t.token.empty() && std::isspace(static_cast<unsigned char>(t.token.back())))
      t.token.pop_back();
    if (t.token.empty()) return k.fail("collector.token_file", token_file + " is empty");
  }
  if (!t.insecure) {
    if (t.ca_file.empty()) return k.fail("tls.ca", "not set (or use collector.insecure / --insecure)");
    if (t.cert_file.empty()) return k.fail("tls.cert", "not set");
    if (t.key_file.empty()) return k.fail("tls.key", "not set");
  }
  if (c.exporter.backoff_max < c.exporter.backoff_initial)
    return k.fail("export.backoff_max_ms", "smaller than export.backoff_initial_ms");
  if (!c.metrics_listen.empty() && c.metrics_listen.rfind(':') == std::string::npos)
    return k.fail("metrics.listen", "'" + c.metrics_listen + "' has no :PORT");
  if (!c.group.empty() && c.user.empty())
    return k.fail("privileges.group", "needs privileges.user");
  return true;
}

}  // namespace

bool event_type_from_name(const std::string& name, v1::Event::BodyCase& out) {
  const auto* oneof = v1::Event::descriptor()->FindOneofByName("body");
  for (int i = 0; i < oneof->field_count(); ++i)
    if (oneof->field(i)->name() == name && name != "agent") {
      out = static_cast<v1::Event::BodyCase>(oneof->field(i)->number());
      return true;
    }
  return false;
}

void add_flags(CLI::App& app, Flags& flags) {
  app.add_option("--config", flags.config, "YAML configuration file (flags override it)")
      ->check(CLI::ExistingFile);
  for (const auto& f : kFlags) {
    std::string help = std::string(f.help) + "  [" + f.key + "]";
    CLI::Option* o = nullptr;
    switch (f.kind) {
      case Kind::kFlagTrue:
      case Kind::kFlagFalse:
        o = app.add_flag(f.names);
        break;
      case Kind::kList:
      case Kind::kMap:
        o = app.add_option(f.names)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                ->type_size(1)->expected(1, 1 << 20)->allow_extra_args(false)->type_name("TEXT");
        break;
      case Kind::kInt:
        o = app.add_option(f.names)->type_size(1)->type_name("INT");
        break;
      default:
        o = app.add_option(f.names)->type_size(1)->type_name("TEXT");
        break;
    }
    o->description(help);
    o->group(std::string(f.key).substr(0, std::string(f.key).find('.')));
  }
}

bool load_config(const CLI::App& app, const Flags& flags, AgentConfig& out, std::string& err) {
  YAML::Node root;
  if (!flags.config.empty()) {
    try {
      root = YAML::LoadFile(flags.config);
    } catch (const YAML::Exception& e) {
      err = flags.config + ": " + e.what();
      return false;
    }
    out.config_file = flags.config;
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    err = flags.config + ": expected a mapping of sections (agent:, capture:, collector: ...)";
    return false;
  }
  for (const auto& f : kFlags) {
    std::string first = f.names;
    std::string longname = first.substr(first.find("--"));
    const CLI::Option* o = app.get_option_no_throw(longname);
    if (!o || o->count() == 0) continue;
    std::string key = f.key;
    auto dot = key.find('.');
    std::string sec = key.substr(0, dot), name = key.substr(dot + 1);
    if (!root[sec] || !root[sec].IsMap()) root[sec] = YAML::Node(YAML::NodeType::Map);
    switch (f.kind) {
      case Kind::kFlagTrue: root[sec][name] = "true"; break;
      case Kind::kFlagFalse: root[sec][name] = "false"; break;
      case Kind::kList: {
        YAML::Node seq(YAML::NodeType::Sequence);
        for (const auto& v : split_commas(o->results())) seq.push_back(v);
        root[sec][name] = seq;
        break;
      }
      case Kind::kMap: {
        YAML::Node m = root[sec][name];
        if (!m || !m.IsMap()) m = YAML::Node(YAML::NodeType::Map);
        for (const auto& v : o->results()) {
          auto eq = v.find('=');
          if (eq == std::string::npos || eq == 0) {
            err = key + ": '" + v + "' is not KEY=VALUE";
            return false;
          }
          m[v.substr(0, eq)] = v.substr(eq + 1);
        }
        root[sec][name] = m;
        break;
      }
      default: root[sec][name] = o->results().back(); break;
    }
  }
  return from_tree(root, out, err);
}

bool parse_config_yaml(const std::string& yaml, AgentConfig& out, std::string& err) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    err = std::string("config: ") + e.what();
    return false;
  }
  return from_tree(root, out, err);
}

}  // namespace tapir::agent
