// Structured logs: JSON lines on stderr, or plain text when stderr is a terminal.
// Registered secrets are replaced by "***" in every line before it is written.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace opsrun::log {

enum class Level { Debug, Info, Warn, Error };

using Field = std::pair<std::string_view, std::string>;

void set_level(Level level);
// Force JSON (true) or plain (false); by default plain on a terminal.
void set_json(bool json);
// Strings that must never appear in output (tokens, passwords). Empty strings are ignored.
void add_secret(std::string secret);
std::string redact(std::string text);

void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Debug, m, f); }
inline void info(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Info, m, f); }
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Warn, m, f); }
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Error, m, f); }

}  // namespace opsrun::log
