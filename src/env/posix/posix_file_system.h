// PosixFileSystem: the real FileSystem over POSIX calls (pread/pwrite,
// fdatasync, ftruncate, statvfs). EINTR is retried; every other errno becomes
// a Status naming the path.
//
// Thread-safety: thread-safe; see file_system.h for File.
#pragma once

#include <memory>

#include "env/file_system.h"

namespace strata {

std::shared_ptr<FileSystem> NewPosixFileSystem();

}  // namespace strata
