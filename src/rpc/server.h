// RpcServer: serves one or more RPC services over TCP.
//
// Connections are read by coroutines on an asio io_context (a few I/O
// threads). Each complete request frame is handed to a worker pool, where its
// Handler runs synchronously and may block (disk I/O, fdatasync, calls to
// other servers); the reply is queued back on the connection, so one
// connection carries many requests in flight and replies may come out of
// order (matched by request id). A malformed or oversized frame closes that
// connection with a logged reason; everyone else keeps being served. An
// unknown method gets a NotSupported reply.
//
// What peers can cost is bounded (docs/rpc.md, "Limits"): at most
// max_connections connections (at the limit the longest-idle one is closed
// to make room, or the newcomer is refused when none is idle); a connection
// idle for idle_timeout_ms, or whose frame does not arrive whole within
// frame_timeout_ms, is closed; frame bodies being read or served are
// reserved against max_frame_bytes_total (a frame that does not fit waits
// for memory to come back) and allocated only as their bytes arrive; an
// idle connection holds no read buffer.
//
// A method may also name requests that never block (e.g. an append acked
// from memory): those run inline on the I/O thread that read them, which
// saves two thread hand-offs per call; they hold up that connection's next
// reads while they run, so only the quick ones may.
//
// An asynchronous method (RegisterAsync) is started on the I/O thread, in
// the order its connection's frames arrive, and answers later through its
// Responder, from any thread (e.g. the thread that finished the work): no
// worker thread waits for it. Its handler must only start the work, never
// block. kFlagOrdered adds nothing for such a method (the handler sees the
// requests in order; when they complete is its business).
//
// With options.auth, every connection starts with the authentication
// handshake (rpc/auth.h) and its frames carry tags; a peer that fails it is
// refused, logged and counted (strata_rpc_auth_failures_total).
//
// Thread-safety: Register before Start; Start/Stop from one thread. Handlers
// run concurrently on worker threads and must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "common/metrics.h"
#include "common/result.h"
#include "rpc/auth.h"
#include "rpc/frame.h"

namespace strata::rpc {

struct RpcRequest {
  uint32_t method = 0;
  uint64_t request_id = 0;
  uint32_t timeout_ms = 0;  // 0: the caller set none
  std::string meta;         // serialized request message
  std::string bulk;         // payload beside the message
  std::string peer;         // "host:port" of the caller
};

struct RpcReply {
  Status status;
  std::string meta;  // serialized response message (empty on error)
  std::string bulk;
};

struct RpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                 // 0: any free port
  int io_threads = 1;
  int worker_threads = 8;
  uint32_t max_pending_per_connection = 256;  // requests in flight per connection
  uint32_t max_connections = 4096;            // open at once; see above for what happens at the limit
  uint32_t idle_timeout_ms = 600'000;         // nothing in flight, nothing received: closed (0: never)
  uint32_t frame_timeout_ms = 60'000;         // first byte to last of one frame, memory wait included
  uint64_t max_frame_bytes_total = 512ull << 20;  // bodies read or being served, all connections together
  FrameLimits limits;                         // per frame: over these the connection is closed
  // Peers must prove the cluster secret at connect (rpc/auth.h); null: anyone
  // may connect (authentication off).
  std::shared_ptr<const RpcAuth> auth;
};

class RpcServer {
 public:
  using Handler = std::function<RpcReply(RpcRequest&)>;
  // Answers one asynchronous request; call it exactly once, from any thread.
  using Responder = std::function<void(RpcReply)>;
  // Starts serving `req` without blocking; `respond` sends the reply.
  using AsyncHandler = std::function<void(RpcRequest& req, Responder respond)>;
  // True for a request that the handler serves without blocking.
  using InlinePredicate = std::function<bool(const RpcRequest&)>;

  RpcServer(RpcServerOptions options, MetricsRegistry* metrics);
  ~RpcServer();

  // `name` labels metrics and logs. `run_inline` (optional) picks the
  // requests that run on the I/O thread (see above).
  void Register(uint32_t method, std::string name, Handler handler, InlinePredicate run_inline = {});

  // An asynchronous method (see above).
  void RegisterAsync(uint32_t method, std::string name, AsyncHandler handler);

  // Typed registration: parses Req from meta (a parse failure is an
  // InvalidArgument reply), runs `fn`, serializes Resp.
  template <typename Req, typename Resp>
  void RegisterTyped(uint32_t method, std::string name,
                     std::function<Status(const Req&, std::string& bulk_in, Resp*, std::string* bulk_out)> fn,
                     std::function<bool(const Req&, const std::string& bulk_in)> run_inline = {}) {
    InlinePredicate predicate;
    if (run_inline) {
      predicate = [run_inline = std::move(run_inline)](const RpcRequest& req) {
        Req parsed;
        return parsed.ParseFromString(req.meta) && run_inline(parsed, req.bulk);
      };
    }
    Register(method, std::move(name), [fn = std::move(fn)](RpcRequest& req) {
      RpcReply reply;
      Req parsed;
      if (!parsed.ParseFromString(req.meta)) {
        reply.status = Status::InvalidArgument("cannot parse request message");
        return reply;
      }
      Resp resp;
      reply.status = fn(parsed, req.bulk, &resp, &reply.bulk);
      if (reply.status.ok()) {
        resp.SerializeToString(&reply.meta);
      } else {
        reply.bulk.clear();
      }
      return reply;
    }, std::move(predicate));
  }

  // Binds and starts serving; returns the bound port.
  Result<int> Start();
  // Stops accepting, closes connections, waits for running handlers and
  // for every asynchronous request to be answered.
  void Stop();
  int port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::rpc
