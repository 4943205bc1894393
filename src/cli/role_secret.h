// The cluster secret of the `strata` commands: the --secret-file flag every
// role takes, and how admin commands find the secret (rpc/cluster_secret.h).
// Internal to the `strata` binary.
//
// Thread-safety: used from main's thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "common/result.h"
#include "rpc/auth.h"

namespace strata::cli {

// Adds --secret-file to a role's command.
void AddRoleSecretOption(CLI::App* cmd, std::string* path);

// A role's RpcAuth from its --secret-file; null (authentication off, and a
// warning saying so) without one.
Result<std::shared_ptr<const rpc::RpcAuth>> LoadRoleAuth(const std::string& role, const std::string& path);

// An admin command's RpcAuth: from `flag` (--secret-file), else
// $STRATA_SECRET_FILE, else DIR/cluster.secret (DIR: `dir`, default ./var)
// when that file exists; null when none is found (authentication off: a
// cluster with a secret refuses the command, saying why). A named file that
// is missing or unusable is an error.
Result<std::shared_ptr<const rpc::RpcAuth>> FindAdminAuth(const std::string& flag, const std::string& dir);

}  // namespace strata::cli
