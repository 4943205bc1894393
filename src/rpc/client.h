// RpcClient: calls RPC services on other processes.
//
// Keeps a pool of TCP connections per endpoint ("host:port"), each multiplexing
// many calls by request id, driven by its own I/O thread(s). A call carries a
// deadline: when it passes the call fails with DeadlineExceeded (the request
// may still have been executed by the server, so only idempotent requests are
// retried by callers). A broken connection fails its calls with Unavailable
// and is replaced on the next call.
//
// Thread-safety: thread-safe; share one RpcClient per process.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "common/result.h"
#include "rpc/frame.h"
#include "rpc/server.h"

namespace asio {
class io_context;
}

namespace strata::rpc {

using ReplyCallback = std::function<void(Result<RpcReply>)>;

struct RpcClientOptions {
  int io_threads = 1;
  // Run the connections on this io_context instead of the client's own
  // (io_threads is then unused): its owner runs it and keeps it alive until
  // the client is destroyed. A process whose other I/O runs there (the NBD
  // gateway) then handles replies on the thread that waits for them.
  asio::io_context* io_context = nullptr;
  int connections_per_endpoint = 2;
  uint32_t connect_timeout_ms = 2000;
  uint32_t default_timeout_ms = 10000;
  FrameLimits limits;
  // Prove the cluster secret to every server at connect, and check that the
  // server knows it too (rpc/auth.h); null: connect without (authentication
  // off). A refused handshake fails the calls with PermissionDenied.
  std::shared_ptr<const RpcAuth> auth;
};

class RpcClient {
 public:
  explicit RpcClient(RpcClientOptions options = {});
  ~RpcClient();

  // Sends one request; the future is fulfilled with the reply (whose status
  // may be an error from the server) or with a transport error. `on_done`,
  // if given, runs right after that, on an I/O thread (or on the caller's
  // when the request is refused at once): it must be quick and not block,
  // e.g. wake a thread that waits for several calls.
  std::future<Result<RpcReply>> CallAsync(const std::string& endpoint, uint32_t method, std::string meta,
                                          std::string bulk, uint32_t timeout_ms = 0,
                                          std::function<void()> on_done = {});

  // The same with a body built once by MakeFrameBody() (rpc/frame.h) and
  // shared, e.g. one request sent to several servers.
  std::future<Result<RpcReply>> CallAsync(const std::string& endpoint, uint32_t method,
                                          std::shared_ptr<const FrameBody> body, uint32_t timeout_ms = 0,
                                          std::function<void()> on_done = {});

  // Sends one request; `done` gets the reply (whose status may be an error
  // from the server) or a transport error, exactly once, on an I/O thread
  // (or on the caller's when the request is refused at once). It must be
  // quick and not block. Costs no future (no synchronisation of its own).
  void CallWithCallback(const std::string& endpoint, uint32_t method, std::string meta, std::string bulk,
                        uint32_t timeout_ms, ReplyCallback done);
  void CallWithCallback(const std::string& endpoint, uint32_t method, std::shared_ptr<const FrameBody> body,
                        uint32_t timeout_ms, ReplyCallback done);

  Result<RpcReply> Call(const std::string& endpoint, uint32_t method, std::string meta, std::string bulk,
                        uint32_t timeout_ms = 0);

  // Typed call: serializes `req`, parses the reply into `resp`. The returned
  // Status is the transport error or the server's status.
  Status CallTyped(const std::string& endpoint, uint32_t method, const google::protobuf::Message& req,
                   google::protobuf::Message* resp, std::string bulk_in = {}, std::string* bulk_out = nullptr,
                   uint32_t timeout_ms = 0);

  // Closes pooled connections to `endpoint` (e.g. after it was declared dead).
  void Forget(const std::string& endpoint);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port"; InvalidArgument when malformed.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& endpoint);

}  // namespace strata::rpc
