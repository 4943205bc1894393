// DiskFaultControl: the chunkserver's admin RPC CHUNKSERVER_DISK_FAULT, which
// injects latency, EIO, ENOSPC or a freeze into one of its disks at run time
// (`strata debug disk-fault`), so that operators and tests can rehearse
// fail-slow and failing hardware on a live cluster.
//
// It works through the FaultInjectingFileSystem the chunkserver's store runs
// on, which exists only when the chunkserver is configured with
// `fault_injection: true`; otherwise every request is refused with
// FailedPrecondition and nothing changes. A fault applies to every path under
// the disk's directory and replaces the disk's earlier fault.
//
// Thread-safety: thread-safe (the file system is).
// Ownership: shares the fault file system; borrows the RpcServer at Register.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "env/fault/fault_file_system.h"
#include "rpc/server.h"

namespace strata::dfs {

class DiskFaultControl {
 public:
  // `fault_fs` may be null: fault injection is disabled.
  DiskFaultControl(std::shared_ptr<FaultInjectingFileSystem> fault_fs, std::vector<std::string> disk_paths)
      : fault_fs_(std::move(fault_fs)), disk_paths_(std::move(disk_paths)) {}

  bool enabled() const { return fault_fs_ != nullptr; }
  // Sets (or with `off`, lifts) the fault of disk `disk`.
  Status Set(uint32_t disk, const strata::DiskFault& fault, bool off);
  // The disk's current fault (none when disabled).
  Result<strata::DiskFault> Get(uint32_t disk) const;
  const std::string& DiskPath(uint32_t disk) const { return disk_paths_.at(disk); }

  void Register(rpc::RpcServer* server);

 private:
  Status CheckDisk(uint32_t disk) const;
  std::string Prefix(uint32_t disk) const { return disk_paths_[disk] + "/"; }

  std::shared_ptr<FaultInjectingFileSystem> fault_fs_;
  const std::vector<std::string> disk_paths_;
};

}  // namespace strata::dfs
