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

// Reads the frames of one connection through a small buffer, so that a
// frame (and often the next one) arrives with one recv; large bodies are
// read straight into the frame. One per connection, used by one coroutine.
class FrameReader {
 public:
  explicit FrameReader(FrameLimits limits) : limits_(limits) {}

  // Reads one complete frame. Returns ProtocolError for malformed input,
  // Unavailable when the peer closed or the socket failed.
  asio::awaitable<Result<Frame>> Read(asio::ip::tcp::socket& socket);

 private:
  static constexpr size_t kBufferBytes = 64 * 1024;
  // Reads at least `want` more bytes into the buffer.
  asio::awaitable<asio::error_code> Fill(asio::ip::tcp::socket& socket, size_t want);

  FrameLimits limits_;
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kBufferBytes);
  size_t begin_ = 0;  // unread bytes are [begin_, end_)
  size_t end_ = 0;
};

// Writes the rest of one frame (from byte `frame.sent`); Unavailable on
// socket failure.
asio::awaitable<Status> WriteFrame(asio::ip::tcp::socket& socket, const OutFrame& frame);

}  // namespace strata::rpc
