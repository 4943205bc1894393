#include "env/durable_dirs.h"

#include <vector>

namespace strata {
namespace {

std::string ParentOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : path.substr(0, slash);
}

}  // namespace

Status CreateDirsDurably(FileSystem* fs, const std::string& path) {
  std::string dir = path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  // The components this call creates, innermost first.
  std::vector<std::string> created;
  for (; !dir.empty() && dir != "/" && dir != "." && !fs->Exists(dir); dir = ParentOf(dir)) created.push_back(dir);
  RETURN_IF_ERROR(fs->CreateDirs(path));
  for (const std::string& d : created) RETURN_IF_ERROR(fs->SyncDir(ParentOf(d)));
  return Status::Ok();
}

}  // namespace strata
