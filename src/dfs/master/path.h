// Path validation for the dfs namespace.
//
// A valid path is absolute, at most `path_bytes_max` bytes, and made of
// non-empty components other than "." and "..", each at most
// `name_bytes_max` bytes and free of NUL bytes. "/" is the root (no
// components); a single trailing slash is tolerated ("/a/" is "/a").
// Anything else is InvalidArgument with the reason.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace strata::dfs::master {

struct PathLimits {
  uint32_t path_bytes_max = 4096;
  uint32_t name_bytes_max = 255;
};

Result<std::vector<std::string>> SplitPath(std::string_view path, const PathLimits& limits);

// "/" + components joined by "/".
std::string JoinPath(const std::vector<std::string>& components);

}  // namespace strata::dfs::master
