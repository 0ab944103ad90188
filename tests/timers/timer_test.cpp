#include "opsrun/timers/timer.h"

#include <gtest/gtest.h>

namespace opsrun::timers {
namespace {

SystemTime at(const char* text) {
  SystemTime t;
  EXPECT_TRUE(parse_time(text, t)) << text;
  return t;
}

Json js(const char* text) { return parse_json(text).value(); }

const SystemTime kNow = at("2026-11-22T10:00:00Z");

TEST(TimerParse, FullTimerWithFractionAndCallback) {
  auto s = parse_timer(js(R"({"id":"t-1","group_id":"billing","execute_at":"2026-11-22T10:00:05.250Z",
      "callback":{"url":"http://127.0.0.1:9/cb","headers":{"X-A":"b"},"body":{"n":1}},
      "retry":{"max_attempts":3,"initial_interval_ms":200}})"),
                       kNow, "");
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->id, "t-1");
  EXPECT_EQ(s->group_id, "billing");
  EXPECT_EQ(format_time(s->execute_at), "2026-11-22T10:00:05.250Z");
  EXPECT_EQ(s->callback->method, "POST");
  EXPECT_EQ(s->retry.max_attempts, 3);
  EXPECT_EQ(s->retry.initial_interval, Millis(200));
  EXPECT_FALSE(s->in_past);
}

TEST(TimerParse, DelayAndGeneratedId) {
  auto s = parse_timer(js(R"({"delay_ms":30000,"runbook":{"id":"restart","context":{"host":"a"}}})"), kNow, "");
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->execute_at, kNow + Millis(30000));
  EXPECT_TRUE(s->id.starts_with("tmr-"));
  EXPECT_EQ(s->runbook->id, "restart");
  EXPECT_EQ(shard_of(s->id), shard_of(s->id));
  EXPECT_LT(shard_of(s->id), kShards);
}

TEST(TimerParse, PastTimeFiresNowAndSaysSo) {
  auto s = parse_timer(js(R"({"execute_at":"2026-11-22T09:00:00Z","callback":{"url":"https://x.example/"}})"), kNow, "");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->in_past);
}

struct Bad {
  const char* json;
  const char* where;
  const char* says;
};

TEST(TimerParse, BadInputNamesTheField) {
  const Bad cases[] = {
      {R"({"callback":{"url":"http://a/"}})", "timers[2].execute_at", "required"},
      {R"({"execute_at":"tomorrow","callback":{"url":"http://a/"}})", "timers[2].execute_at", "RFC 3339"},
      {R"({"execute_at":"2100-01-01T00:00:00Z","callback":{"url":"http://a/"}})", "timers[2].execute_at", "far ahead"},
      {R"({"delay_ms":-5,"callback":{"url":"http://a/"}})", "timers[2].delay_ms", "between"},
      {R"({"delay_ms":5,"execute_at":"2026-11-22T10:00:00Z","callback":{"url":"http://a/"}})", "timers[2]", "not both"},
      {R"({"delay_ms":5,"callback":{"url":"ftp://a/"}})", "timers[2].callback.url", "scheme 'ftp'"},
      {R"({"delay_ms":5,"callback":{"url":"not a url"}})", "timers[2].callback.url", "not a URL"},
      {R"({"delay_ms":5,"callback":{"url":"http:///x"}})", "timers[2].callback.url", "no host"},
      {R"({"delay_ms":5,"callback":{"url":"http://a/","method":"GET"}})", "timers[2].callback.method", "POST"},
      {R"({"delay_ms":5})", "timers[2].callback", "exactly one"},
      {R"({"delay_ms":5,"callback":{"url":"http://a/"},"runbook":{"id":"x"}})", "timers[2].callback", "exactly one"},
      {R"({"delay_ms":5,"callback":{"url":"http://a/"},"retry":{"max_attempts":0}})", "timers[2].retry.max_attempts", "between"},
      {R"({"delay_ms":5,"callback":{"url":"http://a/"},"colour":1})", "timers[2].colour", "unknown field"},
      {R"({"id":"a b","delay_ms":5,"callback":{"url":"http://a/"}})", "timers[2].id", "letters"},
  };
  for (const auto& c : cases) {
    auto s = parse_timer(js(c.json), kNow, "timers[2]");
    ASSERT_FALSE(s) << c.json;
    EXPECT_TRUE(s.error().where.starts_with(c.where)) << c.json << " -> " << s.error().describe();
    EXPECT_NE(s.error().message.find(c.says), std::string::npos) << c.json << " -> " << s.error().describe();
  }
}

TEST(TimerRows, RoundTripAndIdempotentComparison) {
  auto s = parse_timer(js(R"({"id":"t","execute_at":"2026-11-22T10:01:00Z","callback":{"url":"http://a/","body":[1]}})"),
                       kNow, "");
  ASSERT_TRUE(s);
  const store::TimerRow row = to_row(*s, kNow);
  EXPECT_EQ(row.shard, shard_of("t"));
  auto back = from_row(row);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->execute_at, s->execute_at);
  EXPECT_EQ(back->callback->body, s->callback->body);
  EXPECT_TRUE(same_content(row, *s));
  TimerSpec other = *s;
  other.callback->body = js("[2]");
  EXPECT_FALSE(same_content(row, other));
  // A delay repeated later asks for the same timer.
  auto d1 = parse_timer(js(R"({"id":"d","delay_ms":1000,"callback":{"url":"http://a/"}})"), kNow, "");
  auto d2 = parse_timer(js(R"({"id":"d","delay_ms":1000,"callback":{"url":"http://a/"}})"), kNow + Millis(700), "");
  EXPECT_TRUE(same_content(to_row(*d1, kNow), *d2));
}

TEST(TimerRows, SecretHeadersAreHiddenInApiOutput) {
  auto s = parse_timer(js(R"({"id":"t","delay_ms":1,"callback":{"url":"http://a/","headers":{"Authorization":"Bearer s3cret","X-Trace":"1"}}})"),
                       kNow, "");
  ASSERT_TRUE(s);
  const std::string out = to_json_text(timer_to_json(to_row(*s, kNow)));
  EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;
  EXPECT_NE(out.find("\"X-Trace\":\"1\""), std::string::npos) << out;
}

TEST(TimerPatch, ChangesOnlyWhatIsGiven) {
  auto s = parse_timer(js(R"({"id":"t","delay_ms":60000,"callback":{"url":"http://a/","body":1},"retry":{"max_attempts":2}})"),
                       kNow, "");
  ASSERT_TRUE(s);
  auto p = apply_patch(*s, js(R"({"payload":{"v":2},"retry":{"initial_interval_ms":5}})"), kNow + Millis(1000));
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->execute_at, s->execute_at);  // the time stays put
  EXPECT_EQ(p->callback->body, js(R"({"v":2})"));
  EXPECT_EQ(p->retry.max_attempts, 2);
  EXPECT_EQ(p->retry.initial_interval, Millis(5));
  auto bad = apply_patch(*s, js(R"({"id":"x"})"), kNow);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "id");
}

}  // namespace
}  // namespace opsrun::timers
