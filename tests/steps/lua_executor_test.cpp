// The Lua executor: results, ctx updates, and the sandbox.
#include <future>

#include "opsrun/steps/lua_executor.h"
#include "steps/steps_fixture.h"

namespace opsrun::testing {
namespace {

using steps::CancelReason;
using steps::CancelToken;
using steps::LuaExecutor;
using steps::LuaOptions;

struct LuaTest : ::testing::Test {
  SystemClock clock;
  CancelToken token{clock};
  LuaExecutor lua;

  steps::StepOutcome run(std::string script, Json ctx = JsonObject{},
                         std::optional<Millis> timeout = std::nullopt) {
    step = lua_step(std::move(script));
    return lua.run(request_for(step, std::move(ctx), timeout), token);
  }
  model::Step step;
};

TEST_F(LuaTest, ReturnValuesConvertToJson) {
  auto o = run("return {1, 2, 'three'}");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(to_json_text(o.value), R"([1,2,"three"])");
  o = run("return {name = 'api', replicas = 3, ok = true, load = 0.5, tags = {'a'}}");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.value.at("name").as_string(), "api");
  EXPECT_EQ(o.value.at("replicas").as_int64(), 3);
  EXPECT_TRUE(o.value.at("ok").as_bool());
  EXPECT_DOUBLE_EQ(o.value.at("load").as_double(), 0.5);
  EXPECT_EQ(o.value.at("tags").as_array().size(), 1u);
  o = run("return {[1] = 'a', [3] = 'c'}");  // not 1..n: an object
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_TRUE(o.value.is_object());
  o = run("return nil");
  ASSERT_TRUE(o.ok);
  EXPECT_TRUE(o.value.is_null());
}

TEST_F(LuaTest, ScopeGlobalsAreVisible) {
  step = lua_step("return ctx.service .. '/' .. execution.id .. '/' .. tostring(ctx.list[2])");
  auto req = request_for(step, JsonObject{{"service", "api"}, {"list", JsonArray{10, 20}}});
  auto o = lua.run(req, token);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.value.as_string(), "api/exec-test-1/20");
}

TEST_F(LuaTest, CtxAssignmentsBecomeCtxUpdates) {
  auto o = run("ctx.seen = true; ctx.count = ctx.count + 1; ctx.gone = nil; ctx.nested.x = 2",
               JsonObject{{"count", 1}, {"gone", "x"}, {"same", "y"}, {"nested", JsonObject{{"x", 1}}},
                          {"empty", JsonArray{}}});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_TRUE(o.ctx_updates.at("seen").as_bool());
  EXPECT_EQ(o.ctx_updates.at("count").as_int64(), 2);
  EXPECT_TRUE(o.ctx_updates.at("gone").is_null());
  EXPECT_EQ(o.ctx_updates.at("nested").at("x").as_int64(), 2);
  EXPECT_FALSE(o.ctx_updates.contains("same"));
  EXPECT_FALSE(o.ctx_updates.contains("empty"));
}

TEST_F(LuaTest, ErrorsAreFailuresWithTheMessage) {
  auto o = run("error('disk full')");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("disk full"), std::string::npos) << o.error;
  o = run("this is not lua");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("lua:"), std::string::npos) << o.error;
  o = run("error({code = 1})");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("table"), std::string::npos) << o.error;
}

TEST_F(LuaTest, SandboxRefusesDangerousFunctions) {
  TempDir dir;
  const std::string victim = dir.file("pwned");
  for (const std::string& script : std::vector<std::string>{"os.execute('touch " + victim + "')", "io.open('" + victim + "', 'w')",
        "require('os')", "loadfile('/etc/passwd')", "dofile('/etc/passwd')",
        "package.loadlib('libc.so.6', 'system')", "debug.getregistry()", "os.exit(1)",
        "os.remove('/tmp/x')", "os.getenv('HOME')", "string.dump(print)"}) {
    auto o = run(script);
    EXPECT_FALSE(o.ok) << script << " was allowed";
    EXPECT_NE(o.error.find("nil"), std::string::npos) << script << ": " << o.error;
  }
  EXPECT_FALSE(std::filesystem::exists(victim));
}

TEST_F(LuaTest, SafeFunctionsRemain) {
  auto o = run(R"(
    local ok, err = pcall(error, 'x')
    assert(not ok and err == 'x')
    assert(type(os.time()) == 'number' and type(os.clock()) == 'number' and os.date('%Y') ~= nil)
    assert(string.upper('a') == 'A' and math.max(1, 2) == 2 and utf8.char(72) == 'H')
    local t = {} table.insert(t, 1) assert(#t == 1 and select('#', 1, 2) == 2)
    assert(tonumber('5') == 5 and tostring(5) == '5' and next({}) == nil)
    for _, v in ipairs({1}) do end for k, v in pairs({a = 1}) do end
    local f = load('return 1 + 1') assert(f() == 2)
    print('hello from lua')
    return true
  )");
  EXPECT_TRUE(o.ok) << o.error;
}

TEST_F(LuaTest, LoadRefusesBinaryChunks) {
  auto o = run("local f, err = load('\\27Lua') assert(f == nil) return err");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_NE(o.value.as_string().find("binary"), std::string::npos) << o.value;
}

TEST_F(LuaTest, RunawayLoopIsStoppedByTheInstructionBudget) {
  LuaExecutor tight{LuaOptions{64u << 20, 1'000'000}};
  step = lua_step("while true do end");
  const auto t0 = std::chrono::steady_clock::now();
  auto o = tight.run(request_for(step), token);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("instruction limit"), std::string::npos) << o.error;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(LuaTest, PcallCannotSwallowTheStop) {
  LuaExecutor tight{LuaOptions{64u << 20, 1'000'000}};
  step = lua_step("while true do pcall(function() while true do end end) end");
  auto o = tight.run(request_for(step), token);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("instruction limit"), std::string::npos) << o.error;
}

TEST_F(LuaTest, RunawayLoopIsStoppedByTheTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  auto o = run("while true do end", JsonObject{}, Millis(200));
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(LuaTest, RunawayLoopIsStoppedByCancel) {
  step = lua_step("while true do end");
  auto req = request_for(step);
  auto fut = std::async(std::launch::async, [&] { return lua.run(req, token); });
  std::this_thread::sleep_for(Millis(50));
  token.request(CancelReason::Cancelled);
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto o = fut.get();
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.cancelled);
}

TEST_F(LuaTest, MemoryIsCapped) {
  LuaExecutor small{LuaOptions{4u << 20, 200'000'000}};
  step = lua_step("local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 100) .. i end");
  auto o = small.run(request_for(step), token);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("memory"), std::string::npos) << o.error;
}

TEST_F(LuaTest, UnconvertibleAndCyclicValuesFailCleanly) {
  auto o = run("return print");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("function"), std::string::npos) << o.error;
  o = run("local t = {} t.self = t return t");
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("nested"), std::string::npos) << o.error;
}

}  // namespace
}  // namespace opsrun::testing
