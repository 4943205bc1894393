// VolumeDataDeleter: removes a deleted volume's data directory from the dfs.
// An interface so that the blockmanager's tests can fail it; the real one,
// DfsVolumeDataDeleter, asks the dfs master to delete the directory
// recursively.
//
// Thread-safety: implementations are thread-safe. Ownership: the
// DfsVolumeDataDeleter borrows its DfsClient, which must outlive it.
#pragma once

#include <string>

#include "common/status.h"
#include "dfs/client/dfs_client.h"

namespace strata::block::manager {

class VolumeDataDeleter {
 public:
  virtual ~VolumeDataDeleter() = default;
  // OK once `dfs_path` and everything under it are gone, including when it
  // never existed. May block for about one dfs RPC timeout.
  virtual Status DeleteVolumeData(const std::string& dfs_path) = 0;
};

class DfsVolumeDataDeleter final : public VolumeDataDeleter {
 public:
  explicit DfsVolumeDataDeleter(dfs::DfsClient* client) : client_(client) {}
  Status DeleteVolumeData(const std::string& dfs_path) override;

 private:
  dfs::DfsClient* client_;
};

}  // namespace strata::block::manager
