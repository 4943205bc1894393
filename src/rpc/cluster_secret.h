// The cluster secret file: 32 random bytes, hex-encoded on one line, that
// every role of a cluster and its admin commands read to authenticate their
// RPC connections (rpc/auth.h). `strata up` creates it as DIR/cluster.secret
// (kClusterSecretFileName, beside cluster.json), mode 0600, and reuses it.
//
// A secret file that others than its owner may read or write is refused, as
// ssh refuses such a private key: the secret would no longer be one.
//
// Thread-safety: functions of their arguments (and the file).
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "env/secure_random.h"
#include "rpc/auth.h"

namespace strata::rpc {

inline constexpr const char* kClusterSecretFileName = "cluster.secret";

// Reads the secret (raw bytes) from `path`. NotFound when there is no such
// file; PermissionDenied when its mode lets others in; InvalidArgument when
// it does not hold a secret.
Result<std::string> ReadClusterSecret(const std::string& path);

// Creates `path` with a new secret from `random` (mode 0600, written whole
// and synced before it appears under its name), unless it exists: then it
// is only checked. Ok: `path` holds a usable secret.
Status CreateClusterSecretIfMissing(const std::string& path, SecureRandom& random);

// What a role or a command uses: the secret of `path` and the system's
// SecureRandom; an empty path gives null (authentication off).
Result<std::shared_ptr<const RpcAuth>> LoadRpcAuth(const std::string& path);

}  // namespace strata::rpc
