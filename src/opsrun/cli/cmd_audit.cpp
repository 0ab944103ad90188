// `opsrun audit verify` and `opsrun audit tail`: the hash-chained audit log in the store.
#include <cstdio>

#include "opsrun/audit/audit_query.h"
#include "opsrun/cli/commands.h"

namespace opsrun::cli {

namespace {

std::string text_of(const Json& record, std::string_view key) {
  const auto* v = record.as_object().if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

int cmd_audit(const AuditFlags& flags) {
  auto store = open_store_from(flags.store);
  if (!store) {
    std::fprintf(stderr, "audit: %s\n", store.error().describe().c_str());
    return kExitFailed;
  }
  if (flags.verb == "verify") {
    auto r = audit::verify(**store);
    if (!r) {
      std::fprintf(stderr, "audit verify: %s\n", r.error().describe().c_str());
      return kExitFailed;
    }
    if (flags.output == "json") {
      std::printf("%s\n", to_pretty_json(audit::to_json(*r)).c_str());
    } else if (r->ok) {
      std::printf("audit log intact: %lld records; head #%lld %s\n",
                  static_cast<long long>(r->records), static_cast<long long>(r->head_seq),
                  r->head_hash.c_str());
    } else {
      std::printf("audit log broken at record %lld (%s): %s\n",
                  static_cast<long long>(r->first_bad_seq), r->problem.c_str(), r->detail.c_str());
    }
    return r->ok ? kExitOk : kExitFailed;
  }
  audit::TailQuery q{
      .hours = flags.hours, .execution_id = flags.execution, .limit = flags.limit, .cursor = 0};
  auto page = audit::tail(**store, q, SystemClock().now());
  if (!page) {
    std::fprintf(stderr, "audit tail: %s\n", page.error().describe().c_str());
    return kExitFailed;
  }
  if (flags.output == "json") {
    JsonArray a;
    for (const auto& rec : page->records) a.push_back(rec);
    std::printf(
        "%s\n",
        to_pretty_json(JsonObject{{"records", a}, {"next_cursor", page->next_cursor}}).c_str());
    return kExitOk;
  }
  // Oldest first, like a log.
  for (auto it = page->records.rbegin(); it != page->records.rend(); ++it) {
    const Json& r = *it;
    std::string line = text_of(r, "at") + " #" + std::to_string(r.at("seq").as_int64()) + " " +
                       text_of(r, "actor") + " " + text_of(r, "kind");
    for (const char* key :
         {"execution_id", "step_id", "target", "action", "decision", "outcome", "reason"})
      if (auto v = text_of(r, key); !v.empty()) line += std::string(" ") + key + "=" + v;
    if (const auto* d = r.as_object().if_contains("dry_run"); d && d->is_bool() && d->as_bool())
      line += " dry_run";
    std::printf("%s\n", line.c_str());
  }
  if (page->records.empty()) std::printf("no audit records in the last %d hours\n", flags.hours);
  return kExitOk;
}

}  // namespace opsrun::cli
