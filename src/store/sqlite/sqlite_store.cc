// SQLite backend: one table per resource, WAL, one writer connection with
// prepared statements and large transactions, a small pool of readers.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "store/store.h"

namespace tapir::store {
namespace {

using schema::ColType;
using schema::Column;
using schema::Resource;

// Sequences above the contiguous one remembered per agent. Agents send in
// order, so this only holds batches that overtook a gap (resend after a
// reconnect); beyond it the gap is taken as lost for good and skipped.
constexpr size_t kMaxRecentSequences = 4096;

// Busy timeout: several collectors may share one database file, and a reader
// may checkpoint; wait this long for a lock before failing the transaction.
constexpr int kBusyTimeoutMs = 10000;

// A size-retention round deletes at most this share of each table's rows, so
// one round never empties a table that is only slightly over the limit.
constexpr int64_t kSizeRetentionDivisor = 10;

std::string quote_ident(const std::string& s) { return "\"" + s + "\""; }

// INSERT of every column but id, in column order.
std::string insert_sql(const Resource& r) {
  std::string cols, qs;
  for (size_t i = 1; i < r.columns.size(); ++i) {
    cols += (i > 1 ? "," : "") + quote_ident(r.columns[i].name);
    qs += i > 1 ? ",?" : "?";
  }
  return "INSERT INTO " + quote_ident(r.name) + "(" + cols + ") VALUES(" + qs + ")";
}


ErrorCause cause_of(int rc) {
  switch (rc & 0xff) {  // the primary result code of an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCause::kBusy;
    case SQLITE_FULL:
      return ErrorCause::kFull;
    case SQLITE_IOERR:
      return ErrorCause::kIo;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCause::kCorrupt;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return ErrorCause::kReadonly;
    default:
      return ErrorCause::kOther;
  }
}

ErrorCause cause_of(sqlite3* db) { return cause_of(sqlite3_extended_errcode(db)); }

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &s_, nullptr) != SQLITE_OK)
      throw StoreError("sqlite prepare failed: " + std::string(sqlite3_errmsg(db)) + " in " + sql);
  }
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  Stmt(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  sqlite3_stmt* get() { return s_; }
  // SQLITE_TRANSIENT copies text; SQLITE_STATIC is for values that stay put
  // until the statement is stepped and reset.
  void bind(int i, const Value& v, sqlite3_destructor_type text_lifetime = SQLITE_TRANSIENT) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::monostate>(v))
      rc = sqlite3_bind_null(s_, i);
    else if (auto* n = std::get_if<int64_t>(&v))
      rc = sqlite3_bind_int64(s_, i, *n);
    else if (auto* d = std::get_if<double>(&v))
      rc = sqlite3_bind_double(s_, i, *d);
    else {
      const auto& s = std::get<std::string>(v);
      rc = sqlite3_bind_text(s_, i, s.data(), static_cast<int>(s.size()), text_lifetime);
    }
    if (rc != SQLITE_OK) throw StoreError("sqlite bind failed");
  }
  Value column(int i) {
    switch (sqlite3_column_type(s_, i)) {
      case SQLITE_INTEGER:
        return sqlite3_column_int64(s_, i);
      case SQLITE_FLOAT:
        return sqlite3_column_double(s_, i);
      case SQLITE_NULL:
        return std::monostate{};
      default: {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
        return std::string(t ? t : "", static_cast<size_t>(sqlite3_column_bytes(s_, i)));
      }
    }
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    throw StoreError("sqlite: " + m + " in: " + sql, cause_of(db));
  }
}

void step_done(sqlite3* db, Stmt& s) {
  int rc = sqlite3_step(s.get());
  sqlite3_reset(s.get());
  sqlite3_clear_bindings(s.get());
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw StoreError("sqlite: " + std::string(sqlite3_errmsg(db)), cause_of(rc));
}

sqlite3* open_db(const std::string& path, bool readonly) {
  sqlite3* db = nullptr;
  int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw StoreError("cannot open database " + path + ": " + m, ErrorCause::kReadonly);
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return db;
}

// Ingest touches index pages at random (addresses, Community IDs): with
// SQLite's default 2 MB page cache nearly every index insert re-reads a page
// through pread(). A larger cache keeps the indexes' upper levels and hot
// leaves resident; memory-mapped reads avoid the copy for the rest; and a
// larger WAL before each checkpoint writes a page rewritten by many commits
// into the database once instead of once per checkpoint.
void tune_writer(sqlite3* db, const SqliteOptions& o) {
  exec(db, "PRAGMA cache_size=-" + std::to_string(o.writer_cache_mib * 1024));
  exec(db, "PRAGMA mmap_size=" + std::to_string(o.mmap_mib << 20));
  exec(db, "PRAGMA wal_autocheckpoint=" + std::to_string(o.wal_checkpoint_pages));
  exec(db, "PRAGMA temp_store=MEMORY");
}

const char* op_sql(Op op) {
  switch (op) {
    case Op::kEq:
      return " = ?";
    case Op::kNe:
      return " IS NOT ?";
    case Op::kLt:
      return " < ?";
    case Op::kLte:
      return " <= ?";
    case Op::kGt:
      return " > ?";
    case Op::kGte:
      return " >= ?";
    case Op::kLike:
      return " LIKE ? ESCAPE '\\'";
    case Op::kIn:
      return " IN ";
  }
  return " = ?";
}

// WHERE clause from validated filters; values appended to `binds`.
std::string where_sql(const Resource& r, const std::vector<Filter>& filters, const std::string& text,
                      std::vector<Value>& binds) {
  std::string w;
  auto add = [&w](const std::string& part) { w += (w.empty() ? " WHERE " : " AND ") + part; };
  for (const auto& f : filters) {
    std::string part = quote_ident(r.columns[static_cast<size_t>(f.column)].name) + op_sql(f.op);
    if (f.op == Op::kIn) {
      part += "(";
      for (size_t i = 0; i < f.values.size(); ++i) part += i ? ",?" : "?";
      part += ")";
      for (const auto& v : f.values) binds.push_back(v);
    } else {
      binds.push_back(f.values.empty() ? Value{} : f.values[0]);
    }
    add(part);
  }
  if (!text.empty()) {
    std::string part;
    for (const auto& c : r.columns) {
      if (c.type != ColType::kText || c.source != schema::ColSource::kField) continue;
      part += (part.empty() ? "(" : " OR ") + quote_ident(c.name) + " LIKE ? ESCAPE '\\'";
      binds.emplace_back(text);
    }
    if (!part.empty()) add(part + ")");
  }
  return w;
}

struct DedupState {
  uint64_t contiguous = 0;
  std::set<uint64_t> recent;
  bool dirty = false;
};

std::string encode_recent(const std::set<uint64_t>& s) {
  std::string out;
  for (auto v : s) {
    if (!out.empty()) out += ',';
    out += std::to_string(v);
  }
  return out;
}

std::set<uint64_t> decode_recent(const std::string& text) {
  std::set<uint64_t> out;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end && out.size() < kMaxRecentSequences) {
    uint64_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc()) break;
    out.insert(v);
    p = next;
    if (p < end && *p == ',') ++p;
  }
  return out;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, SqliteOptions opt) : path_(std::move(path)), opt_(opt) {}
  ~SqliteStore() override {
    // close_v2: the member statements are finalized only after this body
    // runs; plain sqlite3_close would fail with SQLITE_BUSY and leak the
    // connection, close_v2 releases it once the last statement is gone.
    inserts_.clear();
    for (auto* db : readers_) sqlite3_close_v2(db);
    if (db_) sqlite3_close_v2(db_);
  }

  void setup() override {
    if (db_) return;  // open_sqlite() already set up this store
    db_ = open_db(path_, false);
    exec(db_, "PRAGMA journal_mode=WAL");
    exec(db_, opt_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    tune_writer(db_, opt_);
    exec(db_, "BEGIN IMMEDIATE");
    try {
      migrate();
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    for (const auto& r : schema::Model::get().resources()) {
      if (!r.event_field) continue;
      inserts_.emplace(r.event_field->number(), Stmt(db_, insert_sql(r)));
    }
    reject_insert_ = Stmt(db_, insert_sql(schema::Model::get().rejects()));
    dedup_get_ = Stmt(db_, "SELECT contiguous, recent FROM _ingest WHERE agent_id = ? AND instance = ?");
    dedup_put_ = Stmt(db_,
                      "INSERT OR REPLACE INTO _ingest(agent_id, instance, contiguous, recent) VALUES(?,?,?,?)");
    count_add_ = Stmt(db_, "UPDATE _counts SET n = n + ? WHERE tbl = ?");
    for (int i = 0; i < std::max(1, opt_.readers); ++i) {
      readers_.push_back(open_db(path_, true));
      exec(readers_.back(), "PRAGMA mmap_size=" + std::to_string(opt_.mmap_mib << 20));
    }
    free_readers_ = readers_;
  }

  InsertResult insert(const std::vector<BatchIn>& batches) override {
    std::lock_guard lock(write_mu_);
    InsertResult res;
    res.outcomes.resize(batches.size());
    exec(db_, "BEGIN IMMEDIATE");
    try {
      // Keyed by (agent, instance): each sequence space has its own state.
      std::map<std::pair<std::string, std::string>, DedupState> states;
      std::unordered_map<const Resource*, int64_t> added;
      std::vector<Value> row;
      int64_t now = static_cast<int64_t>(wall_now());
      for (size_t bi = 0; bi < batches.size(); ++bi) {
        const auto& b = batches[bi];
        auto key = std::make_pair(b.agent_id, b.instance);
        auto it = states.find(key);
        if (it == states.end()) it = states.emplace(key, load_state(b.agent_id, b.instance)).first;
        DedupState& st = it->second;
        if (b.dedup && (b.sequence <= st.contiguous || st.recent.count(b.sequence))) {
          res.outcomes[bi].duplicate = true;
          ++res.duplicates;
          continue;
        }
        if (b.rejects) {
          const Resource& rr = schema::Model::get().rejects();
          for (const auto& rej : *b.rejects) {
            row.clear();
            row.emplace_back(b.agent_id);
            row.emplace_back(now);
            schema::Model::extract(rr, rej, row);
            for (size_t i = 0; i < row.size(); ++i)
              reject_insert_.bind(static_cast<int>(i + 1), row[i], SQLITE_STATIC);
            step_done(db_, reject_insert_);
            ++res.outcomes[bi].rejects;
            ++added[&rr];
          }
          res.rejects += res.outcomes[bi].rejects;
        }
        for (const auto& ev : b.batch->events()) {
          int field = static_cast<int>(ev.body_case());
          const Resource* r = schema::Model::get().find(field);
          if (!r) continue;  // empty event: nothing to store
          const auto& body = ev.GetReflection()->GetMessage(ev, r->event_field);
          row.clear();
          row.emplace_back(b.agent_id);
          row.emplace_back(now);
          schema::Model::extract(*r, body, row);
          Stmt& s = inserts_.at(field);
          // `row` outlives the step: SQLite may point at its text instead of copying it.
          for (size_t i = 0; i < row.size(); ++i) s.bind(static_cast<int>(i + 1), row[i], SQLITE_STATIC);
          step_done(db_, s);
          ++res.outcomes[bi].events;
          ++added[r];
        }
        res.events += res.outcomes[bi].events;
        if (!b.dedup) continue;
        st.recent.insert(b.sequence);
        while (!st.recent.empty() && *st.recent.begin() <= st.contiguous + 1) {
          st.contiguous = std::max(st.contiguous, *st.recent.begin());
          st.recent.erase(st.recent.begin());
        }
        while (st.recent.size() > kMaxRecentSequences) {
          st.contiguous = *st.recent.begin();
          st.recent.erase(st.recent.begin());
        }
        st.dirty = true;
      }
      for (const auto& [r, n] : added) add_count(*r, n);
      for (auto& [key, st] : states) {
        if (!st.dirty) continue;
        dedup_put_.bind(1, key.first);
        dedup_put_.bind(2, key.second);
        dedup_put_.bind(3, static_cast<int64_t>(st.contiguous));
        dedup_put_.bind(4, encode_recent(st.recent));
        step_done(db_, dedup_put_);
      }
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    return res;
  }

  Rows query(const Query& q) override {
    Reader rd(this);
    const Resource& r = *q.resource;
    Rows out;
    out.columns = q.fields;
    if (out.columns.empty())
      for (size_t i = 0; i < r.columns.size(); ++i) out.columns.push_back(static_cast<int>(i));
    std::vector<Value> binds;
    std::string where = where_sql(r, q.filters, q.text, binds);
    std::string cols;
    for (size_t i = 0; i < out.columns.size(); ++i)
      cols += (i ? "," : "") + quote_ident(r.columns[static_cast<size_t>(out.columns[i])].name);
    std::string sql = "SELECT " + cols + " FROM " + quote_ident(r.name) + where + " ORDER BY " +
                      quote_ident(r.columns[static_cast<size_t>(q.sort_column)].name) +
                      (q.descending ? " DESC" : " ASC");
    if (q.sort_column != 0) sql += std::string(", id") + (q.descending ? " DESC" : " ASC");
    sql += " LIMIT ? OFFSET ?";
    Stmt s(rd.db, sql);
    int i = 1;
    for (const auto& v : binds) s.bind(i++, v);
    s.bind(i++, Value(q.limit));
    s.bind(i++, Value(q.offset));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      std::vector<Value> row;
      row.reserve(out.columns.size());
      for (size_t c = 0; c < out.columns.size(); ++c) row.push_back(s.column(static_cast<int>(c)));
      out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) throw StoreError("sqlite: " + std::string(sqlite3_errmsg(rd.db)));
    if (q.count_total && q.filters.empty() && q.text.empty()) {
      out.total = stored_count(rd.db, r);
    } else if (q.count_total) {
      Stmt c(rd.db, "SELECT COUNT(*) FROM " + quote_ident(r.name) + where);
      int j = 1;
      for (const auto& v : binds) c.bind(j++, v);
      if (sqlite3_step(c.get()) == SQLITE_ROW) out.total = sqlite3_column_int64(c.get(), 0);
    }
    return out;
  }

  AggRows aggregate(const AggregateQuery& q) override {
    Reader rd(this);
    const Resource& r = *q.resource;
    AggRows out;
    std::string select, group;
    if (q.bucket_ns > 0) {
      select = "(\"ts\" / " + std::to_string(q.bucket_ns) + ") * " + std::to_string(q.bucket_ns) +
               " AS \"bucket\"";
      group = "\"bucket\"";
      out.names.push_back("bucket");
    }
    for (int g : q.group_by) {
      const auto& name = r.columns[static_cast<size_t>(g)].name;
      select += (select.empty() ? "" : ",") + quote_ident(name);
      group += (group.empty() ? "" : ",") + quote_ident(name);
      out.names.push_back(name);
    }
    for (const auto& m : q.metrics) {
      std::string col = m.column >= 0 ? quote_ident(r.columns[static_cast<size_t>(m.column)].name) : "";
      std::string e;
      switch (m.fn) {
        case Metric::kCount:
          e = "COUNT(*)";
          break;
        case Metric::kSum:
          e = "SUM(" + col + ")";
          break;
        case Metric::kAvg:
          e = "AVG(" + col + ")";
          break;
        case Metric::kMin:
          e = "MIN(" + col + ")";
          break;
        case Metric::kMax:
          e = "MAX(" + col + ")";
          break;
      }
      select += (select.empty() ? "" : ",") + e + " AS " + quote_ident(m.name);
      out.names.push_back(m.name);
    }
    std::vector<Value> binds;
    std::string sql = "SELECT " + select + " FROM " + quote_ident(r.name) +
                      where_sql(r, q.filters, q.text, binds);
    if (!group.empty()) sql += " GROUP BY " + group;
    std::string sort = q.sort.empty() ? (q.metrics.empty() ? out.names[0] : q.metrics[0].name) : q.sort;
    sql += " ORDER BY " + quote_ident(sort) + (q.descending ? " DESC" : " ASC");
    for (const auto& n : out.names)
      if (n != sort) sql += "," + quote_ident(n) + " ASC";
    sql += " LIMIT ?";
    Stmt s(rd.db, sql);
    int i = 1;
    for (const auto& v : binds) s.bind(i++, v);
    s.bind(i++, Value(q.limit));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      std::vector<Value> row;
      for (size_t c = 0; c < out.names.size(); ++c) row.push_back(s.column(static_cast<int>(c)));
      out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) throw StoreError("sqlite: " + std::string(sqlite3_errmsg(rd.db)));
    return out;
  }

  int64_t apply_retention(const Retention& ret, TimeNs now) override {
    std::lock_guard lock(write_mu_);
    int64_t deleted = 0;
    if (ret.max_age_ns > 0) {
      exec(db_, "BEGIN IMMEDIATE");
      try {
        for (const auto& r : schema::Model::get().resources()) {
          Stmt s(db_, "DELETE FROM " + quote_ident(r.name) + " WHERE \"ts\" < ?");
          s.bind(1, Value(static_cast<int64_t>(now - ret.max_age_ns)));
          step_done(db_, s);
          deleted += sqlite3_changes(db_);
          add_count(r, -sqlite3_changes(db_));
        }
        exec(db_, "COMMIT");
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
    if (ret.max_bytes > 0 && used_bytes(db_) > ret.max_bytes) {
      exec(db_, "BEGIN IMMEDIATE");
      try {
        for (const auto& r : schema::Model::get().resources()) {
          std::string t = quote_ident(r.name);
          exec(db_, "DELETE FROM " + t + " WHERE id <= (SELECT MIN(id) + (MAX(id) - MIN(id)) / " +
                        std::to_string(kSizeRetentionDivisor) + " FROM " + t + ")");
          deleted += sqlite3_changes(db_);
          add_count(r, -sqlite3_changes(db_));
        }
        exec(db_, "COMMIT");
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
    return deleted;
  }

  Stats stats() override {
    Reader rd(this);
    Stats st;
    for (const auto& r : schema::Model::get().resources()) st.rows[r.name] = stored_count(rd.db, r);
    st.bytes = used_bytes(rd.db);
    Stmt a(rd.db, "SELECT agent_id, instance, contiguous FROM _ingest");
    while (sqlite3_step(a.get()) == SQLITE_ROW) {
      std::string key = reinterpret_cast<const char*>(sqlite3_column_text(a.get(), 0));
      std::string instance = reinterpret_cast<const char*>(sqlite3_column_text(a.get(), 1));
      if (!instance.empty()) key += "/" + instance;
      st.agents[key] = static_cast<uint64_t>(sqlite3_column_int64(a.get(), 2));
    }
    return st;
  }

  void put_token(const std::string& name, const std::string& hash) override {
    std::lock_guard lock(write_mu_);
    Stmt s(db_, "INSERT OR REPLACE INTO _tokens(name, hash, created) VALUES(?,?,?)");
    s.bind(1, name);
    s.bind(2, hash);
    s.bind(3, Value(static_cast<int64_t>(wall_now())));
    step_done(db_, s);
  }

  bool has_token_hash(const std::string& hash) override {
    Reader rd(this);
    Stmt s(rd.db, "SELECT 1 FROM _tokens WHERE hash = ?");
    s.bind(1, hash);
    return sqlite3_step(s.get()) == SQLITE_ROW;
  }

 private:
  // Borrows a read connection for the scope of one call.
  struct Reader {
    explicit Reader(SqliteStore* st) : s(st) {
      std::unique_lock lock(s->reader_mu_);
      s->reader_cv_.wait(lock, [this] { return !s->free_readers_.empty(); });
      db = s->free_readers_.back();
      s->free_readers_.pop_back();
    }
    ~Reader() {
      std::lock_guard lock(s->reader_mu_);
      s->free_readers_.push_back(db);
      s->reader_cv_.notify_one();
    }
    SqliteStore* s;
    sqlite3* db = nullptr;
  };

  static int64_t pragma_int(sqlite3* db, const char* pragma) {
    Stmt s(db, std::string("PRAGMA ") + pragma);
    return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
  }
  static int64_t used_bytes(sqlite3* db) {
    return (pragma_int(db, "page_count") - pragma_int(db, "freelist_count")) *
           pragma_int(db, "page_size");
  }

  DedupState load_state(const std::string& agent, const std::string& instance) {
    DedupState st;
    dedup_get_.bind(1, agent);
    dedup_get_.bind(2, instance);
    if (sqlite3_step(dedup_get_.get()) == SQLITE_ROW) {
      st.contiguous = static_cast<uint64_t>(sqlite3_column_int64(dedup_get_.get(), 0));
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(dedup_get_.get(), 1));
      st.recent = decode_recent(t ? t : "");
    }
    sqlite3_reset(dedup_get_.get());
    sqlite3_clear_bindings(dedup_get_.get());
    return st;
  }

  // Rows per table, kept in _counts by the writer in the same transaction as
  // the rows themselves: an unfiltered list page (the UI's landing view)
  // needs its X-Total-Count, and COUNT(*) walks a whole index (a second on
  // ten million rows).
  void add_count(const Resource& r, int64_t n) {
    if (n == 0) return;
    Stmt& s = count_add_;
    s.bind(1, Value(n));
    s.bind(2, Value(r.name));
    step_done(db_, s);
  }

  static int64_t stored_count(sqlite3* db, const Resource& r) {
    Stmt s(db, "SELECT n FROM _counts WHERE tbl = ?");
    s.bind(1, Value(r.name));
    return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
  }

  bool column_exists(const std::string& table, const std::string& column) {
    Stmt s(db_, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
    s.bind(1, table);
    s.bind(2, column);
    return sqlite3_step(s.get()) == SQLITE_ROW;
  }

  bool table_exists(const std::string& name) {
    Stmt s(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?");
    s.bind(1, name);
    return sqlite3_step(s.get()) == SQLITE_ROW;
  }

  void migrate() {
    exec(db_, "CREATE TABLE IF NOT EXISTS _meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    {
      Stmt s(db_, "SELECT value FROM _meta WHERE key='layout_version'");
      if (sqlite3_step(s.get()) == SQLITE_ROW) {
        int v = sqlite3_column_int(s.get(), 0);
        if (v > kLayoutVersion)
          throw StoreError("database " + path_ + " has layout version " + std::to_string(v) +
                           ", newer than this collector supports (" +
                           std::to_string(kLayoutVersion) + "); upgrade tapir-collector");
        if (v < 1)
          throw StoreError("database " + path_ + " has an unknown layout version " +
                           std::to_string(v) + "; refusing to modify it");
      }
    }
    exec(db_, "INSERT OR REPLACE INTO _meta(key, value) VALUES('layout_version', '" +
                  std::to_string(kLayoutVersion) + "')");
    exec(db_, "CREATE TABLE IF NOT EXISTS _counts(tbl TEXT PRIMARY KEY, n INTEGER NOT NULL)");
    // De-duplication state per (agent, instance). Layout 1 keyed it by agent
    // alone: its rows become the agent's state for batches without an instance.
    if (table_exists("_ingest") && !column_exists("_ingest", "instance")) {
      exec(db_, "ALTER TABLE _ingest RENAME TO _ingest_v1");
    }
    exec(db_,
         "CREATE TABLE IF NOT EXISTS _ingest(agent_id TEXT NOT NULL, instance TEXT NOT NULL DEFAULT '', "
         "contiguous INTEGER NOT NULL, recent TEXT NOT NULL, PRIMARY KEY(agent_id, instance))");
    if (table_exists("_ingest_v1")) {
      exec(db_, "INSERT INTO _ingest(agent_id, instance, contiguous, recent) "
                "SELECT agent_id, '', contiguous, recent FROM _ingest_v1");
      exec(db_, "DROP TABLE _ingest_v1");
    }
    exec(db_,
         "CREATE TABLE IF NOT EXISTS _tokens(name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, "
         "created INTEGER)");
    for (const auto& r : schema::Model::get().resources()) {
      std::string t = quote_ident(r.name);
      if (!table_exists(r.name)) {
        std::string cols = "\"id\" INTEGER PRIMARY KEY";
        for (size_t i = 1; i < r.columns.size(); ++i)
          cols += "," + quote_ident(r.columns[i].name) + " " + schema::col_sql_type(r.columns[i].type);
        exec(db_, "CREATE TABLE " + t + "(" + cols + ")");
      } else {
        std::unordered_map<std::string, std::string> have;
        Stmt s(db_, "PRAGMA table_info(" + t + ")");
        while (sqlite3_step(s.get()) == SQLITE_ROW)
          have[reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1))] =
              reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 2));
        for (size_t i = 1; i < r.columns.size(); ++i) {
          const auto& c = r.columns[i];
          auto it = have.find(c.name);
          if (it == have.end()) {
            exec(db_, "ALTER TABLE " + t + " ADD COLUMN " + quote_ident(c.name) + " " +
                          schema::col_sql_type(c.type));
          } else if (it->second != schema::col_sql_type(c.type)) {
            throw StoreError("database " + path_ + ": column " + r.name + "." + c.name +
                             " has type " + it->second + ", expected " +
                             schema::col_sql_type(c.type) + "; refusing to start");
          }
        }
      }
      // Time-range queries and retention use ts. Addresses are what people
      // filter on most, nearly always with a time range and newest first, so
      // their indexes carry ts too: `dst_ip = ? AND ts >= ?` ordered by ts is
      // one index range instead of every flow of that address. The Community
      // ID is a point lookup. agent_id has too few distinct values for an
      // index to pay for its cost on every insert.
      if (r.find("ts")) exec(db_, "CREATE INDEX IF NOT EXISTS " + quote_ident(r.name + "_ts") + " ON " + t + "(\"ts\")");
      for (const char* col : {"src_ip", "dst_ip"}) {
        if (!r.find(col)) continue;
        // Layout before composite indexes: the single-column index is replaced.
        exec(db_, "DROP INDEX IF EXISTS " + quote_ident(r.name + "_" + col));
        exec(db_, "CREATE INDEX IF NOT EXISTS " + quote_ident(r.name + "_" + col + "_ts") + " ON " + t +
                      "(" + quote_ident(col) + (r.find("ts") ? ",\"ts\")" : ")"));
      }
      if (r.find("community_id"))
        exec(db_, "CREATE INDEX IF NOT EXISTS " + quote_ident(r.name + "_community_id") + " ON " + t +
                      "(\"community_id\")");
      // Row count for X-Total-Count, computed once for tables that predate _counts.
      Stmt has(db_, "SELECT 1 FROM _counts WHERE tbl = ?");
      has.bind(1, Value(r.name));
      if (sqlite3_step(has.get()) != SQLITE_ROW)
        exec(db_, "INSERT INTO _counts(tbl, n) SELECT '" + r.name + "', COUNT(*) FROM " + t);
    }
  }

  std::string path_;
  SqliteOptions opt_;
  sqlite3* db_ = nullptr;
  std::mutex write_mu_;
  std::unordered_map<int, Stmt> inserts_;
  Stmt reject_insert_, dedup_get_, dedup_put_, count_add_;
  std::vector<sqlite3*> readers_;
  std::vector<sqlite3*> free_readers_;
  std::mutex reader_mu_;
  std::condition_variable reader_cv_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite(const std::string& path, const SqliteOptions& options) {
  // SQLite's allocation statistics take a global mutex on every malloc and
  // free (4% of the collector's ingest profile); nothing reads them. Only
  // possible before SQLite initialises, so once, before the first open.
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  auto s = std::make_unique<SqliteStore>(path, options);
  s->setup();
  return s;
}

}  // namespace tapir::store
