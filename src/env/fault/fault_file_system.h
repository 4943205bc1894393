// FaultInjectingFileSystem: a FileSystem wrapper that makes disks misbehave,
// for tests and (through an admin RPC) for operators rehearsing failures.
//
// Faults are set per path prefix (a chunkserver disk is a directory) and can
// change at run time: added latency, a rate of EIO, ENOSPC on writes, and
// "frozen" (like a hung disk). They model what a process sees of a real
// device behind the page cache: a buffered WriteAt lands in memory, so it is
// neither delayed nor blocked by a frozen disk (it can still fail with EIO or
// ENOSPC); latency is added to the calls that wait for the device (reads,
// fdatasync, directory sync) and freezing blocks every call but buffered
// writes and statvfs until the fault is lifted. It also
// tracks, per file, the length last made durable by Sync(); DropUnsyncedData()
// truncates every file it wrote back to that length, which is what an
// append-only file looks like after a power loss (RocksDB's
// FaultInjectionTestFS does the same).
//
// Thread-safety: thread-safe. Ownership: shares the wrapped FileSystem.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "env/clock.h"
#include "env/file_system.h"
#include "env/random.h"

namespace strata {

struct DiskFault {
  uint32_t latency_ms = 0;   // added to every read and sync
  double error_rate = 0;     // probability that an I/O call fails with EIO
  bool no_space = false;     // writes fail with ENOSPC; free space reads as 0
  bool frozen = false;       // every call blocks until the fault is lifted
  bool any() const { return latency_ms || error_rate > 0 || no_space || frozen; }
};

class FaultInjectingFileSystem final : public FileSystemWrapper {
 public:
  FaultInjectingFileSystem(std::shared_ptr<FileSystem> target, std::shared_ptr<Clock> clock, uint64_t seed);

  // Applies `fault` to every path under `prefix`, replacing an earlier one.
  void SetFault(const std::string& prefix, const DiskFault& fault);
  void ClearFault(const std::string& prefix);
  DiskFault GetFault(const std::string& path) const;

  // Simulated crash: truncates every file written through this wrapper to its
  // last synced length.
  Status DropUnsyncedData();

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override;
  Status RemoveFile(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;
  Result<DiskSpace> GetDiskSpace(const std::string& path) override;

  // What an I/O call does to the device, which decides the faults it meets.
  enum class IoKind {
    kBufferedWrite,  // into the page cache: EIO, ENOSPC
    kDeviceRead,     // waits for the device: freeze, latency, EIO
    kDeviceSync,     // waits for the device: freeze, latency, EIO
    kMetadata,       // create/rename/unlink/truncate: freeze, EIO (ENOSPC when it allocates)
    kStat,           // statvfs, answered from memory: no fault but ENOSPC's zero free space
  };
  // Called by files: waits out latency/freeze and rolls for an error.
  // `allocates` selects whether ENOSPC applies.
  Status BeforeIo(const std::string& path, IoKind kind, bool allocates, const char* op);
  void NoteWrite(const std::string& path, uint64_t end_offset);
  void NoteSync(const std::string& path, uint64_t size);

 private:
  DiskFault GetFaultLocked(const std::string& path) const;  // REQUIRES: mu_ held

  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  std::condition_variable unfrozen_;
  std::map<std::string, DiskFault> faults_;      // GUARDED_BY(mu_)
  std::map<std::string, uint64_t> synced_size_;  // GUARDED_BY(mu_), files written through us
  Random random_;                                // GUARDED_BY(mu_)
};

}  // namespace strata
