// cluster.json: the file `strata up` writes with every endpoint of a local
// cluster, and how admin tools find the master and the blockmanager from it.
//
// Order of lookup for the master address: an explicit --master value, the
// STRATA_MASTER environment variable, DIR/cluster.json ("master": "HOST:PORT")
// when a directory is given, then ./var/cluster.json. The blockmanager's the
// same way: --blockmanager, STRATA_BLOCKMANAGER, then the cluster file's
// "blockmanager": {"addr": "HOST:PORT", ...}.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace strata::dfs {

Result<nlohmann::json> ReadClusterFile(const std::string& path);

Result<std::string> LocateMaster(const std::string& master_flag, const std::string& dir_flag);

Result<std::string> LocateBlockManager(const std::string& blockmanager_flag, const std::string& dir_flag);

}  // namespace strata::dfs
