// Reading and writing whole frames on an asio socket, shared by the server and
// the client. Internal to src/rpc.
//
// Thread-safety: a socket must be read by one coroutine and written by one
// coroutine at a time (the callers serialise on a strand).
#pragma once

#include <asio.hpp>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "rpc/auth.h"
#include "rpc/frame.h"

namespace strata::rpc {

// FrameMemory: what a server spends on the frames it reads, shared by its
// connections. Two counts, each mirrored in a gauge:
//  - reserved: when a frame's header arrives, its whole declared body
//    (meta + bulk) is reserved against `limit_bytes`, and given back once the
//    request was answered. A frame that does not fit waits, in arrival order,
//    for others to give memory back (at most `wait_ms`); reserving the whole
//    body up front means a frame never waits half read while holding memory
//    others need.
//  - allocated: the buffers actually held, read buffers included; a body
//    grows as its bytes arrive, so a peer that declares much and sends little
//    costs little.
// Bounds per server: reserved <= limit_bytes; allocated <= reserved plus one
// read buffer per connection in the middle of a frame.
//
// Thread-safety: thread-safe. Ownership: the server owns it; it must outlive
// its readers and holds.
class FrameMemory {
 public:
  FrameMemory(uint64_t limit_bytes, uint32_t wait_ms, MetricsRegistry* metrics);

  // Reserves `bytes`, waiting on `executor` (the caller's strand) while the
  // budget is spent. ResourceExhausted when `bytes` exceed the whole budget
  // or nothing was given back within wait_ms.
  asio::awaitable<Status> Reserve(uint64_t bytes, asio::any_io_executor executor);
  void Unreserve(uint64_t bytes);
  void Allocated(int64_t delta);

  uint64_t limit_bytes() const { return limit_bytes_; }

  // What one request holds (its reservation and the body buffers that were
  // allocated for it), given back when the hold is destroyed. Movable.
  class Hold {
   public:
    Hold() = default;
    Hold(FrameMemory* memory, uint64_t reserved, uint64_t allocated)
        : memory_(memory), reserved_(reserved), allocated_(allocated) {}
    Hold(Hold&& other) noexcept { *this = std::move(other); }
    Hold& operator=(Hold&& other) noexcept;
    ~Hold() { Release(); }
    // `bytes` more were allocated for this request's body.
    void AddAllocated(uint64_t bytes) { allocated_ += bytes; }
    void Release();

   private:
    FrameMemory* memory_ = nullptr;
    uint64_t reserved_ = 0;
    uint64_t allocated_ = 0;
  };

 private:
  struct Waiter {
    Waiter(uint64_t b, asio::any_io_executor ex) : bytes(b), timer(ex) {}
    uint64_t bytes;
    asio::steady_timer timer;  // on the waiter's strand; cancelled when granted
    bool granted = false;      // GUARDED_BY(mu_)
  };
  void GrantWaitersLocked();  // REQUIRES: mu_ held

  const uint64_t limit_bytes_;
  const uint32_t wait_ms_;
  Gauge* reserved_gauge_;
  Gauge* allocated_gauge_;
  Counter* waits_;
  std::mutex mu_;
  uint64_t reserved_ = 0;                        // GUARDED_BY(mu_)
  std::deque<std::shared_ptr<Waiter>> waiters_;  // GUARDED_BY(mu_); oldest first
};

struct Frame {
  FrameHeader header;
  std::string meta;
  std::string bulk;
  FrameMemory::Hold hold;  // empty without a FrameMemory
};

// Reads the frames of one connection through a small buffer, so that a
// frame (and often the next one) arrives with one recv; large bodies are
// read straight into the frame, grown as their bytes arrive (each step at
// most doubles what arrived). Between frames, once the socket has nothing
// more to read, the buffer is freed (unless KeepBuffer): an idle connection
// holds only kFirstBytes of its own. One per connection, used by one
// coroutine.
class FrameReader {
 public:
  // `memory` (optional) accounts and bounds the bytes read (a server's).
  explicit FrameReader(FrameLimits limits, FrameMemory* memory = nullptr) : limits_(limits), memory_(memory) {}
  ~FrameReader() { FreeBuffer(); }
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Keep the read buffer between frames (a client's few busy connections:
  // the next replies often come together); by default an idle connection
  // holds none.
  void KeepBuffer() { keep_buffer_ = true; }

  // From now on every frame must carry a valid tag (an authenticated
  // connection); before the first Read.
  void SetMac(std::unique_ptr<FrameMac> mac) { mac_ = std::move(mac); }

  // Reads one complete frame. Returns ProtocolError for malformed input
  // (a tag that does not match included),
  // ResourceExhausted when the server's frame memory stayed spent,
  // Unavailable when the peer closed or the socket failed.
  asio::awaitable<Result<Frame>> Read(asio::ip::tcp::socket& socket);

  // When the first byte of the frame being read arrived (steady clock, ns
  // since its epoch); 0 between frames. Any thread.
  int64_t frame_started_ns() const { return frame_started_ns_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kBufferBytes = 64 * 1024;
  static constexpr size_t kFirstBytes = 1024;
  // Waits until the socket has bytes, with no buffer held while it waits.
  asio::awaitable<Status> WaitForBytes(asio::ip::tcp::socket& socket);
  // Reads at least `want` more bytes into the buffer.
  asio::awaitable<asio::error_code> Fill(asio::ip::tcp::socket& socket, size_t want);
  // Reads `out` up to `total` bytes: what the buffer holds, then the rest.
  asio::awaitable<asio::error_code> ReadPart(asio::ip::tcp::socket& socket, std::string& out, size_t total);
  // Copies what the buffer holds of `out`'s `total` bytes.
  void Take(std::string& out, size_t total);
  // Makes `out` `size` bytes long with exactly that capacity, accounted.
  void Grow(std::string& out, size_t size);
  void AllocateBuffer();
  void FreeBuffer();

  FrameLimits limits_;
  FrameMemory* memory_;
  std::unique_ptr<FrameMac> mac_;  // null: an unauthenticated connection
  bool keep_buffer_ = false;
  std::array<char, kFirstBytes> first_bytes_;  // what arrives while no buffer is held
  std::unique_ptr<char[]> buf_;  // kBufferBytes, or null between frames
  size_t begin_ = 0;             // unread bytes are [begin_, end_)
  size_t end_ = 0;
  uint64_t body_allocated_ = 0;  // capacity of the frame's meta and bulk
  std::atomic<int64_t> frame_started_ns_{0};
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
  // Every frame sent from now on is sealed with `mac` when it goes out (an
  // authenticated connection); before Open.
  void SetMac(std::unique_ptr<FrameMac> mac);
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

  // Seals `frame` unless it was (tags follow the order frames go out in).
  void SealLocked(OutFrame& frame);  // REQUIRES: mu_ held

  std::mutex mu_;
  std::unique_ptr<FrameMac> mac_;  // GUARDED_BY(mu_)
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
