// DiskClaim: a chunkserver's exclusive hold on one disk directory, and the
// disk's identity (byte layout in docs/chunk_format.md, "Disk identity").
//
// Two processes serving one directory delete each other's replicas (each
// reports the other's files as its own, and the master removes the surplus),
// and a disk of another cluster is a list of orphans to its new master. So a
// disk directory holds:
//   <disk>/LOCK      locked (flock) for as long as a chunkserver serves the
//                    disk; holds the holder's pid, so that a refused opener
//                    and `strata down` can name it. The lock, not the pid,
//                    is the truth: it goes when the holder dies.
//   <disk>/IDENTITY  a 44-byte record: a random disk id, made when the disk
//                    is first opened, and the id of the cluster the disk
//                    belongs to, zero until the disk adopts its master's at
//                    the first registration. Neither changes afterwards; the
//                    record is replaced atomically (tmp + rename) the one time
//                    the cluster id is written.
// Open() takes the lock before it reads or writes anything else on the disk,
// so a refused opener leaves the disk exactly as it found it.
//
// Thread-safety: thread-safe.
// Ownership: owns the lock (released on destruction); borrows the FileSystem,
// which must outlive the claim.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "env/file_system.h"
#include "env/random.h"

namespace strata::dfs {

inline constexpr uint32_t kIdentityMagic = 0x44494453;  // "SDID" little-endian
inline constexpr uint16_t kIdentityVersion = 1;
inline constexpr size_t kIdentitySize = 44;
inline constexpr size_t kIdBytes = 16;
inline constexpr char kIdentityFileName[] = "IDENTITY";
inline constexpr char kLockFileName[] = "LOCK";

// Ids as 32 lower-case hex digits (16 bytes); an empty cluster_id: the disk
// has not joined a cluster yet.
struct DiskIdentity {
  std::string disk_id;
  std::string cluster_id;
};

std::string EncodeDiskIdentity(const DiskIdentity& id);
Result<DiskIdentity> DecodeDiskIdentity(std::string_view bytes);
// A new random id (16 bytes as 32 hex digits, never all zeros).
std::string NewRandomId(Random* rng);
// True when `id` is 32 lower-case hex digits, not all zero.
bool IsValidId(std::string_view id);

class DiskClaim {
 public:
  // Locks <dir>/LOCK, then reads <dir>/IDENTITY, creating it with a new disk
  // id (from `rng`) when the disk has none. A disk another process holds is
  // FailedPrecondition naming the directory and the holder's pid; a damaged
  // identity is Corruption (left as it is for the operator).
  // REQUIRES: `dir` exists.
  static Result<std::unique_ptr<DiskClaim>> Open(FileSystem* fs, const std::string& dir, Random* rng);

  const std::string& dir() const { return dir_; }
  DiskIdentity identity() const;
  // Joins the disk to `cluster_id`: a disk without one adopts it (durably);
  // the same one is OK; another is FailedPrecondition naming both.
  Status AdoptCluster(const std::string& cluster_id);

 private:
  DiskClaim(FileSystem* fs, std::string dir, std::unique_ptr<FileLock> lock)
      : fs_(fs), dir_(std::move(dir)), lock_(std::move(lock)) {}
  Status Write(const DiskIdentity& id);

  FileSystem* fs_;
  const std::string dir_;
  std::unique_ptr<FileLock> lock_;
  mutable std::mutex mu_;
  DiskIdentity identity_;  // GUARDED_BY(mu_)
};

}  // namespace strata::dfs
