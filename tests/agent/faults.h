// Helpers for the fault tests: paced captures with `tapir decode` as the
// oracle, events per type as stored, a second process holding SQLite's write
// lock, a PKI from `tapir certs init`, the agent's command line.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace tapir::agent::test {

inline const std::vector<std::string> kTypes = {"flow", "dns", "arp", "icmp", "packet", "tls", "http"};

inline std::string gen_bin() { return bin("tools/gen_workload/tapir-gen-workload"); }

inline uint32_t le32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3])) << 24;
}
inline void put_le32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
}

// A generated capture whose frames are spread evenly over `seconds`, so that
// a realtime replay lasts that long whatever the generator's own timing.
inline std::string paced_capture(const std::string& dir, uint64_t packets, uint64_t seed, double seconds) {
  std::string raw = dir + "/raw-" + std::to_string(seed) + ".pcap";
  std::string out = dir + "/paced-" + std::to_string(seed) + ".pcap";
  auto r = run({gen_bin(), "--packets", std::to_string(packets), "--seed", std::to_string(seed),
                "--out", raw, "--summary", dir + "/summary"},
               dir);
  EXPECT_EQ(r.status, 0) << r.err;
  std::string img = read_all(raw);
  EXPECT_GE(img.size(), 24u);
  EXPECT_EQ(le32(img, 0), 0xa1b2c3d4u) << "expected a little-endian microsecond pcap";
  size_t at = 24;
  uint64_t i = 0;
  const uint64_t start_us = 1704067200ull * 1000000;
  while (at + 16 <= img.size()) {
    uint64_t ts = start_us + static_cast<uint64_t>(seconds * 1e6 * static_cast<double>(i) /
                                                   static_cast<double>(packets));
    put_le32(img, at, static_cast<uint32_t>(ts / 1000000));
    put_le32(img, at + 4, static_cast<uint32_t>(ts % 1000000));
    at += 16 + le32(img, at + 8);
    ++i;
  }
  EXPECT_EQ(at, img.size());
  std::ofstream(out, std::ios::binary) << img;
  return out;
}

// Events per type as `tapir decode` makes them from the capture.
inline std::map<std::string, long> decoded(const std::string& capture, const std::string& dir) {
  auto r = run({tapir_bin(), "decode", "-q", capture}, dir);
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, long> n;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 3 || line[0] != '{' || line[1] != '"') continue;
    ++n[line.substr(2, line.find('"', 2) - 2)];
  }
  return n;
}

inline std::map<std::string, long> stored(const std::string& db) {
  std::map<std::string, long> n;
  for (const auto& t : kTypes) {
    long v = sql_long(db, "select count(*) from " + t);
    if (v > 0) n[t] = v;
  }
  return n;
}

inline long total(const std::map<std::string, long>& m) {
  long t = 0;
  for (const auto& [k, v] : m) t += v;
  return t;
}

inline std::string show(const std::map<std::string, long>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + std::to_string(v) + " ";
  return s;
}

// The agent's last stderr summary: "dropped N events".
inline long summary_dropped(const std::string& err) {
  auto p = err.rfind("dropped ");
  return p == std::string::npos ? -1 : std::atol(err.c_str() + p + 8);
}

// The agent's last stderr summary: "events N" (every event it numbered, its
// own Agent reports included).
inline long summary_events(const std::string& err) {
  auto p = err.rfind(", events ");
  return p == std::string::npos ? -1 : std::atol(err.c_str() + p + 9);
}

inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// Holds SQLite's write lock on `db` from another process for `seconds`.
inline pid_t hold_write_lock(const std::string& db, int seconds, const std::string& dir) {
  return spawn({"/usr/bin/python3", "-c",
                "import sqlite3,sys,time\n"
                "c=sqlite3.connect(sys.argv[1],isolation_level=None,timeout=30)\n"
                "c.execute('BEGIN EXCLUSIVE')\n"
                "print('locked',flush=True)\n"
                "time.sleep(float(sys.argv[2]))\n"
                "c.execute('COMMIT')\n",
                db, std::to_string(seconds)},
               dir + "/lock.out", dir + "/lock.err");
}

inline int wait_exit(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct Pki {
  std::string dir;
  std::string ca() const { return dir + "/ca.pem"; }
};

inline Pki make_pki(const std::string& base) {
  Pki p{base + "/pki"};
  auto r = run({tapir_bin(), "certs", "init", "--dir", p.dir, "--collector-name", "collector.test",
                "--agents", "1"},
               base);
  EXPECT_EQ(r.status, 0) << r.err;
  return p;
}

inline std::vector<std::string> collector_tls(const Pki& p) {
  return {"--cert", p.dir + "/collector.pem", "--key", p.dir + "/collector.key", "--ca", p.ca()};
}

inline std::vector<std::string> agent_argv(const std::string& capture, const std::string& address,
                                    const Pki& p, const std::string& spool,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {agent_bin(), "-r", capture, "--replay", "realtime", "-c", address,
                                "--ca", p.ca(), "--cert", p.dir + "/agents/agent-1.pem", "--key",
                                p.dir + "/agents/agent-1.key", "--spool-dir", spool,
                                "--batch-delay-ms", "200"};
  if (std::find(extra.begin(), extra.end(), "--batch-events") == extra.end())
    a.insert(a.end(), {"--batch-events", "50"});
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

inline long metric(const CollectorProcess& c, const std::string& series) {
  std::string body;
  std::string cmd = "curl -s http://127.0.0.1:" + std::to_string(c.api_port()) + "/metrics";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) body.append(buf, n);
  ::pclose(f);
  auto p = body.find("\n" + series + " ");
  return p == std::string::npos ? -1 : std::atol(body.c_str() + p + series.size() + 2);
}

}  // namespace tapir::agent::test
