#include "opsrun/scheduler/schedules.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace opsrun::scheduler {
namespace {

constexpr std::string_view kKeys[] = {"id", "cron", "timezone", "runbook", "context", "misfire"};

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

}  // namespace

Result<std::vector<ScheduleSpec>> parse_schedules(const Json& section) {
  std::vector<ScheduleSpec> out;
  if (section.is_null()) return out;
  if (!section.is_array())
    return fail(ErrorCode::InvalidArgument, "expected a list of schedules", "schedules");
  std::set<std::string> seen;
  const auto& list = section.as_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string entry = "schedules[" + std::to_string(i) + "]";
    if (!list[i].is_object())
      return fail(ErrorCode::InvalidArgument, "expected a mapping {id, cron, runbook, ...}", entry);
    const auto& o = list[i].as_object();
    std::string label;  // names the schedule when its id is known
    if (const auto* id = o.if_contains("id"); id && id->is_string())
      label = "schedule '" + std::string(id->as_string()) + "': ";
    auto bad = [&](const std::string& field, const std::string& message) {
      return fail(ErrorCode::InvalidArgument, label + message, entry + "." + field);
    };
    for (const auto& kv : o) {
      const std::string_view key = kv.key();
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
        return bad(std::string(key),
                   "unknown key (allowed: id, cron, timezone, runbook, context, misfire)");
    }
    auto text = [&](const char* field, bool required) -> Result<std::string> {
      const auto* v = o.if_contains(field);
      if (v == nullptr || v->is_null()) {
        if (required) return bad(field, "is required");
        return std::string();
      }
      if (!v->is_string()) return bad(field, "expected a string");
      return std::string(v->as_string());
    };
    auto id = text("id", true);
    if (!id) return std::unexpected(id.error());
    if (!valid_id(*id))
      return bad("id", "'" + *id + "' may only use letters, digits, '.', '_' and '-'");
    if (!seen.insert(*id).second) return bad("id", "'" + *id + "' is used by an earlier schedule");
    auto cron = text("cron", true);
    if (!cron) return std::unexpected(cron.error());
    auto tz = text("timezone", false);
    if (!tz) return std::unexpected(tz.error());
    auto runbook = text("runbook", true);
    if (!runbook) return std::unexpected(runbook.error());
    if (runbook->empty()) return bad("runbook", "is empty");
    auto misfire = text("misfire", false);
    if (!misfire) return std::unexpected(misfire.error());
    if (!misfire->empty() && *misfire != "run_once" && *misfire != "skip")
      return bad("misfire", "expected run_once or skip, got '" + *misfire + "'");
    Json context = JsonObject{};
    if (const auto* c = o.if_contains("context"); c && !c->is_null()) {
      if (!c->is_object()) return bad("context", "expected a mapping");
      context = *c;
    }
    auto expr = CronExpr::parse(*cron);
    if (!expr) return bad("cron", expr.error().message);
    auto schedule = CronSchedule::create(*cron, *tz);
    if (!schedule) return bad("timezone", schedule.error().message);
    out.push_back(ScheduleSpec{.id = *id,
                               .runbook = *runbook,
                               .context = std::move(context),
                               .misfire = *misfire == "skip" ? Misfire::Skip : Misfire::RunOnce,
                               .schedule = std::move(*schedule)});
  }
  return out;
}

}  // namespace opsrun::scheduler
