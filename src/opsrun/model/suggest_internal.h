// "did you mean ...?" for misspelled keys and step ids.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace opsrun::model {

// The candidate closest to `word` by edit distance when it is close enough to be a likely
// typo (at most 2 edits, and fewer than half the word), else empty.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace opsrun::model
