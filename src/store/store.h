// Where a collector keeps events, and how the API reads them back. Small on
// purpose: a backend sets up its schema from the column model, inserts batches
// idempotently, answers filtered/sorted/paged and aggregate queries, applies
// retention and reports its size. Queries arrive already validated against
// the column model (see api/query.h); backends only ever bind values.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"
#include "schema/columns.h"
#include "tapir/v1/events.pb.h"
#include "tapir/v1/reject.pb.h"

namespace tapir::store {

using schema::Value;

// Why a store operation failed, as far as the backend can tell; the collector
// counts failures per cause and retries the transient ones.
enum class ErrorCause : uint8_t {
  kBusy,      // another connection or process holds the lock past the busy timeout
  kFull,      // the disk or the database's size limit is full
  kIo,        // the operating system reported an I/O error
  kCorrupt,   // the file is damaged or not a database
  kReadonly,  // no permission to write (file mode, read-only mount)
  kOther,
};
constexpr int kErrorCauses = 6;
// The metric label of a cause.
inline const char* cause_name(ErrorCause c) {
  switch (c) {
    case ErrorCause::kBusy: return "busy";
    case ErrorCause::kFull: return "full";
    case ErrorCause::kIo: return "io";
    case ErrorCause::kCorrupt: return "corrupt";
    case ErrorCause::kReadonly: return "readonly";
    default: return "other";
  }
}

// A failure a user can act on (bad path, newer schema, disk full ...).
class StoreError : public std::runtime_error {
 public:
  explicit StoreError(const std::string& what, ErrorCause cause = ErrorCause::kOther)
      : std::runtime_error(what), cause_(cause) {}
  ErrorCause cause() const { return cause_; }

 private:
  ErrorCause cause_;
};

// One batch to store, from an authenticated agent.
struct BatchIn {
  BatchIn(std::string agent, uint64_t seq, const v1::EventBatch* b, std::string inst = {})
      : agent_id(std::move(agent)), sequence(seq), batch(b), instance(std::move(inst)) {}
  std::string agent_id;
  uint64_t sequence = 0;
  const v1::EventBatch* batch = nullptr;
  // The agent's sequence space (EventBatch.instance_id); batches are
  // de-duplicated on (agent_id, instance, sequence). Empty: older agents.
  std::string instance;
  // What the collector refused of this batch: written to the rejects table
  // in the same transaction as the events, and like them only once per key.
  const std::vector<v1::Reject>* rejects = nullptr;
  // False when the batch has no usable key (no sequence, unreadable
  // instance): stored without looking up or recording de-duplication state.
  bool dedup = true;
};

struct BatchOutcome {
  bool duplicate = false;  // already stored earlier: nothing written
  uint64_t events = 0;     // events written
  uint64_t rejects = 0;    // rejects written
};

struct InsertResult {
  std::vector<BatchOutcome> outcomes;  // one per input batch, same order
  uint64_t events = 0;
  uint64_t duplicates = 0;
  uint64_t rejects = 0;
};

enum class Op { kEq, kNe, kLt, kLte, kGt, kGte, kLike, kIn };

struct Filter {
  int column = 0;             // index into Resource::columns
  Op op = Op::kEq;
  std::vector<Value> values;  // one, or several for kIn; kLike: a LIKE pattern, '\' escapes
};

struct Query {
  const schema::Resource* resource = nullptr;
  std::vector<Filter> filters;
  std::string text;         // free text: LIKE pattern over the string columns, empty = none
  int sort_column = 0;      // default id
  bool descending = false;
  int64_t offset = 0;
  int64_t limit = 100;
  std::vector<int> fields;  // columns to return; empty = all
  bool count_total = true;  // also compute the number of matching rows
};

struct Rows {
  std::vector<int> columns;  // column indexes, in row order
  std::vector<std::vector<Value>> rows;
  int64_t total = -1;
};

enum class Metric { kCount, kSum, kAvg, kMin, kMax };

struct MetricSpec {
  Metric fn = Metric::kCount;
  int column = -1;   // -1 for count
  std::string name;  // "count", "sum:src_ip_bytes" ...
};

struct AggregateQuery {
  const schema::Resource* resource = nullptr;
  std::vector<Filter> filters;
  std::string text;
  std::vector<int> group_by;
  int64_t bucket_ns = 0;  // > 0: group by time bucket of ts as well ("bucket", first)
  std::vector<MetricSpec> metrics;
  std::string sort;       // an output column name; empty = first metric, descending
  bool descending = true;
  int64_t limit = 100;
};

struct AggRows {
  std::vector<std::string> names;  // output columns: [bucket], group columns, metrics
  std::vector<std::vector<Value>> rows;
};

struct Retention {
  TimeNs max_age_ns = 0;   // 0: keep forever
  int64_t max_bytes = 0;   // 0: unbounded
};

struct Stats {
  std::map<std::string, int64_t> rows;  // per resource
  int64_t bytes = 0;                    // space in use
  // "agent" or "agent/instance" -> highest contiguous stored sequence
  std::map<std::string, uint64_t> agents;
};

class Store {
 public:
  virtual ~Store() = default;
  // Creates the tables, or migrates an older layout by adding columns;
  // throws StoreError when the layout cannot be used (newer, incompatible).
  virtual void setup() = 0;
  // Stores the batches in one transaction. A batch whose (agent, sequence) is
  // already stored is skipped; the de-duplication state is written in the
  // same transaction, so it survives a crash exactly as the events do.
  virtual InsertResult insert(const std::vector<BatchIn>& batches) = 0;
  virtual Rows query(const Query& q) = 0;
  virtual AggRows aggregate(const AggregateQuery& q) = 0;
  // Deletes what retention asks for; returns the number of rows deleted.
  virtual int64_t apply_retention(const Retention& r, TimeNs now) = 0;
  virtual Stats stats() = 0;
  // API tokens, stored as hashes.
  virtual void put_token(const std::string& name, const std::string& hash) = 0;
  virtual bool has_token_hash(const std::string& hash) = 0;
};

struct SqliteOptions {
  // Read connections kept for concurrent API queries.
  int readers = 4;
  // synchronous=FULL makes each commit durable against power loss, NORMAL
  // only against process crashes (WAL); acks promise durability, so FULL.
  bool synchronous_full = true;
  // Page cache of the writing connection (index upkeep during ingest).
  int writer_cache_mib = 64;
  // Memory-mapped I/O for every connection (0: off).
  int64_t mmap_mib = 256;
  // WAL size (pages) at which the writer checkpoints into the database.
  int wal_checkpoint_pages = 8192;
};

std::unique_ptr<Store> open_sqlite(const std::string& path, const SqliteOptions& options = {});

// The layout version this build writes (bumped when a change is not a pure
// column addition).
constexpr int kLayoutVersion = 2;

}  // namespace tapir::store
