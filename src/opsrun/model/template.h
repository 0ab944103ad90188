// Templates: "{{ ctx.key }}", "{{ results.step.field }}", "{{ item }}", "{{ index }}",
// "{{ execution.id }}", "{{ env.NAME }}". A value is inserted as text into the one string it
// appears in; nothing is ever split or passed to a shell.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::model {

// `scope` is an object with the roots: ctx, results, item, index, execution, env.
// A path that does not resolve renders as an empty string (like the seed's JS templates);
// a syntax error ("{{ ctx.a" unclosed, unknown root) is an error.
[[nodiscard]] Result<std::string> render_template(std::string_view text, const Json& scope);
// Syntax check only, for validation: names the first problem.
[[nodiscard]] Result<void> check_template(std::string_view text);
// When `text` is exactly one "{{ path }}", the value it points at (keeps type), else null.
const Json* template_single_value(std::string_view text, const Json& scope);

}  // namespace opsrun::model
