// The YAML walk of opsrun.yaml shared by config.cpp and channels.cpp: typed reads with
// ${VAR} expansion and file:line:column errors. Internal to the config module.
#pragma once

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <set>
#include <string>

#include "opsrun/common/duration.h"
#include "opsrun/common/json.h"
#include "opsrun/config/channels.h"

namespace opsrun::config::detail {

// Errors inside the walk travel as this exception and become a Result at load_text's edge.
struct ConfigError {
  std::string message;
  std::string where;
};

class YamlReader {
 public:
  explicit YamlReader(std::string name) : name_(std::move(name)) {}

  std::string where(const YAML::Node& n) const {
    auto m = n.Mark();
    return name_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  [[noreturn]] void error(const YAML::Node& n, std::string msg) const {
    throw ConfigError{std::move(msg), where(n)};
  }

  // ${VAR} expansion; "$${" stays a literal "${".
  std::string expand(const YAML::Node& n, const std::string& in) const {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in.compare(i, 3, "$${") == 0) {
        out += "${";
        i += 2;
        continue;
      }
      if (in.compare(i, 2, "${") == 0) {
        auto close = in.find('}', i + 2);
        if (close == std::string::npos)
          error(n, "unterminated ${ (no closing '}'; the value is not shown: it may be a secret)");
        std::string var = in.substr(i + 2, close - i - 2);
        const char* v = std::getenv(var.c_str());
        if (v == nullptr) error(n, "environment variable " + var + " is not set");
        out += v;
        i = close;
        continue;
      }
      out += in[i];
    }
    return out;
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) error(n, key + ": expected a string");
    return expand(n, n.Scalar());
  }
  bool boolean(const YAML::Node& n, const std::string& key) const {
    auto s = str(n, key);
    if (s == "true") return true;
    if (s == "false") return false;
    error(n, key + ": expected true or false, got '" + s + "'");
  }
  std::uint64_t number(const YAML::Node& n, const std::string& key) const {
    auto s = str(n, key);
    std::uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) {
      error(n, key + ": expected a non-negative integer, got '" + s + "'");
    }
    return v;
  }
  Millis duration(const YAML::Node& n, const std::string& key) const {
    auto d = parse_duration(str(n, key));
    if (!d) error(n, key + ": " + d.error().message);
    return *d;
  }
  void map(const YAML::Node& n, const std::string& key) const {
    if (!n.IsMap()) error(n, key + ": expected a mapping");
  }
  // Calls f(key, value) for each entry, refusing keys outside `known`.
  template <class F>
  void fields(const YAML::Node& n, const std::string& ctx, std::set<std::string> known, F f) const {
    map(n, ctx);
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (!known.contains(k)) {
        std::string list;
        for (auto& s : known) list += (list.empty() ? "" : ", ") + s;
        error(it->first,
              "unknown key '" + (ctx.empty() ? k : ctx + "." + k) + "' (known: " + list + ")");
      }
      f(k, it->second);
    }
  }

  Json raw(const YAML::Node& n) const {
    switch (n.Type()) {
      case YAML::NodeType::Map: {
        JsonObject o;
        for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = raw(it->second);
        return o;
      }
      case YAML::NodeType::Sequence: {
        JsonArray a;
        for (const auto& e : n) a.push_back(raw(e));
        return a;
      }
      case YAML::NodeType::Scalar:
        return Json(expand(n, n.Scalar()));
      default:
        return nullptr;
    }
  }

 private:
  std::string name_;
};

// The `channels:` section (channels.cpp).
std::vector<ChannelConfig> read_channels(const YamlReader& r, const YAML::Node& section);

}  // namespace opsrun::config::detail
