#include "meta/etcd_health.h"

#include <httplib.h>

#include <chrono>
#include <exception>
#include <memory>

#include <nlohmann/json.hpp>

namespace strata::meta {

Status EtcdMemberHealth(const std::string& url_or_addr, int timeout_ms) {
  std::string url = url_or_addr.find("://") == std::string::npos ? "http://" + url_or_addr : url_or_addr;
  if (url.rfind("http://", 0) != 0) return Status::InvalidArgument("etcd endpoint " + url_or_addr + ": only http://");
  std::unique_ptr<httplib::Client> client;
  try {
    client = std::make_unique<httplib::Client>(url);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("etcd endpoint " + url_or_addr + ": " + e.what());
  }
  if (!client->is_valid()) return Status::InvalidArgument("etcd endpoint " + url_or_addr + ": not a valid URL");
  client->set_connection_timeout(std::chrono::milliseconds(timeout_ms));
  client->set_read_timeout(std::chrono::milliseconds(timeout_ms));
  auto res = client->Get("/health");
  if (!res) return Status::Unavailable("etcd " + url_or_addr + ": " + httplib::to_string(res.error()));
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  // etcd 3.4: {"health":"true"}; later versions add "reason".
  bool healthy = res->status == 200 && body.is_object() && body.value("health", std::string()) == "true";
  if (healthy) return Status::Ok();
  std::string reason = body.is_object() ? body.value("reason", std::string()) : std::string();
  return Status::Unavailable("etcd " + url_or_addr + " unhealthy (HTTP " + std::to_string(res->status) +
                             (reason.empty() ? "" : ": " + reason) + ")");
}

}  // namespace strata::meta
