#include "dfs/master/path.h"

#include "common/utf8.h"

namespace strata::dfs::master {

Result<std::vector<std::string>> SplitPath(std::string_view path, const PathLimits& limits) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid path '" + std::string(path.substr(0, 256)) + "': " + why);
  };
  if (path.empty() || path[0] != '/') return bad("must be absolute");
  if (path.size() > limits.path_bytes_max) return bad("longer than " + std::to_string(limits.path_bytes_max) + " bytes");
  if (path.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  for (char ch : path) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return bad("contains a control character");
  }
  if (!IsValidUtf8(path)) return bad("is not valid UTF-8");
  std::string_view rest = path.substr(1);
  if (rest == "/") return bad("empty component");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::vector<std::string> parts;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    if (name.empty()) return bad("empty component");
    if (name == "." || name == "..") return bad("'.' and '..' are not allowed");
    if (name.size() > limits.name_bytes_max) {
      return bad("a component is longer than " + std::to_string(limits.name_bytes_max) + " bytes");
    }
    parts.emplace_back(name);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    if (rest.empty()) return bad("empty component");
  }
  return parts;
}

std::string JoinPath(const std::vector<std::string>& components) {
  if (components.empty()) return "/";
  std::string out;
  for (const auto& c : components) out += "/" + c;
  return out;
}

}  // namespace strata::dfs::master
