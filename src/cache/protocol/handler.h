// ProtocolHandler: what a connection needs from a protocol (RESP or
// memcached text). The connection owns the bytes; the handler consumes whole
// requests from the front of the input and appends replies to the output.
//
// A handler may ask to block (BLPOP): the connection then stops feeding it,
// waits for a wake-up on one of the keys or the deadline, and calls Process
// again with the same unconsumed input, so the blocked command re-runs.
//
// Out-of-band output (pub/sub messages published by other connections, on
// any thread) waits inside the handler: the connection installs a wake-up,
// which the handler calls from the publishing thread when output is waiting,
// and then takes that output on its own thread with TakePushes.
//
// Thread-safety: one handler per connection, used only by its worker thread
// (the wake-up alone is called from other threads).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::cache {

struct ProcessOutcome {
  size_t consumed = 0;
  bool close = false;        // close after flushing the output
  bool blocked = false;      // wait for block_keys or the deadline
  std::vector<std::string> block_keys;
  int64_t block_deadline_ms = 0;  // 0: no deadline
};

class ProtocolHandler {
 public:
  virtual ~ProtocolHandler() = default;
  virtual ProcessOutcome Process(std::string_view in, std::string* out) = 0;
  // Installed once, before the first Process.
  virtual void SetPushWake(std::function<void()> wake) { (void)wake; }
  // Appends waiting out-of-band output to `out`; false when the connection
  // must close (it exceeded its output-buffer limit).
  virtual bool TakePushes(std::string* out) {
    (void)out;
    return true;
  }
  // Bytes of the connection's output the socket has not taken yet.
  virtual void ReportUnsent(size_t bytes) { (void)bytes; }
};

}  // namespace strata::cache
