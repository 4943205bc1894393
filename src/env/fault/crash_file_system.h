// CrashableFileSystem: a FileSystem wrapper for tests that simulates a power
// loss, after the models of RocksDB's FaultInjectionTestFS and FoundationDB's
// AsyncFileNonDurable.
//
// Writes reach the wrapped file system at once, so reads see them, but the
// wrapper remembers what a crash could still take away:
//   - per file, every sector (kCrashSectorBytes = 4 KiB, the page-cache and
//     common device write unit) written or truncated away since the file's
//     last Sync(), with the bytes it held at that sync (its shadow);
//   - the size at the last Sync() and any Truncate() since;
//   - files created, files removed, directories created and renames done
//     since the last SyncDir() of the directories involved (the parent for a
//     create, a remove or a new directory; both parents for a rename; a
//     rename over an existing file and a remove keep the file's synced bytes
//     so that undoing them brings that file back).
// SimulateCrash(rng) then decides, by seeded draws: each unsynced sector is
// kept or reverted to its shadow (bytes past the synced size become a hole,
// and the file is cut back to the end of the last kept sector or its synced
// size); an unsynced truncate is kept or undone; each unsynced directory
// entry may be undone, newest first: a rename goes back, a created file
// vanishes, a removed file comes back with its synced bytes (unless a kept
// newer file took its name), and a created directory vanishes with
// everything in it, synced or not (its entry in the parent was never
// durable). Data made durable by Sync() and entries made durable by
// SyncDir() are never lost. DropAllUnsynced() is the worst case, every
// unsynced byte and entry lost.
// Not modelled: files changed behind the wrapper's back. Undoing a created
// directory deletes it with std::filesystem, so the wrapped file system's
// paths must be real paths (the posix one).
//
// After a crash every File opened before it fails with Aborted, as the
// handles of a process that died; open the files again.
//
// Thread-safety: thread-safe (one mutex; file operations are serialised
// through it). Ownership: shares the wrapped FileSystem; a File it returns
// must not outlive the CrashableFileSystem.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "env/file_system.h"
#include "env/random.h"

namespace strata {

inline constexpr uint64_t kCrashSectorBytes = 4096;

class CrashableFileSystem final : public FileSystemWrapper {
 public:
  explicit CrashableFileSystem(std::shared_ptr<FileSystem> target) : FileSystemWrapper(std::move(target)) {}

  // A power loss where each unsynced sector, truncate, create and rename
  // survives with probability 1/2, drawn from `rng` in a fixed order.
  Status SimulateCrash(Random* rng);
  // A power loss where every unsynced byte and directory entry is lost.
  Status DropAllUnsynced();
  // Simulated crashes so far; a File opened before the last one fails.
  uint64_t crash_count() const;

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override;
  Status CreateDirs(const std::string& path) override;
  Status RemoveFile(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;

  // Called by the files this wrapper returns. REQUIRES: `generation` is the
  // crash_count() when the file was opened.
  Result<size_t> FileRead(File* f, uint64_t generation, uint64_t offset, void* buf, size_t n);
  Status FileWrite(File* f, uint64_t generation, uint64_t offset, const void* buf, size_t n);
  Status FileSync(File* f, uint64_t generation);
  Status FileTruncate(File* f, uint64_t generation, uint64_t size);
  Result<uint64_t> FileSize(File* f, uint64_t generation);

 private:
  struct Shadow {
    std::string synced;    // the sector's bytes at the last sync, up to the synced size
    bool written = false;  // false: only cut by a truncate, which decides its fate
  };
  struct FileState {
    uint64_t synced_size = 0;
    bool truncated = false;      // a Truncate since the last sync
    uint64_t min_size = 0;       // smallest size since the last sync
    uint64_t truncate_size = 0;  // size set by the last Truncate
    std::map<uint64_t, Shadow> shadows;  // by sector index
  };
  // An unsynced directory entry.
  struct Entry {
    enum class Kind { kCreate, kRename, kRemove, kMakeDir };
    Kind kind = Kind::kCreate;
    std::string path;                     // the file (or directory) the entry names now
    std::optional<std::string> from;      // kRename: the source
    std::optional<std::string> replaced;  // synced bytes of a file the rename replaced, or of the removed file
    std::set<std::string> dirs;           // directories still to sync
  };
  using Keep = std::function<bool()>;

  Status Crash(const Keep& keep);
  Status CheckLive(uint64_t generation) const;             // REQUIRES: mu_ held
  FileState& StateOf(File* f);                             // REQUIRES: mu_ held
  Status CaptureSector(File* f, FileState& st, uint64_t sector, bool written);  // REQUIRES: mu_ held
  Status RevertFile(const std::string& path, FileState& st, const Keep& keep);  // REQUIRES: mu_ held
  Status UndoEntry(const Entry& e);                        // REQUIRES: mu_ held
  Result<std::string> SyncedImage(const std::string& path);  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  uint64_t generation_ = 0;                 // GUARDED_BY(mu_)
  std::map<std::string, FileState> files_;  // GUARDED_BY(mu_)
  std::vector<Entry> entries_;              // GUARDED_BY(mu_), oldest first
};

}  // namespace strata
