// IsolatedNetwork: a network namespace joined to the host by a veth pair, so
// that a system test can run one role in it and cut it off the network
// (and heal it) while everything else keeps running.
//
// The host end answers at host_addr() (added to the host's loopback device,
// so it stays reachable from the host while the link is down); the namespace
// end is inner_addr(). Roles on the host bind host_addr(); the role inside
// binds inner_addr(). Cut() takes the link down: packets are dropped both
// ways, as when a cable or switch port dies. Everything is removed again on
// destruction. Needs root and the `ip` tool (iproute2); Create() says why
// when the machine does not allow it, for the test to skip.
//
// Thread-safety: not thread-safe; one test thread drives it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata::testing {

class IsolatedNetwork {
 public:
  // `tag`: a few characters that make the names unique on this machine.
  static Result<std::unique_ptr<IsolatedNetwork>> Create(const std::string& tag);
  ~IsolatedNetwork();

  const std::string& host_addr() const { return host_addr_; }
  const std::string& inner_addr() const { return inner_addr_; }
  // `argv` run inside the namespace (prefixed with `ip netns exec NS`).
  std::vector<std::string> Wrap(const std::vector<std::string>& argv) const;
  Status Cut();
  Status Heal();

 private:
  IsolatedNetwork() = default;
  void Remove();

  std::string ns_, host_if_, inner_if_, host_addr_, inner_addr_, ip_path_;
};

// Runs a shell command; its output on failure is in the error.
Status RunShell(const std::string& command);

}  // namespace strata::testing
