// The shipped runbooks load cleanly, and the editor schema knows every key they use.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "opsrun/model/runbook_yaml.h"

namespace opsrun::model {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = OPSRUN_SOURCE_DIR;

std::vector<fs::path> shipped_runbooks() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kRoot / "runbooks"))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Shipped, AllRunbooksLoadWithoutDiagnostics) {
  const auto files = shipped_runbooks();
  std::set<std::string> ids;
  for (const auto& f : files) {
    auto r = load_runbook_file(f.string());
    std::string text;
    for (const auto& d : r.diagnostics) text += d.describe() + "\n";
    EXPECT_TRUE(r.ok()) << text;
    EXPECT_TRUE(r.diagnostics.empty()) << text;
    if (r.ok()) {
      EXPECT_EQ(r.runbook->id + ".yaml", f.filename().string());
      ids.insert(r.runbook->id);
    }
  }
  EXPECT_TRUE(ids.contains("ai-service-recovery"));
  EXPECT_TRUE(ids.contains("database-performance"));
  EXPECT_TRUE(ids.contains("high-memory-usage"));
}

// The seed's steps, in the seed's order, are all present.
TEST(Shipped, SeedStepsArePresent) {
  auto r = load_runbook_file((kRoot / "runbooks" / "ai-service-recovery.yaml").string());
  ASSERT_TRUE(r.ok());
  for (const char* id : {"health-check", "check-dependencies", "reset-circuit-breaker",
                         "clear-cache", "restart-workers", "verify-recovery", "escalate"})
    EXPECT_NE(r.runbook->find(id), nullptr) << id;
}

class Schema {
 public:
  explicit Schema(Json root) : root_(std::move(root)) {}

  // Reports keys of `node` (YAML) that the schema `s` does not declare, recursively.
  void check(const YAML::Node& node, const Json& s, const std::string& path,
             std::vector<std::string>& unknown) const {
    std::map<std::string, const Json*> props;
    std::vector<const Json*> items;
    collect(s, props, items, 0);
    if (node.IsMap() && !props.empty()) {
      for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        auto it = props.find(key);
        if (it == props.end())
          unknown.push_back(path + "." + key);
        else
          check(kv.second, *it->second, path + "." + key, unknown);
      }
    } else if (node.IsSequence()) {
      for (const auto& e : node)
        for (const Json* i : items) check(e, *i, path + "[]", unknown);
    }
  }

 private:
  const Json& resolve(const Json& s) const {
    if (s.is_object() && s.as_object().contains("$ref")) {
      std::string ref(s.at("$ref").as_string());  // "#/$defs/step"
      const Json* cur = &root_;
      std::stringstream parts(ref.substr(2));
      for (std::string part; std::getline(parts, part, '/');) cur = &cur->at(part);
      return *cur;
    }
    return s;
  }

  void collect(const Json& raw, std::map<std::string, const Json*>& props,
               std::vector<const Json*>& items, int depth) const {
    if (depth > 10) return;
    const Json& s = resolve(raw);
    if (!s.is_object()) return;
    const auto& o = s.as_object();
    if (auto* p = o.if_contains("properties"))
      for (const auto& kv : p->as_object()) props[std::string(kv.key())] = &kv.value();
    if (auto* i = o.if_contains("items")) items.push_back(i);
    for (const char* k : {"anyOf", "oneOf", "allOf"})
      if (auto* a = o.if_contains(k))
        for (const auto& b : a->as_array()) collect(b, props, items, depth + 1);
  }

  Json root_;
};

TEST(Shipped, SchemaIsValidJsonAndKnowsEveryKey) {
  std::ifstream in(kRoot / "docs" / "runbook.schema.json");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto schema = parse_json(text.str());
  ASSERT_TRUE(schema) << schema.error().describe();
  EXPECT_EQ(schema->at("$schema").as_string(), "https://json-schema.org/draft/2020-12/schema");
  Schema s(*schema);
  for (const auto& f : shipped_runbooks()) {
    std::vector<std::string> unknown;
    s.check(YAML::LoadFile(f.string()), *schema, "", unknown);
    std::string all;
    for (const auto& u : unknown) all += u + " ";
    EXPECT_TRUE(unknown.empty()) << f << ": " << all;
  }
  // The schema is not vacuous: a typo is caught by the same walk.
  std::vector<std::string> unknown;
  s.check(YAML::Load("id: x\nsteps: [{id: a, type: action, on_sucess: b, retry: {attempts: 2, "
                     "backof: fixed}}]\n"),
          *schema, "", unknown);
  EXPECT_EQ(unknown, (std::vector<std::string>{".steps[].on_sucess", ".steps[].retry.backof"}));
}

}  // namespace
}  // namespace opsrun::model

namespace opsrun::model {
namespace {

// The schema and the loader agree on the vocabulary: every key the schema offers for a step
// or a runbook is accepted by the loader (no "unknown key").
TEST(Shipped, LoaderAcceptsEverySchemaKey) {
  std::ifstream in(kRoot / "docs" / "runbook.schema.json");
  std::stringstream text;
  text << in.rdbuf();
  auto schema = parse_json(text.str());
  ASSERT_TRUE(schema);
  auto unknown_key_reported = [](const std::string& yaml) {
    auto r = load_runbook_text(yaml, "k.yaml");
    for (const auto& d : r.diagnostics)
      if (d.message.find("unknown key") != std::string::npos) return true;
    return false;
  };
  for (const auto& kv : schema->at("$defs").at("step").at("properties").as_object()) {
    const std::string key(kv.key());
    if (key == "id" || key == "type") continue;
    EXPECT_FALSE(unknown_key_reported("id: k\nstart: a\nsteps:\n  - id: a\n    type: action\n    " +
                                      key + ": x\n"))
        << key;
  }
  for (const auto& kv : schema->at("properties").as_object()) {
    const std::string key(kv.key());
    if (key == "id" || key == "start" || key == "steps") continue;
    EXPECT_FALSE(unknown_key_reported("id: k\nstart: a\n" + key +
                                      ": x\nsteps:\n  - {id: a, type: action, builtin: noop}\n"))
        << key;
  }
}

}  // namespace
}  // namespace opsrun::model
