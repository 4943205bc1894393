#include "cli/role_secret.h"

#include <cstdlib>

#include "common/logging.h"
#include "rpc/cluster_secret.h"

namespace strata::cli {

void AddRoleSecretOption(CLI::App* cmd, std::string* path) {
  cmd->add_option("--secret-file", *path,
                  "Cluster secret: peers must prove it on every RPC connection (none: authentication off)");
}

Result<std::shared_ptr<const rpc::RpcAuth>> LoadRoleAuth(const std::string& role, const std::string& path) {
  if (path.empty()) {
    spdlog::warn("{}: no --secret-file: RPC authentication is off, anyone who reaches the port is served", role);
    return std::shared_ptr<const rpc::RpcAuth>();
  }
  return rpc::LoadRpcAuth(path);
}

Result<std::shared_ptr<const rpc::RpcAuth>> FindAdminAuth(const std::string& flag, const std::string& dir) {
  if (!flag.empty()) return rpc::LoadRpcAuth(flag);
  if (const char* env = std::getenv("STRATA_SECRET_FILE"); env && *env) return rpc::LoadRpcAuth(env);
  const std::string beside = (dir.empty() ? std::string("./var") : dir) + "/" + rpc::kClusterSecretFileName;
  auto auth = rpc::LoadRpcAuth(beside);
  if (!auth.ok() && auth.status().code() == StatusCode::kNotFound) return std::shared_ptr<const rpc::RpcAuth>();
  return auth;
}

}  // namespace strata::cli
