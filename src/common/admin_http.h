// AdminHttpServer: the small HTTP endpoint every role serves beside its main
// protocol: GET /metrics (Prometheus text from a MetricsRegistry) and
// GET /status (a JSON document produced by the role on each request).
// Anything else is answered 404; malformed requests are rejected by the HTTP
// parser and never reach the role.
//
// Ownership: borrows the registry, which must outlive the server.
// Thread-safety: Start/Stop from one thread; handlers run on the server's own
// threads, so the status callback must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "common/result.h"

namespace httplib { class Server; }

namespace strata {

class AdminHttpServer {
 public:
  using StatusFn = std::function<nlohmann::json()>;
  AdminHttpServer(MetricsRegistry* registry, StatusFn status);
  ~AdminHttpServer();

  // Binds host:port (port 0 picks a free one) and serves in a background thread.
  // Returns the bound port.
  Result<int> Start(const std::string& host, int port);
  void Stop();

 private:
  MetricsRegistry* registry_;
  StatusFn status_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace strata
