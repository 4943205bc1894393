// Reading and writing whole frames on an asio socket, shared by the server and
// the client. Internal to src/rpc.
//
// Thread-safety: a socket must be read by one coroutine and written by one
// coroutine at a time (the callers serialise on a strand).
#pragma once

#include <asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

// FrameSendQueue: the sending side of one connection, shared by the threads
// that send on it (RPC callers, server workers) and its write loop. A frame
// goes out at once from the sender's thread, without blocking, when the
// connection is open and nothing waits before it; what the socket does not
// take waits, in order, for one write loop on the connection's strand
// (DrainSendQueue).
//
// Thread-safety: thread-safe.
class FrameSendQueue {
 public:
  enum class Sent {
    kDone,         // written whole
    kQueued,       // waits for the write loop (running, or started by Open)
    kStartWriter,  // waits: the caller must start the write loop
    kClosed,       // the queue was closed: dropped
    kFailed,       // the socket failed (errno set): the caller closes
  };
  Sent Send(OutFrame frame);
  // The socket `fd` is connected: frames may be written. True when frames
  // wait, and the caller must start the write loop.
  bool Open(int fd);
  // Drops what waits and refuses what comes; `close` (which closes the
  // socket) runs under the queue's lock, so that no sender writes to a
  // descriptor being closed.
  void Close(const std::function<void()>& close);

 private:
  friend asio::awaitable<Status> DrainSendQueue(asio::ip::tcp::socket&, FrameSendQueue&);
  std::optional<OutFrame> NextForWriter();  // none: the write loop ends
  void WriterFailed();

  std::mutex mu_;
  std::deque<OutFrame> queue_;  // GUARDED_BY(mu_)
  int fd_ = -1;                 // GUARDED_BY(mu_); -1 until Open
  bool writing_ = false;        // GUARDED_BY(mu_); a write loop runs
  bool closed_ = false;         // GUARDED_BY(mu_)
};

// The write loop, on the connection's strand: writes the waiting frames
// until none is left. Returns the failed write's status (the caller closes
// the connection) or Ok.
asio::awaitable<Status> DrainSendQueue(asio::ip::tcp::socket& socket, FrameSendQueue& queue);

}  // namespace strata::rpc
