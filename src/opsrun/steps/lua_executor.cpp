#include "opsrun/steps/lua_executor.h"

#include <lua.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "opsrun/common/log.h"
#include "opsrun/steps/http_executor.h"

namespace opsrun::steps {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kHookEvery = 1000;   // instructions between checks
constexpr int kMaxDepth = 64;      // JSON <-> Lua nesting, also catches cyclic tables

enum class Stop { None, Budget, Cancelled, Timeout };

// Per-attempt state the allocator and the hook see; lives on run()'s stack and outlives the
// lua_State.
struct Sandbox {
  std::size_t used = 0;
  std::size_t limit = 0;
  std::uint64_t instructions = 0;
  std::uint64_t instruction_limit = 0;
  CancelToken* cancel = nullptr;
  std::optional<SteadyClock::time_point> deadline;
  Stop stop = Stop::None;
  // What protected_main needs; pointers only, so nothing needs destroying on a longjmp.
  const AttemptRequest* request = nullptr;
};

// Key (by address) of the metatable that marks tables made from JSON arrays, so an empty
// array stays an array on the way back.
const char kArrayMarker = 0;

Sandbox& sandbox_of(lua_State* L) { return **static_cast<Sandbox**>(lua_getextraspace(L)); }

void* sandbox_alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  auto* sb = static_cast<Sandbox*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;  // for new blocks osize is a type tag
  if (nsize == 0) {
    std::free(ptr);
    sb->used -= old;
    return nullptr;
  }
  if (nsize > old && sb->used - old + nsize > sb->limit) return nullptr;  // Lua: "not enough memory"
  void* p = std::realloc(ptr, nsize);
  if (p != nullptr) sb->used = sb->used - old + nsize;
  return p;
}

void count_hook(lua_State* L, lua_Debug*) {
  Sandbox& sb = sandbox_of(L);
  sb.instructions += kHookEvery;
  if (sb.stop == Stop::None) {
    if (sb.cancel->requested())
      sb.stop = sb.cancel->reason() == CancelReason::Timeout ? Stop::Timeout : Stop::Cancelled;
    else if (sb.deadline && SteadyClock::now() >= *sb.deadline)
      sb.stop = Stop::Timeout;
    else if (sb.instructions > sb.instruction_limit)
      sb.stop = Stop::Budget;
    if (sb.stop == Stop::None) return;
    // From now on fire at every instruction, so a script that swallows the error with pcall
    // meets it again on its very next instruction outside the pcall.
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  }
  luaL_error(L, "script stopped");
}

// Text-only `load`: binary chunks could break the VM's invariants.
int safe_load(lua_State* L) {
  const int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  if (n >= 2) lua_pushvalue(L, 2);
  else lua_pushnil(L);
  lua_pushliteral(L, "t");
  // An explicit nil env would become the chunk's _ENV; pass env only when the caller did.
  if (n >= 4) lua_pushvalue(L, 4);
  lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
  return lua_gettop(L) - n;
}

void write_log_line(const char* text, std::size_t len) noexcept {
  try {
    log::info("lua print", {{"text", std::string(text, len)}});
  } catch (...) {
  }
}

// print() goes to the structured log, not to our stdout.
int log_print(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
    if (i < n) luaL_addchar(&b, '\t');
  }
  luaL_pushresult(&b);
  std::size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  write_log_line(s, len);
  return 0;
}

int message_handler(lua_State* L) {
  if (lua_type(L, 1) == LUA_TSTRING) return 1;
  if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
  lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  return 1;
}

void push_json(lua_State* L, const Json& v, int depth) {
  luaL_checkstack(L, 3, "JSON too deep");
  if (depth > kMaxDepth) luaL_error(L, "JSON nested too deeply");
  switch (v.kind()) {
    case boost::json::kind::null: lua_pushnil(L); return;
    case boost::json::kind::bool_: lua_pushboolean(L, v.get_bool() ? 1 : 0); return;
    case boost::json::kind::int64: lua_pushinteger(L, static_cast<lua_Integer>(v.get_int64())); return;
    case boost::json::kind::uint64: {
      const std::uint64_t u = v.get_uint64();
      if (u <= static_cast<std::uint64_t>(LUA_MAXINTEGER)) lua_pushinteger(L, static_cast<lua_Integer>(u));
      else lua_pushnumber(L, static_cast<lua_Number>(u));
      return;
    }
    case boost::json::kind::double_: lua_pushnumber(L, v.get_double()); return;
    case boost::json::kind::string: {
      const auto& s = v.get_string();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      lua_createtable(L, static_cast<int>(a.size()), 0);
      lua_Integer i = 1;
      for (const auto& e : a) {
        push_json(L, e, depth + 1);
        lua_rawseti(L, -2, i++);
      }
      lua_rawgetp(L, LUA_REGISTRYINDEX, &kArrayMarker);
      lua_setmetatable(L, -2);
      return;
    }
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      lua_createtable(L, 0, static_cast<int>(o.size()));
      for (const auto& kv : o) {
        lua_pushlstring(L, kv.key().data(), kv.key().size());
        push_json(L, kv.value(), depth + 1);
        lua_rawset(L, -3);
      }
      return;
    }
  }
  lua_pushnil(L);
}

void set_global_json(lua_State* L, const Json& scope, const char* name) {
  const Json* v = nullptr;
  if (scope.is_object()) {
    auto it = scope.get_object().find(name);
    if (it != scope.get_object().end()) v = &it->value();
  }
  if (v != nullptr) push_json(L, *v, 0);
  else if (std::string_view(name) == "ctx") lua_newtable(L);
  else lua_pushnil(L);
  lua_setglobal(L, name);
}

// Runs inside lua_pcall: builds the sandbox, runs the script, returns (value, ctx).
// Only Lua API calls and reads of const JSON here, so a Lua error (longjmp) skips no
// destructor.
int protected_main(lua_State* L) {
  Sandbox& sb = sandbox_of(L);
  const AttemptRequest& req = *sb.request;

  lua_newtable(L);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__name");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kArrayMarker);

  const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},     {LUA_STRLIBNAME, luaopen_string},
                           {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
                           {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const auto& lib : libs) {
    luaL_requiref(L, lib.name, lib.func, 1);
    lua_pop(L, 1);
  }
  // os: only the clock and calendar functions.
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
  lua_newtable(L);
  for (const char* fn : {"time", "clock", "date"}) {
    lua_getfield(L, -2, fn);
    lua_setfield(L, -2, fn);
  }
  lua_setglobal(L, "os");
  lua_pop(L, 1);
  // The loaded-modules table still holds the full os library; nothing can reach it without
  // require/package/debug, but drop it anyway.
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  lua_setfield(L, -2, LUA_OSLIBNAME);
  lua_pop(L, 1);

  for (const char* name : {"dofile", "loadfile", "require", "package", "debug", "io"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_getglobal(L, "load");
  lua_pushcclosure(L, safe_load, 1);
  lua_setglobal(L, "load");
  lua_pushcfunction(L, log_print);
  lua_setglobal(L, "print");
  lua_getglobal(L, LUA_STRLIBNAME);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);

  for (const char* name : {"ctx", "results", "item", "index", "execution", "env"})
    set_global_json(L, req.scope, name);

  const std::string& script = req.step->lua;
  if (luaL_loadbufferx(L, script.data(), script.size(), "=lua", "t") != LUA_OK) lua_error(L);
  lua_call(L, 0, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushliteral(L, "ctx");
  lua_rawget(L, -2);
  lua_remove(L, -2);
  return 2;
}

// Lua -> JSON, outside any Lua frame, with API calls that never raise (no allocation, no
// metamethods), so C++ exceptions here are safe.
Result<Json> to_json(lua_State* L, int idx, int depth, const std::string& where) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TNIL: return Json(nullptr);
    case LUA_TBOOLEAN: return Json(lua_toboolean(L, idx) != 0);
    case LUA_TNUMBER: {
      if (lua_isinteger(L, idx)) return Json(static_cast<std::int64_t>(lua_tointeger(L, idx)));
      const double d = lua_tonumber(L, idx);
      if (!std::isfinite(d)) return Json(nullptr);
      return Json(d);
    }
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, idx, &len);
      return Json(boost::json::string(s, len));
    }
    case LUA_TTABLE: break;
    default:
      return fail(ErrorCode::InvalidArgument,
                  where + ": cannot convert a " + lua_typename(L, lua_type(L, idx)) + " to JSON");
  }
  if (depth > kMaxDepth) return fail(ErrorCode::InvalidArgument, where + ": table nested too deeply (a cycle?)");
  if (!lua_checkstack(L, 4)) return fail(ErrorCode::Internal, where + ": Lua stack exhausted");

  std::size_t count = 0;
  bool sequence = true;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    ++count;
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1) sequence = false;
    lua_pop(L, 1);
  }
  // Keys are distinct positive integers; they are exactly 1..n when none exceeds n.
  if (sequence && count > 0) {
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      if (static_cast<std::size_t>(lua_tointeger(L, -2)) > count) sequence = false;
      lua_pop(L, 1);
    }
  }
  bool is_array = sequence && count > 0;
  if (count == 0 && lua_getmetatable(L, idx)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kArrayMarker);
    is_array = lua_rawequal(L, -1, -2) != 0;
    lua_pop(L, 2);
  }
  if (is_array) {
    JsonArray arr;
    arr.reserve(count);
    for (std::size_t i = 1; i <= count; ++i) {
      lua_rawgeti(L, idx, static_cast<lua_Integer>(i));
      auto e = to_json(L, -1, depth + 1, where + "[" + std::to_string(i) + "]");
      lua_pop(L, 1);
      if (!e) return e;
      arr.push_back(std::move(*e));
    }
    return arr;
  }
  JsonObject obj;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    std::string key;
    const int kt = lua_type(L, -2);
    if (kt == LUA_TSTRING) {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, -2, &len);  // a string already: no conversion
      key.assign(s, len);
    } else if (kt == LUA_TNUMBER && lua_isinteger(L, -2)) {
      key = std::to_string(lua_tointeger(L, -2));
    } else if (kt == LUA_TNUMBER) {
      key = to_json_text(Json(lua_tonumber(L, -2)));
    } else if (kt == LUA_TBOOLEAN) {
      key = lua_toboolean(L, -2) ? "true" : "false";
    } else {
      lua_pop(L, 2);
      return fail(ErrorCode::InvalidArgument,
                  where + ": a " + lua_typename(L, kt) + " key cannot be a JSON object key");
    }
    auto e = to_json(L, -1, depth + 1, where + "." + key);
    lua_pop(L, 1);
    if (!e) {
      lua_pop(L, 1);
      return e;
    }
    obj[key] = std::move(*e);
  }
  return obj;
}

struct LuaCloser {
  void operator()(lua_State* L) const { lua_close(L); }
};

bool json_same(const Json& a, const Json& b);

}  // namespace

StepOutcome LuaExecutor::run(const AttemptRequest& request, CancelToken& cancel) {
  StepOutcome o;
  const auto t0 = SteadyClock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<Millis>(SteadyClock::now() - t0).count();
  };
  auto failed = [&](std::string error) {
    o.ok = false;
    o.error = std::move(error);
    o.result = JsonObject{{"status", "failure"}, {"error", o.error}, {"duration_ms", elapsed_ms()}};
    return o;
  };

  Sandbox sb;
  sb.limit = options_.memory_limit;
  sb.instruction_limit = options_.instruction_limit;
  sb.cancel = &cancel;
  sb.request = &request;
  if (request.timeout) sb.deadline = t0 + *request.timeout;

  std::unique_ptr<lua_State, LuaCloser> state(lua_newstate(sandbox_alloc, &sb));
  if (!state) return failed("lua: cannot create a Lua state");
  lua_State* L = state.get();
  *static_cast<Sandbox**>(lua_getextraspace(L)) = &sb;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookEvery);

  lua_pushcfunction(L, message_handler);
  lua_pushcfunction(L, protected_main);
  const int rc = lua_pcall(L, 0, 2, 1);
  if (rc != LUA_OK) {
    std::string msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";
    switch (sb.stop) {
      case Stop::Timeout:
        o.timed_out = true;
        return failed("lua: timed out after " + std::to_string(elapsed_ms()) + "ms");
      case Stop::Cancelled:
        o.cancelled = true;
        return failed("cancelled");
      case Stop::Budget:
        return failed("lua: instruction limit exceeded (" +
                      std::to_string(options_.instruction_limit) + " instructions)");
      case Stop::None: break;
    }
    if (rc == LUA_ERRMEM)
      return failed("lua: memory limit exceeded (" + std::to_string(options_.memory_limit >> 20) + " MiB)");
    return failed("lua: " + msg);
  }

  auto value = to_json(L, -2, 0, "return value");
  if (!value) return failed("lua: " + value.error().message);
  auto ctx_after = to_json(L, -1, 0, "ctx");
  if (!ctx_after) return failed("lua: " + ctx_after.error().message);

  // Top-level ctx fields that the script added, changed or removed.
  static const Json kEmpty = JsonObject{};
  const Json* before = request.scope.is_object() ? find_path(request.scope, "ctx") : nullptr;
  const JsonObject& old_ctx = before != nullptr && before->is_object() ? before->get_object() : kEmpty.get_object();
  if (ctx_after->is_object()) {
    for (const auto& kv : ctx_after->get_object()) {
      const auto it = old_ctx.find(kv.key());
      if (it == old_ctx.end() || !json_same(it->value(), kv.value())) o.ctx_updates[kv.key()] = kv.value();
    }
    for (const auto& kv : old_ctx)
      if (!kv.value().is_null() && !ctx_after->get_object().contains(kv.key()))
        o.ctx_updates[kv.key()] = nullptr;
  }

  o.ok = true;
  o.value = std::move(*value);
  o.result = JsonObject{{"status", "success"}, {"value", o.value}, {"duration_ms", elapsed_ms()}};
  return o;
}

namespace {

// As json_equal, but an empty object and an empty array are the same (Lua cannot tell them
// apart once a script has rebuilt the table).
bool json_same(const Json& a, const Json& b) {
  const bool a_empty = (a.is_object() && a.get_object().empty()) || (a.is_array() && a.get_array().empty());
  const bool b_empty = (b.is_object() && b.get_object().empty()) || (b.is_array() && b.get_array().empty());
  if (a_empty && b_empty) return true;
  return json_equal(a, b);
}

}  // namespace

}  // namespace opsrun::steps
