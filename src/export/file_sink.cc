#include "export/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "schema/json.h"

namespace tapir::exporter {

namespace {

// Output is handed to the OS in chunks of about this size: large enough that
// the system-call cost vanishes, small enough to stay in cache.
constexpr size_t kWriteChunk = 1u << 20;
// Events built in the arena before it is reset; a few hundred keep it within
// a few hundred kilobytes even for large TLS events.
constexpr uint32_t kEventsPerArena = 256;

const google::protobuf::OneofDescriptor* body_oneof() {
  return v1::Event::descriptor()->FindOneofByName("body");
}

void append_varint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

}  // namespace

std::string event_type_name(v1::Event::BodyCase type) {
  const auto* fd = v1::Event::descriptor()->FindFieldByNumber(static_cast<int>(type));
  return fd != nullptr ? fd->name() : std::string("unknown");
}

std::string event_type_names() {
  std::string s;
  const auto* o = body_oneof();
  for (int i = 0; i < o->field_count(); ++i) {
    if (i > 0) s += ',';
    s += o->field(i)->name();
  }
  return s;
}

bool parse_event_types(const std::string& list, EventTypes& out, std::string& err) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(pos, comma - pos);
    pos = comma + 1;
    if (name.empty()) continue;
    const auto* fd = v1::Event::descriptor()->FindFieldByName(name);
    if (fd == nullptr || fd->containing_oneof() != body_oneof()) {
      err = "unknown event type '" + name + "' (known: " + event_type_names() + ")";
      return false;
    }
    out.insert(static_cast<v1::Event::BodyCase>(fd->number()));
  }
  return true;
}

std::unique_ptr<FileSink> FileSink::open(const std::string& path, OutputFormat format,
                                         std::string& err) {
  if (path == "-" || path.empty())
    return std::unique_ptr<FileSink>(new FileSink(STDOUT_FILENO, false, "<stdout>", format));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<FileSink>(new FileSink(fd, true, path, format));
}

FileSink::FileSink(int fd, bool owns_fd, std::string path, OutputFormat format)
    : fd_(fd), owns_fd_(owns_fd), path_(std::move(path)), format_(format) {
  buf_.reserve(kWriteChunk + 64 * 1024);
}

FileSink::~FileSink() { close(); }

bool FileSink::wants(v1::Event::BodyCase type) const {
  return types_.empty() || types_.count(type) != 0;
}

v1::Event* FileSink::begin() {
  // The previous event was committed (the EventSink contract), so nothing
  // points into the arena any more.
  if (++arena_events_ >= kEventsPerArena) {
    arena_.Reset();
    arena_events_ = 0;
  }
  event_ = google::protobuf::Arena::CreateMessage<v1::Event>(&arena_);
  return event_;
}

void FileSink::commit(v1::Event* event) {
  const auto type = event->body_case();
  if (!wants(type) || !error_.empty()) return;
  if (format_ == OutputFormat::kJson) {
    schema::append_json(*event, buf_);
    buf_ += '\n';
  } else {
    const size_t n = event->ByteSizeLong();
    append_varint(n, buf_);
    const size_t at = buf_.size();
    buf_.resize(at + n);
    event->SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(buf_.data() + at));
  }
  const auto idx = static_cast<size_t>(type);
  if (idx < counts_.size()) ++counts_[idx];
  ++events_;
  if (buf_.size() >= kWriteChunk) write_out();
}

void FileSink::write_out() {
  size_t off = 0;
  while (off < buf_.size() && error_.empty()) {
    const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = path_ + ": " + std::strerror(errno);
      break;
    }
    off += static_cast<size_t>(n);
    bytes_ += static_cast<uint64_t>(n);
  }
  buf_.clear();
}

void FileSink::flush() { write_out(); }

bool FileSink::close() {
  if (fd_ < 0) return error_.empty();
  write_out();
  if (owns_fd_ && ::close(fd_) != 0 && error_.empty()) error_ = path_ + ": " + std::strerror(errno);
  fd_ = -1;
  return error_.empty();
}

uint64_t FileSink::count(v1::Event::BodyCase type) const {
  const auto idx = static_cast<size_t>(type);
  return idx < counts_.size() ? counts_[idx] : 0;
}

}  // namespace tapir::exporter
