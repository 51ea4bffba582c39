// Runs a capture through the real pipeline (capture -> decoder -> flows ->
// analyzers) into a MemorySink.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "capture/source.h"
#include "export/memory_sink.h"
#include "pipeline/engine.h"

namespace tapir::testing {

// Events of the given types (all when empty) from the named analyzers; `err`
// is set when the capture cannot be opened or read to its end.
inline std::vector<v1::Event> run_capture(const std::string& path,
                                          const std::vector<std::string>& analyzers,
                                          std::set<v1::Event::BodyCase> types, std::string& err) {
  exporter::MemorySink sink(std::move(types));
  pipeline::EngineConfig cfg;
  cfg.analyzers = analyzers;
  pipeline::Engine engine(cfg, sink);
  auto src = capture::open_file(path, err);
  if (!src) return {};
  decode::RawFrame f;
  for (;;) {
    const capture::ReadStatus st = src->next(f);
    if (st == capture::ReadStatus::kFrame) {
      engine.process(f);
      continue;
    }
    if (st == capture::ReadStatus::kError) err = src->error();
    break;
  }
  engine.finish();
  return sink.take();
}

}  // namespace tapir::testing
