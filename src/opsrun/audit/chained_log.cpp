#include "opsrun/audit/chained_log.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

#include "opsrun/common/log.h"
#include "opsrun/store/store.h"

namespace opsrun::audit {
namespace {

// Every string (keys too) with the registered secrets replaced.
Json redacted(const Json& v) {
  if (v.is_string()) return Json(log::redact(std::string(v.as_string())));
  if (v.is_array()) {
    JsonArray a;
    for (const auto& e : v.as_array()) a.push_back(redacted(e));
    return a;
  }
  if (v.is_object()) {
    JsonObject o;
    for (const auto& kv : v.as_object())
      o[log::redact(std::string(kv.key()))] = redacted(kv.value());
    return o;
  }
  return v;
}

// JSON with object keys sorted and no spaces: the same value always gives the same bytes.
void canonical(const Json& v, std::string& out) {
  if (v.is_object()) {
    std::vector<std::pair<std::string_view, const Json*>> items;
    for (const auto& kv : v.as_object()) items.emplace_back(kv.key(), &kv.value());
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += ',';
      out += boost::json::serialize(Json(items[i].first));
      out += ':';
      canonical(*items[i].second, out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v.as_array()) {
      if (!first) out += ',';
      first = false;
      canonical(e, out);
    }
    out += ']';
  } else {
    out += boost::json::serialize(v);
  }
}

}  // namespace

std::string canonical_record(const AuditEntry& e, std::int64_t seq, std::int64_t at_ms) {
  JsonObject o;
  o["seq"] = seq;
  o["at"] = format_time(from_unix_ms(at_ms));
  o["actor"] = e.actor;
  o["kind"] = e.kind;
  o["execution_id"] = e.execution_id;
  o["step_id"] = e.step_id;
  o["target"] = e.target;
  o["action"] = e.action;
  o["decision"] = e.decision;
  o["reason"] = e.reason;
  o["outcome"] = e.outcome;
  o["dry_run"] = e.dry_run;
  o["details"] = e.details;
  std::string out;
  canonical(o, out);
  return out;
}

std::string chain_hash(std::string_view prev_hash, std::string_view canonical_bytes) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, prev_hash.data(), prev_hash.size());
  EVP_DigestUpdate(ctx, "\n", 1);
  EVP_DigestUpdate(ctx, canonical_bytes.data(), canonical_bytes.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

ChainedLog::ChainedLog(store::Store& store, Clock& clock, ChainedLogOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

Result<std::int64_t> ChainedLog::record(const AuditEntry& entry) { return record_all({entry}); }

Result<std::int64_t> ChainedLog::record_all(const std::vector<AuditEntry>& raw) {
  if (raw.empty()) return fail(ErrorCode::InvalidArgument, "audit: nothing to record");
  std::vector<AuditEntry> entries = raw;
  for (AuditEntry& e : entries) {
    for (std::string* s : {&e.actor, &e.kind, &e.execution_id, &e.step_id, &e.target, &e.action,
                           &e.decision, &e.reason, &e.outcome})
      *s = log::redact(std::move(*s));
    e.details = redacted(e.details);
  }
  std::lock_guard g(mu_);
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (!end_) {
      auto last = store_.last_audit();
      if (!last) return std::unexpected(last.error());
      end_ = *last ? ChainEnd{(*last)->seq, (*last)->hash, (*last)->at_ms}
                   : ChainEnd{0, std::string(kAnchorHash), 0};
    }
    std::int64_t seq = end_->seq;
    std::string prev = end_->hash;
    // Times never go backwards along the chain, so a time range is a seq range.
    const std::int64_t at_ms = std::max(to_unix_ms(clock_.now()), end_->at_ms);
    std::vector<store::AuditRow> rows;
    rows.reserve(entries.size());
    for (const AuditEntry& e : entries) {
      store::AuditRow row;
      row.seq = ++seq;
      row.prev_hash = prev;
      row.at_ms = at_ms;
      row.data = canonical_record(e, row.seq, row.at_ms);
      row.hash = chain_hash(row.prev_hash, row.data);
      prev = row.hash;
      rows.push_back(std::move(row));
    }
    auto appended = store_.append_audit(rows);
    if (!appended) end_.reset();  // read the chain's end again next time
    if (!appended && appended.error().code == ErrorCode::Conflict) continue;  // another writer won
    if (!appended) return std::unexpected(appended.error());
    end_ = ChainEnd{rows.back().seq, rows.back().hash, rows.back().at_ms};
    if (!options_.jsonl_path.empty())
      for (const auto& row : rows) {
        std::string line = row.data;
        line.pop_back();  // the closing brace: the hashes go on the same line
        write_jsonl(line + ",\"hash\":\"" + row.hash + "\",\"prev_hash\":\"" + row.prev_hash + "\"}\n");
      }
    return seq;
  }
  return fail(ErrorCode::Unavailable, "audit: gave up after " +
                                          std::to_string(options_.max_attempts) +
                                          " appends lost to other writers");
}

void ChainedLog::write_jsonl(const std::string& line) {
  namespace fs = std::filesystem;
  const fs::path path = options_.jsonl_path;
  std::error_code ec;
  const auto size = fs::exists(path, ec) ? fs::file_size(path, ec) : 0;
  if (!ec && size > 0 && size + line.size() > options_.jsonl_max_bytes) {
    const auto numbered = [&](int i) { return fs::path(path.string() + "." + std::to_string(i)); };
    fs::remove(numbered(options_.jsonl_keep), ec);
    for (int i = options_.jsonl_keep - 1; i >= 1; --i)
      if (fs::exists(numbered(i), ec)) fs::rename(numbered(i), numbered(i + 1), ec);
    if (options_.jsonl_keep > 0)
      fs::rename(path, numbered(1), ec);
    else
      fs::remove(path, ec);
  }
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << line;
  out.flush();
  if (!out) log::error("audit file not written", {{"file", path.string()}});
}

}  // namespace opsrun::audit
