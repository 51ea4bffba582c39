// Live tails (Server-Sent Events) sharing one poll of the store per resource
// and filter: subscribers with the same resource and query are members of one
// group; one thread polls each group for rows above the group's cursor every
// `poll` interval, renders each batch of events once and hands the same text
// to every member. Polling (rather than hooking ingest) also shows rows
// written by other collectors sharing the database.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace tapir::api {

// One resource of a tail: the validated query (id order, without the
// "id above" condition, which the hub adds) and the newest id at connect time.
struct TailPart {
  std::string key;  // resource + canonical filters: equal keys share a poll
  store::Query query;
  int64_t after = 0;
};

struct TailSpec {
  std::vector<TailPart> parts;
};

// Where a group's events go: called on the hub's thread, must not block.
class TailSink {
 public:
  virtual ~TailSink() = default;
  virtual void deliver(std::shared_ptr<const std::string> events) = 0;
};

struct TailOptions {
  std::chrono::milliseconds poll{250};
  int64_t batch = 500;  // rows per group per query; a full batch is followed by another at once
};

class TailHub {
 public:
  TailHub(store::Store& store, TailOptions options = {});
  ~TailHub();
  TailHub(const TailHub&) = delete;
  TailHub& operator=(const TailHub&) = delete;

  void start();
  void stop();
  // Adds the sink to the group of each part (creating it if needed); it gets
  // rows above max(part.after, the group's cursor). The hub keeps only a weak
  // reference: a sink that is gone leaves its groups at the next poll.
  void attach(const TailSpec& spec, const std::weak_ptr<TailSink>& sink);
  // One round of polling every group (the thread calls this; tests may too).
  // Returns true when some group filled a whole batch.
  bool poll_once();

  size_t groups() const;
  size_t members() const;
  uint64_t polls() const { return polls_.load(); }
  uint64_t poll_errors() const { return poll_errors_.load(); }

 private:
  struct Member {
    std::weak_ptr<TailSink> sink;
    int64_t after = 0;
  };
  struct Group {
    store::Query query;  // last filter: id > cursor
    int64_t cursor = 0;
    std::vector<Member> members;
  };

  store::Store& store_;
  TailOptions opt_;
  mutable std::mutex mu_;
  std::map<std::string, Group> groups_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<uint64_t> polls_{0};
  std::atomic<uint64_t> poll_errors_{0};
};

}  // namespace tapir::api
