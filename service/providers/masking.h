// How a sensitive setting is shown to the admin: enough to recognise which
// key is configured, never enough to use it.
#pragma once

#include <string>
#include <string_view>

namespace secretsd::providers {

// Counted in characters (UTF-8 code points):
//   fewer than 12     -> "••••"               (any hint would be a big fraction)
//   12 to 19          -> "…" + last 4
//   20 or more        -> first 3 + "…" + last 4  ("sk-…abcd")
// So at most 7 characters, and never more than a third of the value, show.
std::string mask_value(std::string_view value);

}  // namespace secretsd::providers
