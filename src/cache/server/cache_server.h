// CacheServer: the `strata cache` role — binds the RESP and memcached ports,
// runs N worker threads (one EventLoop each: run to completion, no work
// handed between threads), a maintenance thread (engine ticks, delayed
// flushes, gauges) and the admin HTTP endpoint (/metrics, /status).
//
// New connections are accepted on worker 0 and assigned round-robin to the
// workers; from then on a connection lives on one thread. Requests of
// different connections meet only at the engine's shard locks.
//
// Thread-safety: Start/Stop from one thread (main).
// Ownership: owns the core, the threads and the sockets; borrows the clock.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "cache/protocol/resp/command.h"
#include "cache/server/cache_core.h"
#include "cache/server/connection.h"
#include "cache/server/event_loop.h"
#include "common/admin_http.h"
#include "common/metrics.h"

namespace strata::cache {

class CacheServer {
 public:
  CacheServer(const CacheOptions& options, std::shared_ptr<Clock> clock);
  ~CacheServer();

  Status Start();
  void Stop();

  int resp_port() const { return resp_port_; }
  int memcache_port() const { return memcache_port_; }
  int http_port() const { return http_port_; }
  CacheCore* core() { return core_.get(); }
  nlohmann::json StatusJson();

 private:
  // One worker thread: its loop and the connections living on it.
  struct Worker {
    explicit Worker(const Clock* clock, uint64_t poll_us) : loop(clock, poll_us), conns(&loop) {}
    EventLoop loop;
    ConnectionSet conns;
    std::thread thread;
  };
  // A listening socket, on worker 0's loop.
  class Listener final : public EventLoop::Handler {
   public:
    Listener(CacheServer* server, int fd, bool resp) : server_(server), fd_(fd), resp_(resp) {}
    ~Listener() override;
    void OnEvents(uint32_t events) override;
    int fd() const { return fd_; }

   private:
    CacheServer* const server_;
    const int fd_;
    const bool resp_;
  };

  // Binds options_.host:port; returns the listener and its bound port.
  Result<int> Listen(int port, bool resp, std::unique_ptr<Listener>* listener);
  // Hands a new client socket to the next worker (round-robin).
  void Adopt(int fd, bool resp);
  void MaintenanceLoop();
  void UpdateGauges();

  CacheOptions options_;
  std::shared_ptr<Clock> clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<CacheCore> core_;
  resp::CommandTable table_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Listener> resp_listener_;
  std::unique_ptr<Listener> memcache_listener_;
  std::unique_ptr<AdminHttpServer> admin_;
  std::thread maintenance_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> next_worker_{0};
  int resp_port_ = 0, memcache_port_ = 0, http_port_ = 0;
  std::vector<Gauge*> hot_gauges_;
  size_t hot_series_ = 0;
};

}  // namespace strata::cache
