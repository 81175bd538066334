// The Jinja interpreter on its own: snippets with outputs written from Jinja semantics (tests/hf/jinja_snippets.json:
// whitespace control, loop variables, filters, namespace scoping, macros, ...), each also rendered by
// @huggingface/jinja (build/reference/jinja_snippets.json) so the expectations are checked against the reference
// engine too; and hostile templates, which must end in an error naming the problem, never a crash or a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "expect_error.h"
#include "io/atomic_file.h"
#include "tokenizer/jinja/template.h"

namespace tandem {
namespace {

using ojson = nlohmann::ordered_json;
using testing::expect_error;

std::string render(const std::string& text, const ojson& context = ojson::object()) {
  jinja::RenderOptions o;
  o.strftime_now = [](const std::string& f) { return f == "%d %b %Y" ? std::string("26 Jul 2026") : f; };
  return jinja::Template(text).render(context, o);
}

TEST(Jinja, SnippetsMatchJinjaSemanticsAndTheReference) {
  const auto snippets = ojson::parse(read_file(std::string(TANDEM_HF_DIR) + "/jinja_snippets.json"));
  const auto ref = ojson::parse(read_file(std::string(TANDEM_REFERENCE_DIR) + "/jinja_snippets.json"));
  ASSERT_EQ(snippets.size(), ref.size()) << "stale reference: re-run tests/hf/make_reference.sh build/reference";
  for (size_t i = 0; i < snippets.size(); ++i) {
    const ojson& s = snippets[i];
    const std::string name = s["name"];
    const ojson context = s.contains("context") ? s["context"] : ojson::object();
    if (s.contains("error")) {
      EXPECT_TRUE(ref[i].contains("error")) << name << ": @huggingface/jinja did not fail";
      expect_error([&] { render(s["template"], context); }, {s["error"].get<std::string>()});
      continue;
    }
    const std::string want = s["expected"];
    EXPECT_EQ(ref[i].value("text", "<error: " + ref[i].value("error", std::string()) + ">"), want)
        << name << ": the reference disagrees with the expectation";
    try {
      EXPECT_EQ(render(s["template"], context), want) << name;
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
    }
  }
}

TEST(Jinja, ErrorsNameTheLineAndTheConstruct) {
  expect_error([] { render("a\nb\n{{ x | }}"); }, {"line 3"});
  expect_error([] { render("{% for x in xs %}"); }, {"endfor"});
  expect_error([] { render("{{ 'unterminated }}"); }, {"line 1", "end of template"});
  expect_error([] { render("\n{{ [1] | frobnicate }}"); }, {"line 2", "frobnicate"});
  expect_error([] { render("{{ x.append(1) }}", {{"x", ojson::array()}}); }, {"cannot call", "append"});
  expect_error([] { render("{% break %}"); }, {"outside a loop"});
  expect_error([] { render("{{ raise_exception('bad role: ' ~ r) }}", {{"r", "robot"}}); }, {"bad role: robot"});
}

// Each hostile template stops at a limit with an error, quickly.
TEST(Jinja, HostileTemplatesEndInErrors) {
  const auto start = std::chrono::steady_clock::now();
  expect_error([] { render("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"); }, {"nesting deeper"});
  std::string deep_ifs;
  for (int i = 0; i < 2000; ++i) deep_ifs += "{% if true %}";
  expect_error([&] { render(deep_ifs); }, {"nesting deeper"});
  expect_error([] { render("{{ range(100000000) | length }}"); }, {"list longer"});
  expect_error([] { render("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                           "{% endfor %}{% endfor %}{% endfor %}"); },
               {"evaluation steps"});
  expect_error([] { render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"); }, {"nested deeper"});
  expect_error([] { render("{% set ns = namespace(s='abcdefgh') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                           "{% endfor %}{{ ns.s }}"); },
               {"text longer"});
  expect_error([] { render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}"); }, {"nested deeper"});
  expect_error([] { render("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}"
                           "{% endfor %}"); },
               {"list longer"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 60.0);
}

TEST(Jinja, ContextValuesKeepTheirTypesAndKeyOrder) {
  const ojson ctx = ojson::parse(R"({"d": {"z": 1, "a": 2.5, "n": null, "t": true, "l": [1, "x"]}})");
  EXPECT_EQ(render("{{ d | tojson }}", ctx), R"({"z": 1, "a": 2.5, "n": null, "t": true, "l": [1, "x"]})");
  EXPECT_EQ(render("{% for k in d %}{{ k }}{% endfor %}", ctx), "zantl");
  EXPECT_EQ(render("{{ d.a * 2 }} {{ d.z / 2 }} {{ d.t }}", ctx), "5.0 0.5 true");
}

}  // namespace
}  // namespace tandem
