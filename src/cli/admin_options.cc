#include "cli/admin_options.h"

#include <cstdio>
#include <iostream>

#include "cli/role_secret.h"
#include "dfs/client/cluster_file.h"

namespace strata::cli {

namespace {

void AddAdminSecretOption(CLI::App* cmd, AdminOptions* opts) {
  cmd->add_option("--secret-file", opts->secret_file,
                  "The cluster secret (default: $STRATA_SECRET_FILE, else cluster.secret beside cluster.json)");
}

}  // namespace

void AddAdminOptions(CLI::App* cmd, AdminOptions* opts) {
  cmd->add_option("--master", opts->master, "Master address HOST:PORT (default: $STRATA_MASTER or cluster.json)");
  cmd->add_option("--dir", opts->dir, "Cluster directory whose cluster.json names the master (default: ./var)");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->add_option("--master-retry-ms", opts->master_retry_ms,
                  "How long an unreachable master is waited for before the command fails (default 60000)");
  AddAdminSecretOption(cmd, opts);
}

void AddBlockAdminOptions(CLI::App* cmd, AdminOptions* opts) {
  cmd->add_option("--blockmanager", opts->blockmanager,
                  "Blockmanager address HOST:PORT (default: $STRATA_BLOCKMANAGER or cluster.json)");
  cmd->add_option("--dir", opts->dir, "Cluster directory whose cluster.json names the blockmanager (default: ./var)");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  AddAdminSecretOption(cmd, opts);
}

Result<std::unique_ptr<block::manager::BlockManagerClient>> ConnectBlockManager(const AdminOptions& opts) {
  ASSIGN_OR_RETURN(std::string addr, dfs::LocateBlockManager(opts.blockmanager, opts.dir));
  block::manager::BlockManagerClientOptions o;
  o.addr = addr;
  ASSIGN_OR_RETURN(o.auth, FindAdminAuth(opts.secret_file, opts.dir));
  return std::make_unique<block::manager::BlockManagerClient>(o);
}

Result<std::unique_ptr<dfs::DfsClient>> ConnectDfs(const AdminOptions& opts) {
  ASSIGN_OR_RETURN(std::string master, dfs::LocateMaster(opts.master, opts.dir));
  dfs::DfsClientOptions o;
  o.master = master;
  o.master_retry_ms_max = opts.master_retry_ms;
  ASSIGN_OR_RETURN(o.auth, FindAdminAuth(opts.secret_file, opts.dir));
  return std::make_unique<dfs::DfsClient>(o);
}

int ReportError(const Status& st, bool json) {
  if (json) {
    nlohmann::json err = {{"error", {{"code", std::string(StatusCodeName(st.code()))}, {"message", st.message()}}}};
    std::cerr << err.dump() << "\n";
  } else {
    std::cerr << "error: " << st.ToString() << "\n";
  }
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

nlohmann::json FileInfoToJson(const dfs::FileInfo& info) {
  if (info.is_dir()) return {{"path", info.path()}, {"type", "dir"}, {"mtime_us", info.mtime_us()}};
  return {
      {"path", info.path()},
      {"type", "file"},
      {"size", info.size()},
      {"replication", info.replication()},
      {"min_copies", info.min_copies()},
      {"chunk_size", info.chunk_size()},
      {"durability", info.durability() == dfs::DURABILITY_MEMORY ? "memory" : "sync"},
      {"mtime_us", info.mtime_us()},
      {"chunks", info.chunk_count()},
  };
}

nlohmann::json ChunkInfoToJson(const dfs::ChunkInfo& chunk) {
  nlohmann::json replicas = nlohmann::json::array();
  for (const auto& r : chunk.replicas()) {
    replicas.push_back({{"server_id", r.server_id()}, {"addr", r.addr()}, {"rack", r.rack()}, {"disk", r.disk()}});
  }
  return {
      {"chunk_id", chunk.chunk_id()}, {"file_offset", chunk.file_offset()}, {"length", chunk.length()},
      {"sealed", chunk.sealed()},     {"epoch", chunk.epoch()},             {"replicas", replicas},
  };
}

Result<dfs::Durability> ParseDurability(const std::string& text) {
  if (text == "sync") return dfs::DURABILITY_SYNC;
  if (text == "memory") return dfs::DURABILITY_MEMORY;
  return Status::InvalidArgument("--durability must be sync or memory, not '" + text + "'");
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

Result<std::string> ResolveChunkserver(dfs::DfsClient* client, const std::string& server) {
  ASSIGN_OR_RETURN(std::string text, client->ClusterStatusJson());
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("chunkservers")) {
    return Status::Internal("the master's status is not the JSON expected");
  }
  std::string known;
  for (const auto& cs : doc["chunkservers"]) {
    std::string id = cs.value("id", std::string());
    std::string addr = cs.value("addr", std::string());
    if (server == id || server == addr) return addr;
    known += (known.empty() ? "" : ", ") + id;
  }
  return Status::NotFound("no chunkserver " + server + " (known: " + known + ")");
}

}  // namespace strata::cli
