// CreateDirsDurably: mkdir -p whose result survives a power loss.
//
// A directory created by mkdir is not durable until the directory holding
// it is synced (POSIX says nothing is; ext4 and xfs only order it by
// chance): a chunk store that creates its disk directory and writes synced
// files into it can lose all of them with the directory. This creates the
// missing components of `path` and syncs the parent of each one it created,
// so that when it returns OK the whole path is durable.
//
// Thread-safety: as the FileSystem. Ownership: borrows `fs`.
#pragma once

#include <string>

#include "env/file_system.h"

namespace strata {

Status CreateDirsDurably(FileSystem* fs, const std::string& path);

}  // namespace strata
