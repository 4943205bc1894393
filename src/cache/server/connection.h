// Connection: one client socket on one worker's EventLoop (run to
// completion: everything a connection does runs on that loop's thread, so
// it needs no locks).
//
// When epoll reports the socket readable, the connection reads (up to
// kReadChunk at a time, while the socket keeps filling the buffer), the
// protocol handler consumes every complete request and appends its replies,
// and the replies go out in one non-blocking send (so a pipeline of 16
// commands costs one read and one write). What the socket does not take
// waits for EPOLLOUT. Bounds: unconsumed input is limited (a request larger
// than the limit gets an error and the connection closes); reading pauses
// while more than kMaxPendingOutput bytes of replies wait for a slow reader.
//
// Blocking commands: the connection registers with the BlockingRegistry and
// stops processing (it keeps reading, to notice a disconnect) until a push
// wakes it or its deadline passes; then the command re-runs.
//
// Pub/sub messages published on any thread wait in the handler; the handler
// wakes the connection through EventLoop::Post, and the connection moves
// them into its output (DeliverPushes). A subscriber over its output-buffer
// limit is closed there.
//
// Thread-safety: all methods run on the loop's thread. Wake-ups from other
// threads go through EventLoop::Post and find the connection by id in its
// ConnectionSet, so a connection closed meanwhile is simply not found.
// Ownership: owned by the ConnectionSet of its loop; owns its socket.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/protocol/handler.h"
#include "cache/server/cache_core.h"
#include "cache/server/event_loop.h"

namespace strata::cache {

class ConnectionSet;

class Connection final : public EventLoop::Handler {
 public:
  static constexpr size_t kReadChunk = 64 * 1024;
  static constexpr size_t kMaxPendingOutput = 64 << 20;
  // An output buffer grown larger than this by a big reply is freed once sent.
  static constexpr size_t kMaxIdleBuffer = 1 << 20;

  // Takes `fd` (a connected, non-blocking socket).
  Connection(int fd, ConnectionSet* set, CacheCore* core, std::unique_ptr<ProtocolHandler> handler, uint64_t id,
             const std::string& protocol);
  ~Connection() override;

  // Registers with the loop; false (and the socket closed) if it cannot.
  bool Start();
  void OnEvents(uint32_t events) override;
  uint64_t id() const { return id_; }

 private:
  void OnReadable();
  void ProcessInput();
  void Flush();
  // Asks epoll for what the connection can use now: input unless paused,
  // EPOLLOUT while replies wait.
  void UpdateInterest();
  void DeliverPushes();
  void Block(const ProcessOutcome& o);
  void Unblock();
  void Close();

  const int fd_;
  ConnectionSet* const set_;
  EventLoop* const loop_;
  CacheCore* const core_;
  std::unique_ptr<ProtocolHandler> handler_;
  const uint64_t id_;
  const size_t max_input_;
  std::vector<char> in_;
  size_t start_ = 0, end_ = 0;  // unconsumed input is in_[start_, end_)
  std::string out_;             // replies not yet taken by the socket
  size_t out_sent_ = 0;         // bytes of out_ already sent
  uint32_t interest_ = 0;       // events registered with epoll
  bool closing_ = false;        // close once the output is sent
  bool closed_ = false;
  bool blocked_ = false;
  uint64_t block_token_ = 0;
  uint64_t block_timer_ = 0;
};

// The connections of one loop, by id. Thread-safety: loop thread only.
class ConnectionSet {
 public:
  explicit ConnectionSet(EventLoop* loop) : loop_(loop) {}
  EventLoop* loop() const { return loop_; }
  // Takes the connection and starts it.
  void Start(std::unique_ptr<Connection> conn);
  Connection* Find(uint64_t id) const;
  // Deletes the connection at the end of the loop's round.
  void Release(uint64_t id);
  // Closes and deletes every connection (after the loop stopped).
  void Clear() { conns_.clear(); }

 private:
  EventLoop* const loop_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
};

}  // namespace strata::cache
