// Reading and writing whole frames on an asio socket, shared by the server and
// the client. Internal to src/rpc.
//
// Thread-safety: a socket must be read by one coroutine and written by one
// coroutine at a time (the callers serialise on a strand).
#pragma once

#include <asio.hpp>
#include <memory>
#include <string>
#include <vector>

#include "rpc/frame.h"

namespace strata::rpc {

struct Frame {
  FrameHeader header;
  std::string meta;
  std::string bulk;
};

// Reads one complete frame. Returns ProtocolError for malformed input,
// Unavailable when the peer closed or the socket failed.
asio::awaitable<Result<Frame>> ReadFrame(asio::ip::tcp::socket& socket, const FrameLimits& limits);

// Writes the rest of one frame (from byte `frame.sent`); Unavailable on
// socket failure.
asio::awaitable<Status> WriteFrame(asio::ip::tcp::socket& socket, const OutFrame& frame);

}  // namespace strata::rpc
