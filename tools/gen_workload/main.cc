// tapir-gen-workload: writes a deterministic, realistic mixed-traffic pcap.
//
//   tapir-gen-workload --packets 1000000 --seed 1 --out workload.pcap [--flows 256]
//
// The counts of what was written (frames per protocol, sessions) go to stderr,
// or to --summary FILE as key<TAB>value lines.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "workload.h"

int main(int argc, char** argv) {
  CLI::App app{"tapir-gen-workload: write a deterministic mixed-traffic pcap"};
  tapir::workload::Options opt;
  std::string out;
  std::string summary;
  app.add_option("--packets,-n", opt.packets, "Frames to write")->capture_default_str();
  app.add_option("--seed,-s", opt.seed, "Seed; the same seed gives the same bytes")
      ->capture_default_str();
  app.add_option("--out,-o", out, "Output pcap file ('-' for stdout)")->required();
  app.add_option("--flows,-f", opt.flows, "Sessions in progress at once (interleaving)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--summary", summary, "Write the counts of what was generated to this file");
  std::string frame_tags;
  app.add_option("--frame-tags", frame_tags,
                 "Write each frame's number and protocol tag bits to this file");
  CLI11_PARSE(app, argc, argv);

  tapir::workload::Counts counts;
  std::string err = tapir::workload::write_pcap(opt, out, &counts, frame_tags);
  if (!err.empty()) {
    std::fprintf(stderr, "tapir-gen-workload: %s\n", err.c_str());
    return 1;
  }
  std::string tsv = counts.to_tsv();
  if (!summary.empty()) {
    FILE* f = std::fopen(summary.c_str(), "w");
    if (f == nullptr || std::fputs(tsv.c_str(), f) < 0 || std::fclose(f) != 0) {
      std::fprintf(stderr, "tapir-gen-workload: cannot write %s\n", summary.c_str());
      return 1;
    }
  } else {
    std::fputs(tsv.c_str(), stderr);
  }
  return 0;
}
