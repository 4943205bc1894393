// AdminHttpServer: the small HTTP endpoint every role serves beside its main
// protocol: GET /metrics (Prometheus text from a MetricsRegistry) and
// GET /status (a JSON document produced by the role on each request).
// Anything else is answered 404 (405 for a method other than GET or HEAD);
// a malformed request is answered 400, a request head over
// max_request_bytes 431, and its connection closed: neither reaches the role.
//
// HTTP/1.1 with keep-alive, on asio coroutines: an idle connection holds no
// thread and no buffer (a request's buffer lives while it is read), so idle
// or slow clients cannot keep /status and /metrics from answering. Bounds
// (AdminHttpOptions): at most max_connections open (at the limit the one
// waiting longest for its next request is closed to make room); a
// keep-alive connection with no request for idle_timeout_ms, or a request
// not received and answered within request_timeout_ms, is closed.
//
// Ownership: borrows the registry, which must outlive the server.
// Thread-safety: Start/Stop from one thread; requests are served on the
// server's own threads, so the status callback must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "common/result.h"

namespace strata {

struct AdminHttpOptions {
  uint32_t max_connections = 64;
  uint32_t idle_timeout_ms = 30'000;    // keep-alive connection with no request
  uint32_t request_timeout_ms = 5'000;  // first byte of a request to the end of its response
  uint32_t max_request_bytes = 8192;    // request line and headers
  int threads = 2;                      // serve requests (render /status and /metrics)
};

// A parsed request head.
struct AdminHttpRequest {
  std::string method;
  std::string path;  // the target without its query
  bool keep_alive = true;
};

// False once `bytes` (the start of what a connection sent) cannot be the
// start of an HTTP request line; true while it still may be.
bool CouldStartRequestLine(std::string_view bytes);

// Parses a request head: the request line and the header lines, each ending
// in CRLF, up to and including the empty line. InvalidArgument when it is
// malformed, is not HTTP/1.0 or 1.1, or announces a body (admin requests
// carry none). Pure; exposed for tests and fuzzing.
Result<AdminHttpRequest> ParseAdminHttpRequest(std::string_view head);

class AdminHttpServer {
 public:
  using StatusFn = std::function<nlohmann::json()>;
  AdminHttpServer(MetricsRegistry* registry, StatusFn status, AdminHttpOptions options = {});
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // Binds host:port (port 0 picks a free one) and serves on background
  // threads. Returns the bound port.
  Result<int> Start(const std::string& host, int port);
  // Closes every connection and joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata
