#include "opsrun/scheduler/schedule_runner.h"

#include <algorithm>

#include "opsrun/common/log.h"
#include "opsrun/store/store.h"

namespace opsrun::scheduler {

struct ScheduleRunner::State {
  ScheduleSpec spec;
  SystemTime handled;              // every due time up to here has been dealt with
  std::optional<SystemTime> lost;  // a stored run whose execution never reached the store
  std::string execution_id;        // of the last run started
  std::optional<SystemTime> next;
};

namespace {

// The latest due time in (after, now], looking back over growing windows so that a dense
// schedule after a long downtime costs no more than a sparse one.
std::optional<SystemTime> latest_due(const CronSchedule& c, SystemTime after, SystemTime now) {
  const auto first = c.next_after(after);
  if (!first || *first > now) return std::nullopt;
  using std::chrono::hours;
  for (auto window : {hours(2), hours(48), hours(24 * 40), hours(24 * 400), hours(24 * 4000)}) {
    const SystemTime from = std::max(after, now - window);
    std::optional<SystemTime> latest;
    for (auto t = c.next_after(from); t && *t <= now; t = c.next_after(*t)) latest = t;
    if (latest) return latest;
  }
  return first;
}

}  // namespace

ScheduleRunner::ScheduleRunner(Clock& clock, store::Store& store,
                               std::vector<ScheduleSpec> schedules, StartFn start,
                               RunnerOptions options)
    : clock_(clock), store_(store), start_(std::move(start)), options_(options) {
  for (auto& spec : schedules) {
    auto s = std::make_unique<State>(
        State{.spec = std::move(spec), .handled = {}, .lost = {}, .execution_id = {}, .next = {}});
    states_.push_back(std::move(s));
  }
}

ScheduleRunner::~ScheduleRunner() { stop(); }

std::string ScheduleRunner::setting_key(std::string_view schedule_id) {
  return "schedule/" + std::string(schedule_id) + "/last_run";
}

std::string ScheduleRunner::execution_id_for(std::string_view schedule_id, SystemTime due) {
  const std::string key = std::string(schedule_id) + "|" + std::to_string(to_unix_ms(due));
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across builds and machines
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string suffix;
  for (int i = 0; i < 9; ++i, h /= 36) suffix += kAlphabet[h % 36];
  return "exec-" + std::to_string(to_unix_ms(due)) + "-" + suffix;
}

void ScheduleRunner::store_last_run(const State& s, std::string_view outcome,
                                    std::string_view error) {
  JsonObject o;
  o["due"] = format_time(s.handled);
  o["execution_id"] = s.execution_id;
  o["outcome"] = outcome;
  if (!error.empty()) o["error"] = error;
  o["recorded_at"] = format_time(clock_.now());
  if (auto r = store_.put_setting(setting_key(s.spec.id), to_json_text(o)); !r)
    log::error("schedule progress not stored",
               {{"schedule", s.spec.id}, {"problem", r.error().describe()}});
}

Result<void> ScheduleRunner::load() {
  std::lock_guard g(mu_);
  for (auto& s : states_) {
    auto raw = store_.get_setting(setting_key(s->spec.id));
    if (!raw)
      return fail(raw.error().code, "schedule " + s->spec.id + ": " + raw.error().describe());
    const SystemTime now = clock_.now();
    std::optional<Json> stored;
    if (*raw) {
      auto parsed = parse_json(**raw);
      if (parsed && parsed->is_object()) stored = std::move(*parsed);
    }
    SystemTime due{};
    const Json* due_text = stored ? stored->as_object().if_contains("due") : nullptr;
    if (!due_text || !due_text->is_string() || !parse_time(due_text->as_string(), due)) {
      if (*raw)
        log::warn("schedule's stored last run unreadable; starting from now",
                  {{"schedule", s->spec.id}});
      s->handled = now;  // first sight: nothing from before the schedule existed runs
      store_last_run(*s, "baseline", "");
    } else {
      s->handled = due;
      const auto& o = stored->as_object();
      const Json* id = o.if_contains("execution_id");
      const Json* outcome = o.if_contains("outcome");
      if (id && id->is_string()) s->execution_id = std::string(id->as_string());
      if (outcome && outcome->is_string() && outcome->as_string() == "started" &&
          !s->execution_id.empty()) {
        auto ex = store_.execution(s->execution_id);
        if (!ex)
          return fail(ex.error().code, "schedule " + s->spec.id + ": " + ex.error().describe());
        if (!*ex) s->lost = due;  // claimed but never durable: start it again, same id
      }
    }
    s->next = s->spec.schedule.next_after(s->handled);
  }
  loaded_ = true;
  return {};
}

ScheduledRun ScheduleRunner::fire(State& s, SystemTime due) {
  s.handled = due;
  s.execution_id = execution_id_for(s.spec.id, due);
  // Claim first: a crash after the start is recognised on restart by the execution id.
  store_last_run(s, "started", "");
  ScheduledRun run{.schedule_id = s.spec.id,
                   .runbook_id = s.spec.runbook,
                   .context = s.spec.context,
                   .execution_id = s.execution_id,
                   .due = due};
  auto r = start_(run);
  if (!r && r.error().code != ErrorCode::AlreadyExists) {
    log::error("scheduled run not started", {{"schedule", s.spec.id},
                                             {"runbook", s.spec.runbook},
                                             {"due", format_time(due)},
                                             {"problem", r.error().describe()}});
    store_last_run(s, "failed", r.error().describe());
    return run;
  }
  log::info("scheduled run started", {{"schedule", s.spec.id},
                                      {"runbook", s.spec.runbook},
                                      {"due", format_time(due)},
                                      {"execution", s.execution_id}});
  return run;
}

std::vector<ScheduledRun> ScheduleRunner::run_due() {
  std::lock_guard g(mu_);
  std::vector<ScheduledRun> started;
  if (!loaded_) return started;
  const SystemTime now = clock_.now();
  for (auto& sp : states_) {
    State& s = *sp;
    std::optional<SystemTime> due = latest_due(s.spec.schedule, s.handled, now);
    const bool missed_several = due && s.spec.schedule.next_after(s.handled) != due;
    if (!due) due = s.lost;
    s.lost.reset();
    if (due) {
      const bool on_time = now - *due <= options_.misfire_grace;
      if (on_time || s.spec.misfire == Misfire::RunOnce) {
        if (!on_time || missed_several)
          log::warn("schedule missed runs; starting one catch-up run",
                    {{"schedule", s.spec.id},
                     {"since", format_time(s.handled)},
                     {"due", format_time(*due)}});
        started.push_back(fire(s, *due));
      } else {
        log::warn("schedule missed runs; skipping them (misfire: skip)",
                  {{"schedule", s.spec.id},
                   {"since", format_time(s.handled)},
                   {"latest", format_time(*due)}});
        s.handled = *due;
        s.execution_id.clear();
        store_last_run(s, "skipped", "");
      }
    }
    // Every due time up to `now` is handled; the next one is after `now` (a clock that moved
    // on while this pass ran makes the thread wake at once).
    s.next = s.spec.schedule.next_after(s.handled);
  }
  return started;
}

std::optional<SystemTime> ScheduleRunner::next_due(std::string_view schedule_id) const {
  std::lock_guard g(mu_);
  for (const auto& s : states_)
    if (s->spec.id == schedule_id) return s->next;
  return std::nullopt;
}

Result<void> ScheduleRunner::start() {
  if (auto r = load(); !r) return r;
  run_due();
  thread_ = std::thread([this] { loop(); });
  return {};
}

void ScheduleRunner::loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    // Wake at the next due time, and at least hourly so a wall-clock jump is noticed.
    SystemTime wake = clock_.now() + std::chrono::hours(1);
    for (const auto& s : states_)
      if (s->next && *s->next < wake) wake = *s->next;
    clock_.wait_until(lk, cv_, wake, [this] { return stopping_; });
    if (stopping_) break;
    lk.unlock();
    run_due();
    lk.lock();
  }
}

void ScheduleRunner::stop() {
  {
    std::lock_guard g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace opsrun::scheduler
