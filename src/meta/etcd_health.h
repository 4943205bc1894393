// EtcdMemberHealth: asks one etcd member whether it is healthy (its /health
// endpoint: a member is healthy when it is part of a quorum that has a
// leader). For `strata cluster status`.
//
// Thread-safety: a pure function; each call opens its own connection.
#pragma once

#include <string>

#include "common/status.h"

namespace strata::meta {

// OK when the member at `url` ("http://host:port" or "host:port") answers
// healthy within `timeout_ms`; Unavailable with the reason otherwise.
Status EtcdMemberHealth(const std::string& url, int timeout_ms);

}  // namespace strata::meta
