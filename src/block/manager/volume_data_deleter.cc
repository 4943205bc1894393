#include "block/manager/volume_data_deleter.h"

namespace strata::block::manager {

Status DfsVolumeDataDeleter::DeleteVolumeData(const std::string& dfs_path) {
  Status st = client_->Delete(dfs_path, /*recursive=*/true);
  if (st.code() == StatusCode::kNotFound) return Status::Ok();  // never written, or deleted before a crash
  return st.WithContext("delete " + dfs_path);
}

}  // namespace strata::block::manager
