// DirectChannel: one RPC connection driven entirely by the thread that uses
// it, with no I/O thread between that thread and the socket.
//
// RpcClient hands every reply from its I/O thread to the waiting caller:
// two thread wake-ups per reply. A caller that sends a request to a few
// servers and then waits for their replies anyway (the dfs writer's appends)
// instead owns one DirectChannel per server: Send() writes from its thread,
// and it sleeps in WaitAny() on all its channels at once, so a reply wakes
// it directly. Same frames, same servers, same limits as RpcClient.
//
// A channel that fails (connection refused or lost, malformed reply) stays
// broken: every later call returns its error; make a new channel.
//
// Thread-safety: not thread-safe; one thread uses a channel.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "rpc/auth.h"
#include "rpc/frame.h"
#include "rpc/server.h"

namespace strata::rpc {

class DirectChannel {
 public:
  // `auth` (optional): authenticate at connect (rpc/auth.h), as RpcClient.
  DirectChannel(std::string endpoint, FrameLimits limits = {}, std::shared_ptr<const RpcAuth> auth = nullptr);
  ~DirectChannel();
  DirectChannel(const DirectChannel&) = delete;
  DirectChannel& operator=(const DirectChannel&) = delete;

  // Connects, waiting at most `timeout_ms`. Unavailable on failure.
  Status Connect(uint32_t timeout_ms);

  // Sends a request (as much as the socket takes now; Pump() sends the
  // rest) and returns its request id. `ordered`: the server runs it after
  // the earlier ordered requests of this channel (kFlagOrdered).
  Result<uint64_t> Send(uint32_t method, std::shared_ptr<const FrameBody> body, uint32_t timeout_ms,
                        bool ordered = false);

  // One reply that arrived, by request id.
  struct Arrived {
    uint64_t request_id = 0;
    RpcReply reply;
  };
  // Without blocking: sends what is pending and reads what has arrived,
  // appending each complete reply to `out`. An error breaks the channel.
  Status Pump(std::vector<Arrived>* out);

  // Sleeps until one of `channels` can make progress (a reply to read, room
  // to send what is pending, or an error), or `timeout_us` passes.
  static void WaitAny(std::span<DirectChannel* const> channels, uint64_t timeout_us);

  const std::string& endpoint() const { return endpoint_; }
  const Status& broken() const { return broken_; }

 private:
  Status Fail(Status why);
  Status ReadReplies(std::vector<Arrived>* out);

  std::string endpoint_;
  FrameLimits limits_;
  std::shared_ptr<const RpcAuth> auth_;
  Session session_;  // empty unless authenticated
  int fd_ = -1;
  Status broken_;
  uint64_t next_id_ = 1;
  std::deque<OutFrame> outq_;  // front may be partly sent
  std::string in_;             // received bytes not yet parsed
  size_t in_used_ = 0;         // bytes of in_ holding data
  // The last WaitAny found nothing to read here: the next Pump skips its
  // recv (which would find nothing) once.
  bool poll_found_nothing_ = false;
};

}  // namespace strata::rpc
