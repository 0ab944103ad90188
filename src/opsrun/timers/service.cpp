#include "opsrun/timers/service.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "opsrun/common/log.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/timers/callback.h"

namespace opsrun::timers {

namespace {

struct Entry {
  std::int64_t due = 0;
  std::string id;
  bool operator>(const Entry& o) const { return due != o.due ? due > o.due : id > o.id; }
};

// One shard's near future: a min-heap of (due, id) and the rows it points at. A heap entry
// whose row is gone or has another due time is stale and skipped (lazy deletion).
struct Shard {
  std::mutex mu;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  std::unordered_map<std::string, store::TimerRow> near;
  std::unordered_set<std::string> firing;       // handed to delivery, outcome not yet stored
};

std::vector<double> lateness_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600};
}

}  // namespace

struct TimerService::Impl {
  Impl(Clock& c, store::Store& s, CallbackSender& snd, RunbookStarter st, metrics::Registry& r, ServiceOptions o)
      : clock(c),
        store(s),
        sender(snd),
        starter(std::move(st)),
        options(std::move(o)),
        creations(r.counter("timer_creations_total", "Timers created").with({})),
        creation_attempts(r.counter("timer_creation_attempts_total", "Timers asked to be created").with({})),
        creation_failures(r.counter("timer_creation_failures_total", "Timers refused or not stored").with({})),
        executions(r.counter("timer_executions_total", "Timer firings (each callback attempt or start)").with({})),
        executions_success(
            r.counter("timer_executions_success_total", "Timer firings that completed or rescheduled").with({})),
        callback_attempts(r.counter("callback_attempts_total", "Callback requests sent").with({})),
        callback_failures(r.counter("callback_failures_total", "Callback requests that failed").with({})),
        queue_size(r.gauge("timer_execution_queue_size", "Due timers waiting for a delivery worker").with({})),
        lateness(r.histogram("timer_lateness_seconds", "First firing time minus execute_at", {}, lateness_buckets())
                     .with({})),
        active(r.gauge("active_timers_total", "Pending timers", {"group_id"})) {}

  Clock& clock;
  store::Store& store;
  CallbackSender& sender;
  RunbookStarter starter;
  ServiceOptions options;
  metrics::Counter& creations;
  metrics::Counter& creation_attempts;
  metrics::Counter& creation_failures;
  metrics::Counter& executions;
  metrics::Counter& executions_success;
  metrics::Counter& callback_attempts;
  metrics::Counter& callback_failures;
  metrics::Gauge& queue_size;
  metrics::Histogram& lateness;
  metrics::GaugeFamily& active;

  std::array<Shard, kShards> shards;
  // Every pending timer due before loaded_until is in a shard (or being fired).
  std::mutex load_mu;
  std::atomic<std::int64_t> loaded_until{std::numeric_limits<std::int64_t>::min()};
  std::int64_t last_load_ms = std::numeric_limits<std::int64_t>::min();
  bool counted = false;

  std::mutex mu;  // dispatcher wake-up
  std::condition_variable cv;
  bool stopping = false;
  bool poked = false;
  std::atomic<std::int64_t> planned_wake{std::numeric_limits<std::int64_t>::max()};
  std::thread dispatcher;

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<store::TimerRow> queue;
  std::vector<std::thread> workers;

  Shard& shard(std::string_view id) { return shards[static_cast<std::size_t>(shard_of(id))]; }

  // Caller holds s.mu.
  static void hold(Shard& s, store::TimerRow row) {
    if (s.firing.contains(row.id)) return;
    auto it = s.near.find(row.id);
    if (it != s.near.end() && it->second.due_at_ms == row.due_at_ms) return;
    s.heap.push({row.due_at_ms, row.id});
    s.near[row.id] = std::move(row);
  }

  void poke(std::int64_t due) {
    if (due >= planned_wake.load()) return;
    std::lock_guard g(mu);
    poked = true;
    cv.notify_all();
  }

  Result<void> count_active() {
    store::TimerQuery q;
    q.status = "pending";
    q.limit = 10'000;
    std::unordered_map<std::string, double> counts;
    for (;;) {
      auto page = store.list_timers(q);
      if (!page) return std::unexpected(page.error());
      for (const auto& t : *page) counts[t.group_id] += 1;
      if (static_cast<int>(page->size()) < q.limit) break;
      q.after_id = page->back().id;
    }
    for (const auto& [g, n] : counts) active.with({g}).set(n);
    return {};
  }

  Result<void> load() {
    std::lock_guard g(load_mu);
    if (!counted) {
      if (auto r = count_active(); !r) return r;
      counted = true;
    }
    const std::int64_t now = to_unix_ms(clock.now());
    const std::int64_t before = now + options.horizon.count();
    auto rows = store.due_timers(before, options.load_limit);
    if (!rows) return std::unexpected(rows.error());
    const bool cut = static_cast<int>(rows->size()) >= options.load_limit;
    const std::int64_t until = cut ? rows->back().due_at_ms : before;
    std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
    int overdue = 0;
    for (auto& row : *rows) {
      earliest = std::min(earliest, row.due_at_ms);
      if (row.due_at_ms < now) ++overdue;
      Shard& s = shard(row.id);
      std::lock_guard sg(s.mu);
      hold(s, std::move(row));
    }
    if (overdue > 0 && last_load_ms == std::numeric_limits<std::int64_t>::min())
      log::warn("timers came due while opsrun was down; firing them now", {{"overdue", std::to_string(overdue)}});
    loaded_until = until;
    last_load_ms = now;
    if (!rows->empty()) poke(earliest);
    return {};
  }

  void maybe_load(std::int64_t now) {
    const bool short_window = now + options.horizon.count() / 2 >= loaded_until.load();
    bool recent = false;
    {
      std::lock_guard g(load_mu);
      recent = last_load_ms != std::numeric_limits<std::int64_t>::min() && now - last_load_ms < 1000;
    }
    if (!short_window || recent) return;
    if (auto r = load(); !r) log::error("timers not loaded from the store", {{"problem", r.error().describe()}});
  }

  std::vector<store::TimerRow> collect_due(std::int64_t now) {
    std::vector<store::TimerRow> out;
    for (Shard& s : shards) {
      std::lock_guard g(s.mu);
      while (!s.heap.empty() && s.heap.top().due <= now) {
        Entry e = s.heap.top();
        s.heap.pop();
        auto it = s.near.find(e.id);
        if (it == s.near.end() || it->second.due_at_ms != e.due) continue;
        s.firing.insert(e.id);
        out.push_back(std::move(it->second));
        s.near.erase(it);
      }
    }
    return out;
  }

  std::int64_t earliest_due() {
    std::int64_t best = std::numeric_limits<std::int64_t>::max();
    for (Shard& s : shards) {
      std::lock_guard g(s.mu);
      if (!s.heap.empty()) best = std::min(best, s.heap.top().due);
    }
    return best;
  }

  Decision deliver(const TimerSpec& spec, int attempt, SystemTime first_attempt) {
    if (spec.callback) {
      callback_attempts.inc();
      const CallbackResponse resp = sender.send(callback_request(spec, attempt));
      Decision d = judge(resp, spec.retry, attempt, first_attempt, clock.now());
      if (d.verdict == Verdict::Retry || d.verdict == Verdict::Fail) callback_failures.inc();
      return d;
    }
    if (!starter) return {Verdict::Fail, {}, "runbook timers are not served here (no engine)"};
    auto started = starter(spec, clock.now());
    if (started || started.error().code == ErrorCode::AlreadyExists) return {Verdict::Done, {}, {}};
    return judge_start(started.error(), spec.retry, attempt, first_attempt, clock.now());
  }

  // Delivers one due timer and returns its row as it should be stored next.
  store::TimerRow decide(store::TimerRow row) {
    const SystemTime now = clock.now();
    const std::int64_t now_ms = to_unix_ms(now);
    auto spec = from_row(row);
    const int attempt = row.attempts + 1;
    Decision d;
    if (!spec) {
      d = {Verdict::Fail, {}, spec.error().describe()};
    } else {
      if (!row.executed_at_ms) {
        row.executed_at_ms = now_ms;
        const double late = std::chrono::duration<double>(now - spec->execute_at).count();
        lateness.observe(std::max(0.0, late));
        if (late > 1.0)
          log::warn("timer fired late", {{"timer", row.id}, {"late_ms", std::to_string(now_ms - to_unix_ms(spec->execute_at))}});
      }
      executions.inc();
      d = deliver(*spec, attempt, from_unix_ms(*row.executed_at_ms));
    }
    row.attempts = attempt;
    switch (d.verdict) {
      case Verdict::Done:
        row.status = "fired";
        row.last_error.clear();
        executions_success.inc();
        break;
      case Verdict::Reschedule:
        executions_success.inc();
        spec->execute_at = d.next;
        spec->delay_ms.reset();
        row.payload = to_row(*spec, now).payload;
        row.due_at_ms = to_unix_ms(d.next);
        row.attempts = 0;
        row.executed_at_ms.reset();
        row.last_error.clear();
        break;
      case Verdict::Retry:
        row.due_at_ms = to_unix_ms(d.next);
        row.last_error = d.error;
        break;
      case Verdict::Fail:
        row.status = "failed";
        row.last_error = d.error;
        log::warn("timer failed", {{"timer", row.id}, {"problem", d.error}});
        break;
    }
    return row;
  }

  // Stores the outcomes of many firings in one transaction (one fsync), then lets their timers
  // be cancelled again and puts retries back into the near future. A failed write leaves them
  // pending in the store: the next load fires them again (at-least-once).
  void record(std::vector<store::TimerRow> rows) {
    if (rows.empty()) return;
    auto stored = store.update_timers(rows);
    if (!stored)
      log::error("timer outcomes not stored; they fire again",
                 {{"timers", std::to_string(rows.size())}, {"problem", stored.error().describe()}});
    for (auto& row : rows) {
      if (stored && row.status != "pending") active.with({row.group_id}).dec();
      Shard& s = shard(row.id);
      std::lock_guard g(s.mu);
      s.firing.erase(row.id);
      if (stored && row.status == "pending" && row.due_at_ms < loaded_until.load()) {
        const std::int64_t due = row.due_at_ms;
        hold(s, std::move(row));
        poke(due);
      }
    }
  }

  void dispatch_loop() {
    for (;;) {
      {
        std::lock_guard g(mu);
        if (stopping) return;
      }
      const std::int64_t now = to_unix_ms(clock.now());
      maybe_load(now);
      auto due = collect_due(now);
      if (!due.empty()) {
        std::lock_guard g(queue_mu);
        for (auto& row : due) queue.push_back(std::move(row));
        queue_size.set(static_cast<double>(queue.size()));
        queue_cv.notify_all();
      }
      std::int64_t wake = std::min(earliest_due(), now + options.horizon.count() / 4);
      wake = std::min(wake, std::max(now + 1000, loaded_until.load() - options.horizon.count() / 2));
      std::unique_lock lk(mu);
      planned_wake = wake;
      if (!poked && !stopping) clock.wait_until(lk, cv, from_unix_ms(wake), [this] { return stopping || poked; });
      poked = false;
      planned_wake = std::numeric_limits<std::int64_t>::max();
    }
  }

  void work_loop() {
    for (;;) {
      store::TimerRow row;
      {
        std::unique_lock lk(queue_mu);
        queue_cv.wait(lk, [this] { return stopping_workers || !queue.empty(); });
        if (stopping_workers) return;
        row = std::move(queue.front());
        queue.pop_front();
        queue_size.set(static_cast<double>(queue.size()));
      }
      store::TimerRow done = decide(std::move(row));
      std::lock_guard g(outcome_mu);
      outcomes.push_back(std::move(done));
      outcome_cv.notify_one();
    }
  }

  // Group commit: whatever outcomes piled up while the last write ran go in the next one.
  void write_loop() {
    for (;;) {
      std::vector<store::TimerRow> batch;
      {
        std::unique_lock lk(outcome_mu);
        outcome_cv.wait(lk, [this] { return stopping_writer || !outcomes.empty(); });
        if (outcomes.empty()) return;  // stopping, all written
        batch.swap(outcomes);
      }
      record(std::move(batch));
    }
  }
  bool stopping_workers = false;  // guarded by queue_mu
  std::mutex outcome_mu;
  std::condition_variable outcome_cv;
  std::vector<store::TimerRow> outcomes;
  bool stopping_writer = false;  // guarded by outcome_mu
  std::thread writer;
};

TimerService::TimerService(Clock& clock, store::Store& store, CallbackSender& sender, RunbookStarter starter,
                           metrics::Registry& registry, ServiceOptions options)
    : impl_(std::make_unique<Impl>(clock, store, sender, std::move(starter), registry, std::move(options))) {}

TimerService::~TimerService() { stop(); }

Result<void> TimerService::load() { return impl_->load(); }

Result<void> TimerService::start() {
  if (auto r = impl_->load(); !r) return r;
  Impl* im = impl_.get();
  for (int i = 0; i < std::max(1, im->options.delivery_threads); ++i)
    im->workers.emplace_back([im] { im->work_loop(); });
  im->writer = std::thread([im] { im->write_loop(); });
  im->dispatcher = std::thread([im] { im->dispatch_loop(); });
  return {};
}

void TimerService::stop() {
  Impl& im = *impl_;
  {
    std::lock_guard g(im.mu);
    im.stopping = true;
    im.cv.notify_all();
  }
  if (im.dispatcher.joinable()) im.dispatcher.join();
  {
    std::lock_guard g(im.queue_mu);
    im.stopping_workers = true;
    im.queue_cv.notify_all();
  }
  for (auto& t : im.workers)
    if (t.joinable()) t.join();
  im.workers.clear();
  {
    std::lock_guard g(im.outcome_mu);
    im.stopping_writer = true;
    im.outcome_cv.notify_all();
  }
  if (im.writer.joinable()) im.writer.join();
}

int TimerService::run_due() {
  const std::int64_t now = to_unix_ms(impl_->clock.now());
  impl_->maybe_load(now);
  auto due = impl_->collect_due(now);
  const int n = static_cast<int>(due.size());
  for (auto& row : due) row = impl_->decide(std::move(row));
  impl_->record(std::move(due));
  return n;
}

Result<CreateResult> TimerService::create(std::vector<TimerSpec> specs, std::string_view item) {
  Impl& im = *impl_;
  im.creation_attempts.inc(static_cast<double>(specs.size()));
  auto refuse = [&](ErrorCode code, std::string message, std::string where) -> Result<CreateResult> {
    im.creation_failures.inc(static_cast<double>(specs.size()));
    return fail(code, std::move(message), std::move(where));
  };
  auto at = [&](std::size_t i, std::string_view f) {
    return item.empty() ? std::string(f) : std::string(item) + "[" + std::to_string(i) + "]." + std::string(f);
  };
  const SystemTime now = im.clock.now();
  std::unordered_map<std::string, std::size_t> seen;
  CreateResult out;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const TimerSpec& s = specs[i];
    if (auto [it, fresh] = seen.emplace(s.id, i); !fresh)
      return refuse(ErrorCode::InvalidArgument,
                    "duplicate id '" + s.id + "' (also " + at(it->second, "id") + ")", at(i, "id"));
    if (s.runbook && im.options.runbook_exists && !im.options.runbook_exists(s.runbook->id))
      return refuse(ErrorCode::InvalidArgument, "unknown runbook '" + s.runbook->id + "'", at(i, "runbook.id"));
    out.timers.push_back(to_row(s, now));
    out.created.push_back(true);
  }
  auto resolve_existing = [&]() -> Result<void> {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      auto existing = im.store.get_timer(specs[i].id);
      if (!existing) return std::unexpected(existing.error());
      if (!*existing) continue;
      if (!same_content(**existing, specs[i]))
        return fail(ErrorCode::Conflict, "timer '" + specs[i].id + "' exists with different content", at(i, "id"));
      out.timers[i] = **existing;
      out.created[i] = false;
    }
    return {};
  };
  // Insert; the store skips identical existing timers and says which rows were new. A
  // conflict may be an existing timer whose due time moved (a retry, a delay asked again):
  // compare those by content and insert the rest.
  auto put = [&]() -> Result<void> {
    std::vector<store::TimerRow> fresh;
    for (std::size_t i = 0; i < specs.size(); ++i)
      if (out.created[i]) fresh.push_back(out.timers[i]);
    if (fresh.empty()) return {};
    auto inserted = im.store.put_timers(fresh);
    if (!inserted) return std::unexpected(inserted.error());
    std::unordered_set<std::string> is_new(inserted->begin(), inserted->end());
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (!out.created[i] || is_new.contains(out.timers[i].id)) continue;
      auto existing = im.store.get_timer(out.timers[i].id);
      if (existing && *existing) out.timers[i] = **existing;
      out.created[i] = false;
    }
    return {};
  };
  Result<void> stored = put();
  if (!stored && stored.error().code == ErrorCode::Conflict) {
    stored = resolve_existing();
    if (stored) stored = put();
  }
  if (!stored) return refuse(stored.error().code, stored.error().message, stored.error().where);
  std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
  {
    std::lock_guard g(im.load_mu);
    const std::int64_t until = im.loaded_until.load();
    for (std::size_t i = 0; i < out.timers.size(); ++i) {
      if (!out.created[i]) continue;
      const store::TimerRow& row = out.timers[i];
      im.creations.inc();
      im.active.with({row.group_id}).inc();
      if (row.due_at_ms >= until) continue;
      Shard& s = im.shard(row.id);
      std::lock_guard sg(s.mu);
      Impl::hold(s, row);
      earliest = std::min(earliest, row.due_at_ms);
    }
  }
  if (earliest != std::numeric_limits<std::int64_t>::max()) im.poke(earliest);
  return out;
}

Result<store::TimerRow> TimerService::get(std::string_view id) {
  auto row = impl_->store.get_timer(id);
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::NotFound, "no timer '" + std::string(id) + "'");
  return **row;
}

Result<std::vector<store::TimerRow>> TimerService::list(const store::TimerQuery& query) {
  return impl_->store.list_timers(query);
}

Result<store::TimerRow> TimerService::cancel(std::string_view id) {
  Impl& im = *impl_;
  Shard& s = im.shard(id);
  std::lock_guard g(s.mu);
  if (s.firing.contains(std::string(id)))
    return fail(ErrorCode::Conflict, "timer '" + std::string(id) + "' is being fired right now and cannot be cancelled");
  auto row = get(id);
  if (!row) return row;
  if (auto r = im.store.cancel_timer(id); !r) return fail(r.error().code, r.error().message);
  s.near.erase(std::string(id));
  im.active.with({row->group_id}).dec();
  row->status = "cancelled";
  return row;
}

Result<store::TimerRow> TimerService::patch(std::string_view id, const Json& changes) {
  Impl& im = *impl_;
  Shard& s = im.shard(id);
  std::lock_guard g(s.mu);
  if (s.firing.contains(std::string(id)))
    return fail(ErrorCode::Conflict, "timer '" + std::string(id) + "' is being fired right now and cannot be changed");
  auto row = get(id);
  if (!row) return row;
  if (row->status != "pending")
    return fail(ErrorCode::Conflict, "timer '" + std::string(id) + "' is " + row->status + "; only a pending timer can be changed");
  auto spec = from_row(*row);
  if (!spec) return std::unexpected(spec.error());
  const SystemTime now = im.clock.now();
  auto changed = apply_patch(*spec, changes, now, im.options.limits);
  if (!changed) return std::unexpected(changed.error());
  if (changed->runbook && im.options.runbook_exists && !im.options.runbook_exists(changed->runbook->id))
    return fail(ErrorCode::InvalidArgument, "unknown runbook '" + changed->runbook->id + "'", "runbook.id");
  store::TimerRow next = to_row(*changed, now);
  next.created_at_ms = row->created_at_ms;
  if (auto r = im.store.update_timers({next}); !r) return std::unexpected(r.error());
  s.near.erase(next.id);
  if (next.due_at_ms < im.loaded_until.load()) {
    Impl::hold(s, next);
    im.poke(next.due_at_ms);
  }
  return next;
}

void TimerService::count_refused(std::size_t n) {
  impl_->creation_attempts.inc(static_cast<double>(n));
  impl_->creation_failures.inc(static_cast<double>(n));
}

std::size_t TimerService::in_memory() const {
  std::size_t n = 0;
  for (Shard& s : impl_->shards) {
    std::lock_guard g(s.mu);
    n += s.near.size();
  }
  return n;
}

}  // namespace opsrun::timers
