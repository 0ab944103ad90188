#include "opsrun/safety/guard.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "opsrun/common/duration.h"
#include "opsrun/common/log.h"
#include "opsrun/notify/channel.h"
#include "opsrun/safety/evaluate_internal.h"

namespace opsrun::safety {

namespace {

std::string hhmm(int minutes) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", (minutes / 60) % 100, minutes % 60);
  return buf;
}

// P0: production resources at risk, mass actions (the seed's classification); P1: other
// denials; P2: approvals asked for.
notify::Severity severity_of(const Decision& d) {
  if (d.verdict == Verdict::NeedsApproval) return notify::Severity::P2;
  if (d.rule.starts_with("protected_target") || d.rule == "production_tag_protection" ||
      d.rule.starts_with("rate_limit"))
    return notify::Severity::P0;
  return notify::Severity::P1;
}

}  // namespace

struct Guard::Impl {
  Impl(Policy p, Clock& c, store::Store* s, audit::Recorder* r, notify::ChannelRegistry* ch)
      : policy(std::move(p)), clock(c), recorder(r), channels(ch),
        stop(s, c, r, [this](const notify::Notification& n) { enqueue(n); }) {}

  Policy policy;
  Clock& clock;
  audit::Recorder* recorder;
  notify::ChannelRegistry* channels;
  EmergencyStop stop;

  std::mutex mu;
  std::condition_variable cv;
  bool quitting = false;
  std::map<std::string, std::deque<SystemTime>> rate;   // limit|key -> allowed action times
  std::deque<SystemTime> failures;                      // failed action times, in the window
  std::function<void()> listener;
  std::string last_seen;                                // the stop as last seen (any change counts)
  std::deque<notify::Notification> outbox;
  std::thread notifier;
  std::thread watcher;

  void enqueue(const notify::Notification& n) {
    {
      std::lock_guard g(mu);
      outbox.push_back(n);
    }
    cv.notify_all();
  }

  void deliver(const notify::Notification& n) {
    auto it = policy.channels.find(n.severity);
    const std::vector<std::string> names =
        it != policy.channels.end() && !it->second.empty() ? it->second : std::vector<std::string>{"log"};
    for (const auto& name : names) {
      auto ch = channels != nullptr ? channels->find(name) : nullptr;
      if (!ch) {
        log::warn("safety notification channel not found", {{"channel", name}});
        continue;
      }
      if (auto r = channels->send(name, n); !r)
        log::error("safety notification failed", {{"channel", name}, {"error", r.error().describe()}});
    }
  }

  void notify_loop() {
    std::unique_lock lock(mu);
    while (true) {
      cv.wait(lock, [&] { return quitting || !outbox.empty(); });
      if (outbox.empty() && quitting) return;
      auto n = std::move(outbox.front());
      outbox.pop_front();
      lock.unlock();
      deliver(n);
      lock.lock();
    }
  }

  // Sees stops engaged or lifted by other processes sharing the store.
  void watch_loop() {
    std::unique_lock lock(mu);
    while (!quitting) {
      cv.wait_for(lock, policy.stop_poll_interval, [&] { return quitting; });
      if (quitting) return;
      lock.unlock();
      auto st = stop.state();
      lock.lock();
      // Compared whole: a stop engaged and lifted between two polls still changes it.
      if (!st) continue;
      const std::string seen = to_json_text(stop_to_json(*st));
      if (seen == last_seen) continue;
      last_seen = seen;
      auto l = listener;
      lock.unlock();
      if (l) l();
      lock.lock();
    }
  }

  void changed(const StopState& now) {
    std::function<void()> l;
    {
      std::lock_guard g(mu);
      last_seen = to_json_text(stop_to_json(now));
      l = listener;
    }
    if (l) l();
  }

  // Rule hits for this action, in policy order (stop and rate limits aside).
  std::vector<detail::Hit> hits_for(const ActionRequest& req, Risk risk, SystemTime now) const {
    std::vector<detail::Hit> hits;
    if (req.target) {
      for (const auto& pt : policy.protected_targets) {
        if (!detail::any_glob(pt.runbooks, req.runbook_id) || !detail::target_matches(pt.match, *req.target))
          continue;
        hits.push_back({"protected_target:" + pt.name, pt.effect,
                        pt.reason.empty() ? "protected target (" + pt.name + ")" : pt.reason});
      }
      auto seed = detail::seed_rule_hits(policy.rules, req.runbook_id, *req.target, risk, now);
      hits.insert(hits.end(), seed.begin(), seed.end());
    }
    const std::string cls = req.target ? req.target->target_class : std::string();
    for (const auto& w : policy.change_windows) {
      if (!detail::any_glob(w.runbooks, req.runbook_id)) continue;
      if (!w.target_classes.empty() && (cls.empty() || !detail::any_glob(w.target_classes, cls))) continue;
      if (detail::inside_window(w, now)) continue;
      hits.push_back({"change_window:" + w.name, w.outside,
                      "outside change window " + w.name + " (" + hhmm(w.start_minute) + "-" +
                          hhmm(w.end_minute) + " " + w.time_zone + ")"});
    }
    const auto& rp = policy.risk;
    if (std::find(rp.deny.begin(), rp.deny.end(), risk) != rp.deny.end())
      hits.push_back({"risk", Effect::Deny, std::string(to_string(risk)) + " risk actions are denied"});
    else if (std::find(rp.require_approval.begin(), rp.require_approval.end(), risk) != rp.require_approval.end())
      hits.push_back({"risk", Effect::RequireApproval, std::string(to_string(risk)) + " risk action needs approval"});
    return hits;
  }

  std::string rate_key(const RateLimit& l, const ActionRequest& req) const {
    if (l.per == RateLimit::Per::Runbook) return l.name + "|runbook:" + req.runbook_id;
    return l.name + "|class:" + (req.target ? req.target->target_class : std::string());
  }

  bool counts(const RateLimit& l, const ActionRequest& req) const {
    const std::string cls = req.target ? req.target->target_class : std::string();
    return detail::any_glob(l.runbooks, req.runbook_id) &&
           (l.target_classes.empty() || (!cls.empty() && detail::any_glob(l.target_classes, cls)));
  }

  // Denies when a limit is full; otherwise counts the action against every limit.
  std::optional<Decision> take_rate(const ActionRequest& req, SystemTime now) {
    std::lock_guard g(mu);
    for (const auto& l : policy.rate_limits) {
      if (!counts(l, req)) continue;
      auto& times = rate[rate_key(l, req)];
      while (!times.empty() && times.front() <= now - l.window) times.pop_front();
      if (static_cast<int>(times.size()) >= l.max) {
        const std::string scope = l.per == RateLimit::Per::Runbook
                                      ? "runbook " + req.runbook_id
                                      : "target class " + (req.target ? req.target->target_class : std::string("(none)"));
        Decision d;
        d.verdict = Verdict::Deny;
        d.rule = "rate_limit:" + l.name;
        d.reason = "rate limit " + l.name + " reached: " + std::to_string(l.max) + " actions per " +
                   format_duration(l.window) + " for " + scope;
        return d;
      }
    }
    for (const auto& l : policy.rate_limits)
      if (counts(l, req)) rate[rate_key(l, req)].push_back(now);
    return std::nullopt;
  }

  // The failure-rate trip: counts a failed action and engages the stop at the threshold.
  void count_failure(const ActionResult& result, Guard& guard);

  // `st`: the emergency stop, read once for a batch of requests.
  Decision evaluate(const ActionRequest& req, const Result<StopState>& st) {
    const SystemTime now = req.at;
    const Risk risk = detail::evaluate_risk(policy.risk, req.risk, req.target);
    Decision d;
    d.risk = std::string(to_string(risk));
    if (!req.dry_run) {
      if (!st) {
        d.verdict = Verdict::Hold;
        d.rule = "emergency_stop";
        d.reason = "the emergency stop cannot be read (" + st.error().describe() + "): holding";
        return d;
      }
      if (st->on) {
        d.verdict = st->abort_running ? Verdict::Abort : Verdict::Hold;
        d.rule = "emergency_stop";
        d.reason = "emergency stop engaged by " + st->by + ": " + st->reason;
        return d;
      }
    }
    const auto hits = hits_for(req, risk, now);
    for (const auto& h : hits) {
      if (h.effect != Effect::Deny) continue;
      d.verdict = Verdict::Deny;
      d.rule = h.rule;
      d.reason = h.reason;
      return d;
    }
    if (!req.approved && !hits.empty()) {
      d.verdict = Verdict::NeedsApproval;
      d.rule = hits.front().rule;
      for (const auto& h : hits) d.reason += (d.reason.empty() ? "" : "; ") + h.reason;
      if (req.dry_run) {
        d.verdict = Verdict::Allow;
        d.reason = "dry run; would need approval: " + d.reason;
      }
      return d;
    }
    if (!req.dry_run)
      if (auto limited = take_rate(req, now)) {
        limited->risk = d.risk;
        return *limited;
      }
    if (req.approved && !hits.empty()) d.reason = "approved";
    return d;
  }
};

Guard::Guard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<Guard> Guard::create(Policy policy, Clock& clock, store::Store* store,
                                     audit::Recorder* recorder, notify::ChannelRegistry* channels) {
  auto impl = std::make_unique<Impl>(std::move(policy), clock, store, recorder, channels);
  std::unique_ptr<Guard> guard(new Guard(std::move(impl)));
  Impl* i = guard->impl_.get();
  if (auto st = i->stop.state(); st) i->last_seen = to_json_text(stop_to_json(*st));
  i->notifier = std::thread([i] { i->notify_loop(); });
  if (store != nullptr) i->watcher = std::thread([i] { i->watch_loop(); });
  return guard;
}

Guard::~Guard() {
  {
    std::lock_guard g(impl_->mu);
    impl_->quitting = true;
  }
  impl_->cv.notify_all();
  if (impl_->watcher.joinable()) impl_->watcher.join();
  if (impl_->notifier.joinable()) impl_->notifier.join();
}

std::vector<Decision> Guard::decide_all(const std::vector<ActionRequest>& requests) {
  std::vector<Decision> out;
  out.reserve(requests.size());
  const auto stop_state = impl_->stop.state();
  for (const auto& req : requests) {
    Decision d = impl_->evaluate(req, stop_state);
    d.reason = log::redact(d.reason);
    out.push_back(std::move(d));
  }
  if (impl_->recorder != nullptr && !requests.empty()) {
    std::vector<audit::AuditEntry> entries;
    entries.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const ActionRequest& req = requests[i];
      const Decision& d = out[i];
      audit::AuditEntry e;
      e.actor = req.actor.empty() ? "system" : req.actor;
      e.kind = "safety_decision";
      e.execution_id = req.execution_id;
      e.step_id = req.step_id;
      e.target = req.target ? log::redact(req.target->name) : std::string();
      e.action = log::redact(req.action);
      // The contract's decisions are allow | deny | needs_approval: a hold or an abort by
      // the emergency stop is a denial for now; details say which.
      e.decision = d.verdict == Verdict::Allow ? "allow" : d.verdict == Verdict::NeedsApproval ? "needs_approval" : "deny";
      e.reason = d.reason;
      e.outcome = d.verdict == Verdict::Allow ? "" : "pending";
      e.dry_run = req.dry_run;
      e.details = JsonObject{{"verdict", to_string(d.verdict)}, {"rule", d.rule}, {"risk", d.risk},
                             {"attempt", req.attempt_key}, {"runbook", req.runbook_id}};
      entries.push_back(std::move(e));
    }
    // One write for the batch, all or nothing: a decision that cannot be audited is a denial.
    if (auto r = impl_->recorder->record_all(entries); !r)
      for (Decision& d : out)
        if (d.verdict == Verdict::Allow || d.verdict == Verdict::NeedsApproval) {
          d.verdict = Verdict::Deny;
          d.rule = "audit";
          d.reason = "the decision could not be audited, so the action does not run: " + r.error().describe();
        }
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ActionRequest& req = requests[i];
    const Decision& d = out[i];
    if (d.verdict != Verdict::Deny && d.verdict != Verdict::NeedsApproval) continue;
    notify::Notification n;
    n.execution_id = req.execution_id;
    n.runbook_id = req.runbook_id;
    n.step_id = req.step_id;
    n.severity = severity_of(d);
    n.message = std::string(d.verdict == Verdict::Deny ? "safety: denied " : "safety: approval needed for ") +
                req.step_id + (req.target ? " on " + log::redact(req.target->name) : std::string()) + ": " + d.reason;
    n.details = JsonObject{{"rule", d.rule}, {"risk", d.risk}, {"verdict", to_string(d.verdict)}};
    impl_->enqueue(n);
  }
  return out;
}

void Guard::actions_finished(const std::vector<ActionResult>& results) {
  if (results.empty()) return;
  if (impl_->recorder != nullptr) {
    std::vector<audit::AuditEntry> entries;
    entries.reserve(results.size());
    for (const auto& r : results) {
      audit::AuditEntry e;
      e.actor = r.request.actor.empty() ? "system" : r.request.actor;
      e.kind = "action";
      e.execution_id = r.request.execution_id;
      e.step_id = r.request.step_id;
      e.target = r.request.target ? r.request.target->name : std::string();
      e.outcome = r.ok ? "succeeded" : "failed";
      e.dry_run = r.request.dry_run;
      JsonObject details{{"attempt", r.request.attempt_key}, {"runbook", r.request.runbook_id}};
      if (!r.ok) details["error"] = r.error;
      e.details = std::move(details);
      entries.push_back(std::move(e));
    }
    // After the fact: the outcome is already in the execution's history, so a failure to
    // audit it is logged, not turned into anything else.
    if (auto a = impl_->recorder->record_all(entries); !a)
      log::error("action outcomes could not be audited", {{"count", std::to_string(entries.size())},
                                                          {"error", a.error().describe()}});
  }
  for (const auto& r : results) impl_->count_failure(r, *this);
}

void Guard::Impl::count_failure(const ActionResult& result, Guard& guard) {
  const ActionRequest& req = result.request;
  const auto& trip = policy.failure_trip;
  if (result.ok || !trip.enabled || req.dry_run) return;
  // The attempt's own time, not the clock's: the count does not depend on when we hear of it.
  const SystemTime now = req.at;
  {
    std::lock_guard g(mu);
    auto& f = failures;
    f.push_back(now);
    while (!f.empty() && f.front() <= now - trip.window) f.pop_front();
    if (static_cast<int>(f.size()) < trip.failures) return;
    f.clear();
  }
  auto st = stop.state();
  if (st && st->on) return;
  const std::string reason = "failure-rate trip: " + std::to_string(trip.failures) + " failed actions within " +
                             format_duration(trip.window) + " (last: " + req.step_id + " of " + req.execution_id + ")";
  if (auto r = guard.engage_stop(reason, false, "system:failure-trip"); !r)
    log::error("the failure-rate trip could not engage the emergency stop", {{"error", r.error().describe()}});
}

bool Guard::forced_dry_run(std::string_view runbook_id) const {
  const auto& list = impl_->policy.forced_dry_run;
  return !list.empty() && detail::any_glob(list, runbook_id);
}

Admission Guard::admit(std::string_view runbook_id, int active) const {
  for (const auto& c : impl_->policy.concurrency) {
    if (!detail::any_glob(c.runbooks, runbook_id) || active < c.max) continue;
    Admission a;
    a.admit = false;
    a.queue = c.queue;
    a.reason = "runbook " + std::string(runbook_id) + " already has " + std::to_string(active) +
               " executions running (limit " + std::to_string(c.max) + ")";
    return a;
  }
  return {};
}

void Guard::set_listener(std::function<void()> on_change) {
  std::lock_guard g(impl_->mu);
  impl_->listener = std::move(on_change);
}

Result<StopState> Guard::engage_stop(std::string reason, bool abort_running, std::string actor) {
  auto r = impl_->stop.engage(std::move(reason), abort_running, std::move(actor));
  if (r) impl_->changed(*r);
  return r;
}

Result<StopState> Guard::resume(std::string actor) {
  auto r = impl_->stop.resume(std::move(actor));
  if (r) {
    {
      std::lock_guard g(impl_->mu);
      impl_->failures.clear();
    }
    impl_->changed(*r);
  }
  return r;
}

Result<StopState> Guard::stop_state() { return impl_->stop.state(); }

const Policy& Guard::policy() const { return impl_->policy; }

Json Guard::status() {
  JsonObject out;
  auto st = impl_->stop.state();
  out["emergencyStop"] = st ? stop_to_json(*st) : Json(JsonObject{{"error", st.error().describe()}});
  const auto& p = impl_->policy;
  const SystemTime now = impl_->clock.now();
  std::lock_guard g(impl_->mu);
  int recent = 0;
  for (auto t : impl_->failures)
    if (t > now - p.failure_trip.window) ++recent;
  out["failureTrip"] = JsonObject{{"enabled", p.failure_trip.enabled},
                                  {"failures", p.failure_trip.failures},
                                  {"window", format_duration(p.failure_trip.window)},
                                  {"recentFailures", recent}};
  JsonArray limits;
  for (const auto& l : p.rate_limits) {
    JsonObject usage;
    for (const auto& [key, times] : impl_->rate) {
      if (!key.starts_with(l.name + "|")) continue;
      const auto n = std::count_if(times.begin(), times.end(), [&](SystemTime t) { return t > now - l.window; });
      usage[key.substr(l.name.size() + 1)] = n;
    }
    limits.push_back(JsonObject{{"name", l.name},
                                {"per", l.per == RateLimit::Per::Runbook ? "runbook" : "target_class"},
                                {"max", l.max},
                                {"window", format_duration(l.window)},
                                {"usage", usage}});
  }
  out["rateLimits"] = std::move(limits);
  JsonObject rules;
  rules["production_tag_protection"] = p.rules.production_tags.enabled;
  rules["business_hours_protection"] = p.rules.business_hours.enabled;
  rules["auto_scaling_group_protection"] = p.rules.auto_scaling_group.enabled;
  rules["load_balancer_target_protection"] = p.rules.load_balancer_target.enabled;
  rules["database_dependency_protection"] = p.rules.database_dependency.enabled;
  rules["recent_activity_protection"] = p.rules.recent_activity.enabled;
  JsonArray dry;
  for (const auto& r : p.forced_dry_run) dry.emplace_back(r);
  out["policy"] = JsonObject{{"source", p.source},
                             {"protectedTargets", p.protected_targets.size()},
                             {"changeWindows", p.change_windows.size()},
                             {"concurrencyLimits", p.concurrency.size()},
                             {"forcedDryRun", dry},
                             {"rules", rules}};
  return out;
}

}  // namespace opsrun::safety
