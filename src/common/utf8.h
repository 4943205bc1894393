// UTF-8 validation, for names that travel in protobuf string fields (which
// must hold valid UTF-8) and are shown to people.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace strata {

// True if `s` is well-formed UTF-8: no stray continuation bytes, no
// truncated or overlong sequences, no surrogates, nothing past U+10FFFF.
bool IsValidUtf8(std::string_view s);

}  // namespace strata
