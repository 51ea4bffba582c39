// `tapir decode`: capture files in, events out (JSON lines or protobuf).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "capture/source.h"
#include "commands.h"
#include "export/file_sink.h"
#include "pipeline/engine.h"

namespace tapir::cli {

namespace {

std::atomic<bool> g_interrupted{false};
capture::Source* volatile g_current = nullptr;

extern "C" void on_interrupt(int /*sig*/) {
  g_interrupted.store(true);
  // stop() only sets a flag and calls pcap_breakloop, both async-signal-safe.
  if (capture::Source* s = g_current) s->stop();
}

// The progress line is redrawn at most this often, so a fast decode does not
// spend its time on the terminal.
constexpr auto kProgressInterval = std::chrono::milliseconds(250);
// Frames between clock reads for the progress line.
constexpr uint64_t kProgressCheckEvery = 4096;
// Bytes of a pcap record header, for estimating how far into a file we are.
constexpr uint64_t kPcapRecordHeader = 16;

struct Options {
  std::vector<std::string> files;
  std::string out = "-";
  std::string format = "json";
  std::string types;
  std::string analyzers;
  std::string filter;
  uint32_t packet_sampling = 0;
  std::string flow_timeout;
  size_t max_flows = 0;
  bool quiet = false;
  bool summary = false;
  bool list_analyzers = false;
};

// "--flow-timeout 30" sets every idle timeout; "tcp=300,udp=60,other=30,active=1800,close=60"
// sets them one by one (close: the linger of a closed TCP flow). Seconds.
bool parse_flow_timeout(const std::string& text, flow::FlowConfig& fc, std::string& err) {
  auto to_ns = [&](const std::string& v, TimeNs& out) {
    try {
      size_t used = 0;
      const double s = std::stod(v, &used);
      if (used != v.size() || !(s > 0) || s > 1e9) return false;
      out = static_cast<TimeNs>(s * kNsPerSec);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  if (text.find('=') == std::string::npos) {
    TimeNs t = 0;
    if (!to_ns(text, t)) {
      err = "--flow-timeout: '" + text + "' is not a positive number of seconds";
      return false;
    }
    fc.tcp_idle_timeout = fc.udp_idle_timeout = fc.other_idle_timeout = t;
    return true;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    pos = comma + 1;
    const size_t eq = item.find('=');
    TimeNs t = 0;
    if (eq == std::string::npos || !to_ns(item.substr(eq + 1), t)) {
      err = "--flow-timeout: bad item '" + item + "' (want tcp=|udp=|other=|active=|close=SECONDS)";
      return false;
    }
    const std::string key = item.substr(0, eq);
    if (key == "tcp") {
      fc.tcp_idle_timeout = t;
    } else if (key == "udp") {
      fc.udp_idle_timeout = t;
    } else if (key == "other") {
      fc.other_idle_timeout = t;
    } else if (key == "active") {
      fc.active_timeout = t;
    } else if (key == "close") {
      fc.tcp_close_linger = t;
    } else {
      err = "--flow-timeout: unknown key '" + key + "' (want tcp, udp, other, active or close)";
      return false;
    }
  }
  return true;
}

std::string human_count(double v) {
  char buf[32];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  } else if (v >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void start_file(const std::string& name) {
    name_ = name;
    struct stat st {};
    size_ = (stat(name.c_str(), &st) == 0) ? static_cast<uint64_t>(st.st_size) : 0;
    pos_ = 24;  // pcap file header
  }
  void frame(uint32_t caplen, uint64_t total_frames) {
    pos_ += caplen + kPcapRecordHeader;
    if (!enabled_ || total_frames % kProgressCheckEvery != 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < kProgressInterval) return;
    last_ = now;
    draw(total_frames);
  }
  void clear() {
    if (enabled_ && drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  void draw(uint64_t frames) {
    constexpr int kBarWidth = 30;
    const double frac = size_ > 0 ? std::min(1.0, static_cast<double>(pos_) / size_) : 0.0;
    const int filled = static_cast<int>(frac * kBarWidth);
    std::string bar(filled, '#');
    bar.resize(kBarWidth, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %s packets", name_.c_str(), bar.c_str(),
                 frac * 100, human_count(static_cast<double>(frames)).c_str());
    drawn_ = true;
  }
  bool enabled_;
  bool drawn_ = false;
  std::string name_;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

void print_summary(const pipeline::EngineStats& s, const exporter::FileSink& sink,
                   uint64_t frames, uint64_t bytes, double seconds, int bad_files) {
  std::fprintf(stderr, "packets          %llu\n", static_cast<unsigned long long>(frames));
  std::fprintf(stderr, "bytes            %llu\n", static_cast<unsigned long long>(bytes));
  std::fprintf(stderr, "decoded          %llu\n",
               static_cast<unsigned long long>(s.decode.decoded));
  std::fprintf(stderr, "malformed        %llu\n",
               static_cast<unsigned long long>(s.decode.malformed));
  for (size_t i = 1; i < s.decode.errors.size(); ++i) {
    if (s.decode.errors[i] == 0) continue;
    const auto name = decode::decode_error_name(static_cast<decode::DecodeError>(i));
    std::fprintf(stderr, "  %-22.*s %llu\n", static_cast<int>(name.size()), name.data(),
                 static_cast<unsigned long long>(s.decode.errors[i]));
  }
  std::fprintf(stderr, "fragments        %llu (reassembled %llu, expired %llu)\n",
               static_cast<unsigned long long>(s.decode.fragments),
               static_cast<unsigned long long>(s.decode.reassembled),
               static_cast<unsigned long long>(s.decode.frag_expired));
  std::fprintf(stderr, "flows            %llu (evicted %llu)\n",
               static_cast<unsigned long long>(s.flow.created),
               static_cast<unsigned long long>(s.flow.evicted));
  std::fprintf(stderr, "events           %llu\n", static_cast<unsigned long long>(sink.events()));
  const auto* oneof = v1::Event::descriptor()->FindOneofByName("body");
  for (int i = 0; i < oneof->field_count(); ++i) {
    const auto* fd = oneof->field(i);
    const uint64_t n = sink.count(static_cast<v1::Event::BodyCase>(fd->number()));
    if (n == 0) continue;
    std::fprintf(stderr, "  %-22s %llu\n", fd->name().c_str(), static_cast<unsigned long long>(n));
  }
  if (bad_files > 0) std::fprintf(stderr, "bad files        %d\n", bad_files);
  const double rate = seconds > 0 ? static_cast<double>(frames) / seconds : 0;
  std::fprintf(stderr, "elapsed          %.3f s (%s packets/s)\n", seconds,
               human_count(rate).c_str());
}

int run_decode(const Options& o) {
  if (o.list_analyzers) {
    for (const auto& a : analyzers::Registry::instance().all())
      std::printf("%-10s %s\n", a.name.c_str(), a.description.c_str());
    return 0;
  }
  if (o.files.empty()) {
    std::fprintf(stderr, "tapir: decode: no capture file given\n");
    return 2;
  }
  pipeline::EngineConfig cfg;
  std::string err;
  if (!o.flow_timeout.empty() && !parse_flow_timeout(o.flow_timeout, cfg.flow, err)) {
    std::fprintf(stderr, "tapir: %s\n", err.c_str());
    return 2;
  }
  if (o.max_flows > 0) cfg.flow.max_flows = o.max_flows;
  cfg.packet_sampling = o.packet_sampling;
  for (size_t pos = 0; pos < o.analyzers.size();) {
    size_t comma = o.analyzers.find(',', pos);
    if (comma == std::string::npos) comma = o.analyzers.size();
    if (comma > pos) cfg.analyzers.push_back(o.analyzers.substr(pos, comma - pos));
    pos = comma + 1;
  }

  exporter::EventTypes types;
  if (!exporter::parse_event_types(o.types, types, err)) {
    std::fprintf(stderr, "tapir: --types: %s\n", err.c_str());
    return 2;
  }
  // Sampled packets are asked for by --packet-sampling; without it, a
  // "packet" type selection has nothing to show, which is fine.
  const auto format =
      o.format == "pb" ? exporter::OutputFormat::kProtobuf : exporter::OutputFormat::kJson;
  auto sink = exporter::FileSink::open(o.out, format, err);
  if (!sink) {
    std::fprintf(stderr, "tapir: %s\n", err.c_str());
    return 1;
  }
  sink->set_types(types);

  std::unique_ptr<pipeline::Engine> engine;
  try {
    engine = std::make_unique<pipeline::Engine>(cfg, *sink);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tapir: --analyzers: %s\n", e.what());
    return 2;
  }

  // A closed pipe (`tapir decode x.pcap | head`) becomes a write error we report.
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);

  Progress progress(!o.quiet && isatty(STDERR_FILENO) != 0);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t frames = 0, bytes = 0;
  int bad_files = 0;
  for (const auto& path : o.files) {
    if (g_interrupted.load()) break;
    auto src = capture::open_file(path, err, o.filter);
    if (!src) {
      progress.clear();
      std::fprintf(stderr, "tapir: %s\n", err.c_str());
      ++bad_files;
      continue;
    }
    g_current = src.get();
    progress.start_file(path);
    decode::RawFrame frame;
    capture::ReadStatus st;
    while ((st = src->next(frame)) == capture::ReadStatus::kFrame) {
      engine->process(frame);
      ++frames;
      bytes += frame.wirelen;
      progress.frame(frame.caplen, frames);
      if (!sink->ok()) break;
    }
    g_current = nullptr;
    progress.clear();
    if (st == capture::ReadStatus::kError) {
      std::fprintf(stderr, "tapir: %s\n", src->error().c_str());
      ++bad_files;
    }
    if (!sink->ok()) break;
  }
  engine->finish();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool wrote = sink->close();
  if (!wrote) std::fprintf(stderr, "tapir: %s\n", sink->error().c_str());
  if (o.summary || (!o.quiet && isatty(STDERR_FILENO) != 0 && o.out != "-"))
    print_summary(engine->stats(), *sink, frames, bytes, secs, bad_files);
  if (g_interrupted.load()) return 130;
  return (bad_files > 0 || !wrote) ? 1 : 0;
}

const RegisterCommand kRegister{Command{[](CLI::App& app) -> std::function<int()> {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("decode", "Decode capture files (pcap, pcapng) into events");
  sub->add_option("files", o->files, "Capture files, read in order as one capture");
  sub->add_option("-o,--output", o->out, "Output file ('-' = stdout)");
  sub->add_option("--format", o->format, "Output format: json (JSON lines) or pb (length-delimited tapir.v1.Event)")
      ->check(CLI::IsMember({"json", "pb"}));
  sub->add_option("--types", o->types,
                  "Event types to write, comma-separated (" + exporter::event_type_names() +
                      "; default all)");
  sub->add_option("--analyzers", o->analyzers, "Analyzers to run, comma-separated (default all)");
  sub->add_flag("--list-analyzers", o->list_analyzers, "List the analyzers and exit");
  sub->add_option("--filter", o->filter, "BPF filter applied to every file");
  sub->add_option("--packet-sampling", o->packet_sampling,
                  "Write a packet event for one in N IP packets (0 = none)");
  sub->add_option("--flow-timeout", o->flow_timeout,
                  "Idle timeout in seconds for all flows, or tcp=S,udp=S,other=S,active=S");
  sub->add_option("--max-flows", o->max_flows, "Flows kept at once; the oldest is ended beyond");
  sub->add_flag("-q,--quiet", o->quiet, "No progress line");
  sub->add_flag("--summary", o->summary, "Print a summary on stderr at the end");
  return [o] { return run_decode(*o); };
}}};

}  // namespace

}  // namespace tapir::cli
