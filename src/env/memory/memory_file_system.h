// MemoryFileSystem: a FileSystem held in memory, for tests and fuzz
// harnesses that want files without a disk (thousands of replicas a second,
// nothing left behind). Behaves as a POSIX file system where callers can
// tell: a file's parent directory must exist, a removed or renamed-over file
// stays readable through handles already open, Rename replaces its target,
// a read-only handle refuses writes. Nothing is ever lost, so Sync and
// SyncDir only succeed (a crash model is CrashableFileSystem's, over real
// paths). Files are sparse, in 4 KiB pages: a hole (past a write, or made
// by growing Truncate, or zeros written into one) reads as zeros and takes
// no space. Space is bounded:
// a write that needs more pages than `capacity_bytes` leaves fails with
// NoSpace, and GetDiskSpace reports what is left.
//
// Paths are '/'-separated strings; a trailing '/' is ignored. LockFile gives
// one lock per path at a time (FailedPrecondition for a second).
//
// Thread-safety: thread-safe (one mutex for the tree, one per file's bytes).
// Ownership: Files and FileLocks share what they use; they may outlive the
// MemoryFileSystem.
#pragma once

#include <cstdint>
#include <memory>

#include "env/file_system.h"

namespace strata {

inline constexpr uint64_t kMemoryFileSystemCapacityBytes = 1ull << 30;

std::shared_ptr<FileSystem> NewMemoryFileSystem(uint64_t capacity_bytes = kMemoryFileSystemCapacityBytes);

}  // namespace strata
