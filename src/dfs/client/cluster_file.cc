#include "dfs/client/cluster_file.h"

#include <cstdlib>
#include <fstream>

namespace strata::dfs {

Result<nlohmann::json> ReadClusterFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("no cluster file at " + path);
  auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::InvalidArgument(path + " is not a JSON object");
  return doc;
}

namespace {

std::string ClusterFilePath(const std::string& dir_flag) {
  return (dir_flag.empty() ? std::string("./var") : dir_flag) + "/cluster.json";
}

}  // namespace

Result<std::string> LocateMaster(const std::string& master_flag, const std::string& dir_flag) {
  if (!master_flag.empty()) return master_flag;
  if (const char* env = std::getenv("STRATA_MASTER"); env && *env) return std::string(env);
  std::string path = ClusterFilePath(dir_flag);
  auto doc = ReadClusterFile(path);
  if (!doc.ok()) {
    return Status::NotFound("cannot find the master: pass --master HOST:PORT, set STRATA_MASTER, or run `strata up` (" +
                            doc.status().message() + ")");
  }
  if (!doc->contains("master") || !(*doc)["master"].is_string()) {
    return Status::InvalidArgument(path + " has no \"master\" entry");
  }
  return (*doc)["master"].get<std::string>();
}

Result<std::string> LocateBlockManager(const std::string& blockmanager_flag, const std::string& dir_flag) {
  if (!blockmanager_flag.empty()) return blockmanager_flag;
  if (const char* env = std::getenv("STRATA_BLOCKMANAGER"); env && *env) return std::string(env);
  std::string path = ClusterFilePath(dir_flag);
  auto doc = ReadClusterFile(path);
  if (!doc.ok()) {
    return Status::NotFound(
        "cannot find the blockmanager: pass --blockmanager HOST:PORT, set STRATA_BLOCKMANAGER, or run `strata up` (" +
        doc.status().message() + ")");
  }
  auto it = doc->find("blockmanager");
  if (it == doc->end() || !it->is_object() || !it->contains("addr") || !(*it)["addr"].is_string()) {
    return Status::InvalidArgument(path + " has no \"blockmanager\" entry with an \"addr\" (a cluster without block "
                                   "storage?)");
  }
  return (*it)["addr"].get<std::string>();
}

}  // namespace strata::dfs
