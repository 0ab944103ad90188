#include "opsrun/audit/audit_query.h"

#include <algorithm>
#include <map>

#include "opsrun/audit/chained_log.h"
#include "opsrun/store/store.h"

namespace opsrun::audit {
namespace {

constexpr int kPage = 1000;

std::int64_t int_field(const Json& v, std::string_view key) {
  const auto* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return f && f->is_int64() ? f->as_int64() : -1;
}

std::string string_field(const Json& v, std::string_view key) {
  const auto* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

}  // namespace

Result<VerifyResult> verify(store::Store& store) {
  VerifyResult res;
  res.head_hash = std::string(kAnchorHash);
  std::string prev(kAnchorHash);
  std::int64_t expected = 1;
  auto broken = [&](std::int64_t seq, const char* problem, std::string detail) {
    res.ok = false;
    res.first_bad_seq = seq;
    res.problem = problem;
    res.detail = std::move(detail);
    return res;
  };
  while (true) {
    auto rows = store.audit_range(expected - 1, kPage);
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) break;
    for (const auto& row : *rows) {
      ++res.records;
      const std::string n = std::to_string(row.seq);
      if (row.seq != expected)
        return broken(expected, "removed",
                      row.seq == expected + 1 ? "record " + std::to_string(expected) + " is missing"
                                              : "records " + std::to_string(expected) + " to " +
                                                    std::to_string(row.seq - 1) + " are missing");
      auto data = parse_json(row.data);
      if (!data || !data->is_object())
        return broken(row.seq, "altered", "record " + n + " is not a JSON object");
      if (const auto written = int_field(*data, "seq"); written != row.seq)
        return broken(row.seq, "reordered",
                      "position " + n + " holds the record written as " + std::to_string(written) +
                          " (records were moved or removed)");
      if (string_field(*data, "at") != format_time(from_unix_ms(row.at_ms)))
        return broken(row.seq, "altered",
                      "record " + n + "'s time column does not match its contents");
      if (chain_hash(row.prev_hash, row.data) != row.hash)
        return broken(row.seq, "altered", "record " + n + "'s contents do not match its hash");
      if (row.prev_hash != prev)
        return row.seq == 1 ? broken(1, "altered", "record 1 does not start from the anchor")
                            : broken(row.seq - 1, "altered",
                                     "record " + std::to_string(row.seq - 1) +
                                         " does not match the hash record " + n +
                                         " holds for it (changed and re-hashed, or replaced)");
      prev = row.hash;
      res.head_seq = row.seq;
      res.head_hash = row.hash;
      ++expected;
    }
  }
  return res;
}

Json to_json(const VerifyResult& r) {
  JsonObject o;
  o["ok"] = r.ok;
  o["records"] = r.records;
  o["head"] = JsonObject{{"seq", r.head_seq}, {"hash", r.head_hash}};
  if (!r.ok) {
    o["first_bad_seq"] = r.first_bad_seq;
    o["problem"] = r.problem;
    o["detail"] = r.detail;
  }
  return o;
}

Result<TailPage> tail(store::Store& store, const TailQuery& query, SystemTime now) {
  TailPage page;
  const int limit = std::clamp(query.limit, 1, 1000);
  auto last = store.last_audit();
  if (!last) return std::unexpected(last.error());
  if (!*last) return page;
  const std::int64_t upper =
      query.cursor > 0 ? std::min(query.cursor - 1, (*last)->seq) : (*last)->seq;
  std::int64_t lower = 1;
  if (query.hours > 0) {
    // Times never go backwards along the chain: binary search the first recent enough seq.
    const std::int64_t cutoff =
        to_unix_ms(now) - static_cast<std::int64_t>(query.hours) * 3'600'000;
    std::int64_t lo = 1, hi = upper + 1;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      auto r = store.audit_range(mid - 1, 1);
      if (!r) return std::unexpected(r.error());
      if (!r->empty() && r->front().seq <= upper && r->front().at_ms >= cutoff)
        hi = mid;
      else
        lo = mid + 1;
    }
    lower = lo;
  }
  for (std::int64_t end = upper; end >= lower;) {
    const std::int64_t start = std::max(lower, end - kPage + 1);
    auto rows = store.audit_range(start - 1, static_cast<int>(end - start + 1));
    if (!rows) return std::unexpected(rows.error());
    for (auto it = rows->rbegin(); it != rows->rend(); ++it) {
      if (it->seq > end) continue;
      auto data = parse_json(it->data);
      if (!data || !data->is_object()) continue;  // verify reports it; tail shows what it can
      if (!query.execution_id.empty() && string_field(*data, "execution_id") != query.execution_id)
        continue;
      if (static_cast<int>(page.records.size()) == limit) {
        page.next_cursor = page.records.empty() ? 0 : int_field(page.records.back(), "seq");
        return page;
      }
      data->as_object()["prev_hash"] = it->prev_hash;
      data->as_object()["hash"] = it->hash;
      page.records.push_back(std::move(*data));
    }
    end = start - 1;
  }
  return page;
}

Result<std::vector<Json>> failed_actions(store::Store& store, const FailedActionsQuery& query,
                                         SystemTime now) {
  std::vector<Json> out;
  const auto limit = static_cast<std::size_t>(std::clamp(query.limit, 1, 1000));
  std::map<std::string, std::string> retried;  // action id -> the retry's execution
  TailQuery page_query{.hours = query.hours, .execution_id = {}, .limit = 1000, .cursor = 0};
  while (out.size() < limit) {
    auto page = tail(store, page_query, now);
    if (!page) return std::unexpected(page.error());
    // Newest first: a retry is met before the failure it retries.
    for (const Json& r : page->records) {
      const Json* details = r.as_object().if_contains("details");
      auto detail = [&](std::string_view key) {
        return details != nullptr && details->is_object() ? string_field(*details, key) : std::string();
      };
      const std::string kind = string_field(r, "kind");
      if (kind == "action_retry") retried[detail("retry_of")] = string_field(r, "execution_id");
      if (kind != "action" || string_field(r, "outcome") != "failed") continue;
      if (!query.execution_id.empty() && string_field(r, "execution_id") != query.execution_id) continue;
      const std::string id = detail("attempt");
      auto retry = retried.find(id);
      out.push_back(JsonObject{{"actionId", id},
                               {"at", string_field(r, "at")},
                               {"seq", int_field(r, "seq")},
                               {"executionId", string_field(r, "execution_id")},
                               {"runbookId", detail("runbook")},
                               {"stepId", string_field(r, "step_id")},
                               {"actor", string_field(r, "actor")},
                               {"error", detail("error")},
                               {"retriedBy", retry == retried.end() ? Json() : Json(retry->second)}});
      if (out.size() == limit) break;
    }
    if (page->next_cursor == 0) break;
    page_query.cursor = page->next_cursor;
  }
  return out;
}

}  // namespace opsrun::audit
