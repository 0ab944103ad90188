// Templates: lookup, text insertion that never changes structure, and syntax errors.
#include <gtest/gtest.h>

#include "opsrun/model/template.h"

namespace opsrun::model {
namespace {

Json scope() {
  auto j = parse_json(R"J({
    "ctx": {"a": {"b": "deep"}, "n": 42, "flag": true, "list": [1, "two"], "obj": {"k": 1},
            "evil": "x; touch /tmp/pwned", "sub": "$(id)", "braces": "{{ ctx.n }}"},
    "results": {"health-check": {"status": "success", "exit_code": 0, "http_status": 200,
                                 "json": {"items": [{"name": "q"}]}}},
    "item": {"field": "value"},
    "index": 3,
    "execution": {"id": "exec-123"},
    "env": {"HOME_DIR": "/home/op"}
  })J");
  return j ? *j : Json();
}

std::string render(std::string_view t) {
  auto r = render_template(t, scope());
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r.value_or("<error>");
}

TEST(Template, Roots) {
  EXPECT_EQ(render("{{ ctx.a.b }}"), "deep");
  EXPECT_EQ(render("{{ctx.a.b}}"), "deep");
  EXPECT_EQ(render("{{   ctx.a.b\t}}"), "deep");
  EXPECT_EQ(render("{{ results.health-check.status }}"), "success");
  EXPECT_EQ(render("{{ results.health-check.http_status }}"), "200");
  EXPECT_EQ(render("{{ results.health-check.json.items.0.name }}"), "q");
  EXPECT_EQ(render("{{ item.field }}"), "value");
  EXPECT_EQ(render("{{ index }}"), "3");
  EXPECT_EQ(render("{{ execution.id }}"), "exec-123");
  EXPECT_EQ(render("{{ env.HOME_DIR }}"), "/home/op");
}

TEST(Template, ValuesAsText) {
  EXPECT_EQ(render("n={{ ctx.n }} f={{ ctx.flag }}"), "n=42 f=true");
  EXPECT_EQ(render("{{ ctx.list }}"), R"([1,"two"])");
  EXPECT_EQ(render("{{ ctx.obj }}"), R"({"k":1})");
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("a }} b"), "a }} b");
}

TEST(Template, UnresolvedPathsRenderEmpty) {
  EXPECT_EQ(render("[{{ ctx.missing }}]"), "[]");
  EXPECT_EQ(render("[{{ ctx.a.b.c }}]"), "[]");
  EXPECT_EQ(render("[{{ results.never-ran.stdout }}]"), "[]");
  EXPECT_EQ(render("[{{ ctx.list.9 }}]"), "[]");
  auto r = render_template("{{ item }}", JsonObject{{"item", nullptr}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "");
}

TEST(Template, InjectionStringsStayLiteral) {
  EXPECT_EQ(render("echo {{ ctx.evil }}"), "echo x; touch /tmp/pwned");
  EXPECT_EQ(render("{{ ctx.sub }}"), "$(id)");
  // A value that looks like a template is not expanded again.
  EXPECT_EQ(render("{{ ctx.braces }}"), "{{ ctx.n }}");
}

TEST(Template, SyntaxErrors) {
  EXPECT_FALSE(render_template("{{ ctx.a", scope()));
  EXPECT_FALSE(render_template("{{ }}", scope()));
  EXPECT_FALSE(render_template("{{ secrets.key }}", scope()));
  EXPECT_FALSE(render_template("{{ ctx..a }}", scope()));
  EXPECT_FALSE(render_template("{{ ctx.a b }}", scope()));
  EXPECT_FALSE(render_template("{{ ctx.$(id) }}", scope()));
  auto e = check_template("x {{ shell.cmd }}");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("unknown template root 'shell'"), std::string::npos);
  EXPECT_TRUE(check_template("{{ ctx.a }}-{{ index }}"));
  EXPECT_TRUE(check_template("no templates"));
}

TEST(Template, SingleValueKeepsType) {
  const Json s = scope();
  const Json* v = template_single_value("{{ ctx.list }}", s);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->is_array());
  v = template_single_value("{{ctx.n}}", s);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->as_int64(), 42);
  EXPECT_EQ(template_single_value("x {{ ctx.n }}", s), nullptr);
  EXPECT_EQ(template_single_value("{{ ctx.n }}{{ ctx.n }}", s), nullptr);
  EXPECT_EQ(template_single_value("{{ ctx.missing }}", s), nullptr);
  EXPECT_EQ(template_single_value("{{ bad.root }}", s), nullptr);
}

}  // namespace
}  // namespace opsrun::model
