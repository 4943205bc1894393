#include "common/admin_http.h"

#include <httplib.h>

#include "common/logging.h"

namespace strata {

AdminHttpServer::AdminHttpServer(MetricsRegistry* registry, StatusFn status)
    : registry_(registry), status_(std::move(status)), server_(std::make_unique<httplib::Server>()) {}

AdminHttpServer::~AdminHttpServer() { Stop(); }

Result<int> AdminHttpServer::Start(const std::string& host, int port) {
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_payload_max_length(64 * 1024);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_->RenderPrometheus(), "text/plain; version=0.0.4");
  });
  server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_ ? status_().dump(2) : "{}", "application/json");
  });
  int bound = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) return Status::Unavailable("cannot bind admin HTTP on " + host + ":" + std::to_string(port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void AdminHttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace strata
