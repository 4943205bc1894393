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

// An encoded frame ready to send: the header bytes plus the body, written
// with one gather write (the bulk payload is not copied).
struct OutFrame {
  char header[kFrameHeaderSize];
  std::shared_ptr<const FrameBody> body;
  size_t sent = 0;  // bytes already written by a non-blocking send
  size_t size() const { return kFrameHeaderSize + body->meta.size() + body->bulk.size(); }
};

OutFrame MakeOutFrame(FrameHeader h, std::string meta, std::string bulk);
OutFrame MakeOutFrame(FrameHeader h, std::shared_ptr<const FrameBody> body);

// Reads one complete frame. Returns ProtocolError for malformed input,
// Unavailable when the peer closed or the socket failed.
asio::awaitable<Result<Frame>> ReadFrame(asio::ip::tcp::socket& socket, const FrameLimits& limits);

// Writes the rest of one frame (from byte `frame.sent`); Unavailable on
// socket failure.
asio::awaitable<Status> WriteFrame(asio::ip::tcp::socket& socket, const OutFrame& frame);

// Sends as much of the rest of `frame` as the socket `fd` takes now, without
// blocking, and advances `frame.sent`. False on a socket error (errno set);
// a full socket buffer is not an error. The caller makes sure nothing else
// writes to the socket meanwhile.
bool SendFrameNow(int fd, OutFrame& frame);

}  // namespace strata::rpc
