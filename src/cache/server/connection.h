// Connection: one client socket on one worker's io_context (run to
// completion: every handler of a connection runs on the same thread, so the
// connection needs no locks).
//
// Reading is continuous; after each read the protocol handler consumes every
// complete request and appends replies, which are written in one batch (so a
// pipeline of 16 commands costs one read and one write). The batch is written
// at once with a non-blocking send; only what the socket does not take is
// left to an asynchronous write (so EPOLLOUT matters only while a client is
// slow to read). Bounds: unconsumed
// input is limited (a request larger than the limit closes the connection
// with an error); reading pauses while more than kMaxPendingOutput bytes of
// replies wait for a slow reader.
//
// Blocking commands: the connection registers with the BlockingRegistry and
// stops processing (it keeps reading, to notice a disconnect) until a push
// wakes it or its deadline passes; then the command re-runs.
//
// Thread-safety: all methods run on the owning io_context's thread; Wake may
// be called from any thread (it posts).
// Ownership: shared_ptr kept alive by pending asio operations.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "cache/protocol/handler.h"
#include "cache/server/cache_core.h"

namespace strata::cache {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static constexpr size_t kReadChunk = 64 * 1024;
  static constexpr size_t kMaxPendingOutput = 64 << 20;
  // An output buffer grown larger than this by a big reply is freed once sent.
  static constexpr size_t kMaxIdleBuffer = 1 << 20;

  Connection(asio::ip::tcp::socket socket, CacheCore* core, std::unique_ptr<ProtocolHandler> handler, uint64_t id,
             const std::string& protocol);
  ~Connection();
  void Start();

 private:
  void DoRead();
  void OnRead(const asio::error_code& ec, size_t n);
  void ProcessInput();
  void Flush();
  void OnWrite(const asio::error_code& ec);
  void Block(const ProcessOutcome& o);
  void Unblock();
  void Close();

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  CacheCore* core_;
  std::unique_ptr<ProtocolHandler> handler_;
  uint64_t id_;
  size_t max_input_;
  std::vector<char> in_;
  size_t start_ = 0, end_ = 0;  // unconsumed input is in_[start_, end_)
  std::string out_;             // replies not yet handed to the socket
  std::string writing_buf_;     // replies being written
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool blocked_ = false;
  uint64_t block_token_ = 0;
};

}  // namespace strata::cache
