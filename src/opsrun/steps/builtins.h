// The built-in steps every runner has: noop, sleep (with.duration), fail (with.message),
// log (with.message). `with` reaches them already rendered.
#pragma once

#include <map>
#include <string>

#include "opsrun/steps/step_runner.h"

namespace opsrun::steps {

std::map<std::string, BuiltinFn, std::less<>> default_builtins();

}  // namespace opsrun::steps
