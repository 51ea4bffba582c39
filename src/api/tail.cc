#include "api/tail.h"

#include <cstdio>

#include "api/render.h"

namespace tapir::api {

using nlohmann::json;

TailHub::TailHub(store::Store& store, TailOptions options) : store_(store), opt_(options) {}

TailHub::~TailHub() { stop(); }

void TailHub::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock guard(mu_);
    while (!stopping_) {
      guard.unlock();
      bool more = poll_once();
      guard.lock();
      if (!more) cv_.wait_for(guard, opt_.poll, [this] { return stopping_; });
    }
  });
}

void TailHub::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TailHub::attach(const TailSpec& spec, const std::weak_ptr<TailSink>& sink) {
  std::lock_guard lk(mu_);
  for (const auto& part : spec.parts) {
    auto [it, created] = groups_.try_emplace(part.key);
    Group& g = it->second;
    if (created) {
      g.query = part.query;
      g.query.sort_column = 0;
      g.query.descending = false;
      g.query.offset = 0;
      g.query.limit = opt_.batch;
      g.query.count_total = false;
      g.cursor = part.after;
      g.query.filters.push_back({0, store::Op::kGt, {store::Value(part.after)}});
    }
    g.members.push_back({sink, std::max(part.after, g.cursor)});
  }
}

bool TailHub::poll_once() {
  struct Job {
    std::string key;
    store::Query query;
  };
  std::vector<Job> jobs;
  {
    std::lock_guard lk(mu_);
    for (auto it = groups_.begin(); it != groups_.end();) {
      std::erase_if(it->second.members, [](const Member& m) { return m.sink.expired(); });
      if (it->second.members.empty()) {
        it = groups_.erase(it);
        continue;
      }
      it->second.query.filters.back().values[0] = store::Value(it->second.cursor);
      jobs.push_back({it->first, it->second.query});
      ++it;
    }
  }
  bool more = false;
  std::vector<std::pair<std::shared_ptr<TailSink>, std::shared_ptr<const std::string>>> out;
  for (auto& job : jobs) {
    store::Rows rows;
    try {
      rows = store_.query(job.query);
    } catch (const std::exception& e) {
      if (poll_errors_.fetch_add(1) % 100 == 0)
        std::fprintf(stderr, "tapir-collector: live tail poll: %s\n", e.what());
      continue;
    }
    polls_.fetch_add(1);
    if (rows.rows.empty()) continue;
    if (static_cast<int64_t>(rows.rows.size()) >= opt_.batch) more = true;
    const auto& r = *job.query.resource;
    // Each event rendered once; `starts[i]` is where row i begins in `all`.
    auto all = std::make_shared<std::string>();
    std::vector<size_t> starts;
    std::vector<int64_t> ids;
    for (const auto& row : rows.rows) {
      int64_t id = std::get<int64_t>(row[0]);
      starts.push_back(all->size());
      ids.push_back(id);
      *all += "event: " + r.name + "\nid: " + std::to_string(id) + "\ndata: " +
              row_json(r, rows.columns, row).dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
    }
    std::shared_ptr<const std::string> shared = all;
    std::lock_guard lk(mu_);
    auto it = groups_.find(job.key);
    if (it == groups_.end()) continue;
    Group& g = it->second;
    g.cursor = std::max(g.cursor, ids.back());
    for (auto& m : g.members) {
      if (m.after >= ids.back()) continue;
      auto sink = m.sink.lock();
      if (!sink) continue;
      if (m.after < ids.front()) {
        out.emplace_back(std::move(sink), shared);
      } else {
        size_t i = 0;
        while (ids[i] <= m.after) ++i;
        out.emplace_back(std::move(sink), std::make_shared<const std::string>(all->substr(starts[i])));
      }
      m.after = ids.back();
    }
  }
  for (auto& [sink, text] : out) sink->deliver(std::move(text));
  return more;
}

size_t TailHub::groups() const {
  std::lock_guard lk(mu_);
  return groups_.size();
}

size_t TailHub::members() const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& [k, g] : groups_)
    for (const auto& m : g.members) n += m.sink.expired() ? 0 : 1;
  return n;
}

}  // namespace tapir::api
