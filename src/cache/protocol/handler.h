// ProtocolHandler: what a connection needs from a protocol (RESP or
// memcached text). The connection owns the bytes; the handler consumes whole
// requests from the front of the input and appends replies to the output.
//
// A handler may ask to block (BLPOP): the connection then stops feeding it,
// waits for a wake-up on one of the keys or the deadline, and calls Process
// again with the same unconsumed input, so the blocked command re-runs.
//
// Thread-safety: one handler per connection, used only by its worker thread.
#pragma once

#include <cstdint>
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
};

}  // namespace strata::cache
