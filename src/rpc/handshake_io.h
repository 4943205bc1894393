// Running the authentication handshake (rpc/auth.h) over a socket: the
// asio side for RpcServer and RpcClient, a blocking one for DirectChannel.
// Internal to src/rpc.
//
// None of these bounds its own time: the caller closes the socket when its
// deadline passes (the reads then fail), or passes a timeout.
//
// Thread-safety: one coroutine (or thread) per socket.
#pragma once

#include <asio.hpp>
#include <string>

#include "common/result.h"
#include "rpc/auth.h"

namespace strata::rpc {

// The client's side, right after connecting to `endpoint`.
asio::awaitable<Result<Session>> RunClientHandshake(asio::ip::tcp::socket& socket, const RpcAuth& auth,
                                                    const std::string& endpoint);

// The server's side, before the connection's first frame. A peer that sends
// a request instead of a Hello (authentication off on its side) gets a
// PermissionDenied reply to it saying so; the result is then
// PermissionDenied too, and the caller closes the connection. Unavailable:
// the peer closed before sending anything (a port probe, not a failed
// authentication).
asio::awaitable<Result<Session>> RunServerHandshake(asio::ip::tcp::socket& socket, const RpcAuth& auth);

// The client's side on a connected non-blocking socket, within `timeout_ms`.
Result<Session> RunClientHandshakeBlocking(int fd, const RpcAuth& auth, const std::string& endpoint,
                                           uint32_t timeout_ms);

}  // namespace strata::rpc
