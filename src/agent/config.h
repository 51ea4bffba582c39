// tapir-agent configuration: a YAML file and command-line flags, flags
// overriding the file. Both end up in one YAML tree that is checked in one
// place, so every error names the YAML key and the problem.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "agent/batching_sink.h"
#include "agent/exporter.h"
#include "flow/flow_table.h"

namespace tapir::agent {

struct CaptureConfig {
  std::vector<std::string> interfaces;
  std::vector<std::string> files;
  std::string filter;
  int snaplen = 262144;
  bool promiscuous = true;
  int buffer_mb = 32;
  // Files: false = as fast as possible, true = at the recorded pace.
  bool realtime = false;
};

struct AgentConfig {
  std::string config_file;
  std::string id;
  std::map<std::string, std::string> labels;
  CaptureConfig capture;
  std::vector<std::string> analyzers;
  uint32_t packet_sampling = 0;
  // Flow table limits and timeouts of each capture thread (flow.*).
  flow::FlowConfig flow;
  ExporterConfig exporter;
  BatchingConfig batching;
  std::string user;
  std::string group;
  // host:port for the Prometheus endpoint; empty = off.
  std::string metrics_listen;
  // Seconds to wait for the collector to acknowledge everything at exit.
  int drain_seconds = 5;
};

// The flags, kept as given so that only those on the command line override the file.
struct Flags {
  std::string config;
  std::vector<std::string> values;  // parallel to the flag table
};

// Adds every flag to `app`.
void add_flags(CLI::App& app, Flags& flags);
// Loads the file named by --config (if any), applies given flags and checks
// the result. false and `err` ("KEY: problem") on any error.
bool load_config(const CLI::App& app, const Flags& flags, AgentConfig& out, std::string& err);
// Same from YAML text (tests).
bool parse_config_yaml(const std::string& yaml, AgentConfig& out, std::string& err);

// Event type names as in the proto oneof (flow, dns, tls, ...); false if unknown.
bool event_type_from_name(const std::string& name, v1::Event::BodyCase& out);

}  // namespace tapir::agent
