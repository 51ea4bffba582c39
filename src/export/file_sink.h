// Event files: JSON lines or length-delimited protobuf, to a file or stdout.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include <google/protobuf/arena.h>

#include "export/sink.h"

namespace tapir::exporter {

enum class OutputFormat : uint8_t {
  kJson,      // one JSON object per line (schema/json.h)
  kProtobuf,  // per event: base-128 varint length, then the serialized tapir.v1.Event
};

using EventTypes = std::set<v1::Event::BodyCase>;

// "flow", "dns" ... : the names of tapir.v1.Event's `body` oneof fields.
std::string event_type_name(v1::Event::BodyCase type);
// Parses a comma-separated list of type names ("flow,dns"); false and `err` on an unknown name.
bool parse_event_types(const std::string& list, EventTypes& out, std::string& err);
// All type names, comma-separated, for help texts.
std::string event_type_names();

// Writes events in one of the formats above, buffered. Write errors (disk
// full, closed pipe) are remembered: later events are dropped and error()
// says what happened.
class FileSink : public EventSink {
 public:
  // `path` "-" is stdout. nullptr and `err` on failure.
  static std::unique_ptr<FileSink> open(const std::string& path, OutputFormat format,
                                        std::string& err);
  ~FileSink() override;

  // Keeps only events of these types (empty = all).
  void set_types(EventTypes types) { types_ = std::move(types); }

  bool wants(v1::Event::BodyCase type) const override;
  v1::Event* begin() override;
  void commit(v1::Event* event) override;
  void flush() override;

  // Flushes and closes; false if any write failed.
  bool close();
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Events written per type (indexed by BodyCase) and bytes written.
  uint64_t count(v1::Event::BodyCase type) const;
  uint64_t events() const { return events_; }
  uint64_t bytes() const { return bytes_; }

 private:
  FileSink(int fd, bool owns_fd, std::string path, OutputFormat format);
  void write_out();

  int fd_;
  bool owns_fd_;
  std::string path_;
  OutputFormat format_;
  EventTypes types_;
  // Events are built in an arena that is reset every few hundred events:
  // building and dropping them then costs no malloc/free per field.
  google::protobuf::Arena arena_;
  v1::Event* event_ = nullptr;
  uint32_t arena_events_ = 0;
  std::string buf_;
  std::string error_;
  std::array<uint64_t, 16> counts_{};
  uint64_t events_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace tapir::exporter
