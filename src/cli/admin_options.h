// Options every admin command shares (--master or --blockmanager, --dir,
// --json) and the small helpers they use to print results. Internal to the
// `strata` binary.
//
// Thread-safety: used from main's thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "block/manager/blockmanager_client.h"
#include "common/status.h"
#include "dfs/client/dfs_client.h"

namespace strata::cli {

struct AdminOptions {
  std::string master;        // --master HOST:PORT
  std::string blockmanager;  // --blockmanager HOST:PORT (block commands)
  std::string dir;           // --dir DIR (reads DIR/cluster.json)
  bool json = false;         // --json
  uint32_t master_retry_ms = 60000;  // --master-retry-ms: DfsClientOptions::master_retry_ms_max
  std::string secret_file;           // --secret-file (else $STRATA_SECRET_FILE, else DIR/cluster.secret)
};

// Adds --master, --dir, --json, --master-retry-ms and --secret-file to `cmd`,
// storing into `opts`.
void AddAdminOptions(CLI::App* cmd, AdminOptions* opts);
// The same for commands of the block layer: --blockmanager, --dir, --json,
// --secret-file.
void AddBlockAdminOptions(CLI::App* cmd, AdminOptions* opts);

// Connects a DfsClient to the master found through `opts`.
Result<std::unique_ptr<dfs::DfsClient>> ConnectDfs(const AdminOptions& opts);
// A client of the blockmanager found through `opts`.
Result<std::unique_ptr<block::manager::BlockManagerClient>> ConnectBlockManager(const AdminOptions& opts);

// The RPC address of the chunkserver whose id (e.g. cs3) or address is
// `server`, from the master's status; NotFound lists the known ids.
Result<std::string> ResolveChunkserver(dfs::DfsClient* client, const std::string& server);

// Prints "error: <status>" to stderr (with `json`, {"error": {"code",
// "message"}} instead) and returns the exit code for it (1 for errors
// reported by the cluster, 2 for bad usage).
int ReportError(const Status& st, bool json = false);

nlohmann::json FileInfoToJson(const dfs::FileInfo& info);
nlohmann::json ChunkInfoToJson(const dfs::ChunkInfo& chunk);

// "sync" or "memory" (the --durability flag).
Result<dfs::Durability> ParseDurability(const std::string& text);

// "1.5 GiB", "512 B".
std::string HumanBytes(uint64_t bytes);

}  // namespace strata::cli
