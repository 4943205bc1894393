#include "testing/isolated_network.h"

#include <unistd.h>

#include <array>
#include <cstdio>

namespace strata::testing {

Status RunShell(const std::string& command) {
  std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) return Status::Internal("popen failed for: " + command);
  std::string output;
  std::array<char, 512> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) output.append(buf.data(), n);
  int rc = ::pclose(pipe);
  if (rc != 0) return Status::Unavailable("`" + command + "` failed: " + output);
  return Status::Ok();
}

Result<std::unique_ptr<IsolatedNetwork>> IsolatedNetwork::Create(const std::string& tag) {
  std::unique_ptr<IsolatedNetwork> n(new IsolatedNetwork());
  n->ns_ = "strata-" + tag;
  n->host_if_ = "st" + tag + "h";  // interface names: at most 15 characters
  n->inner_if_ = "st" + tag + "n";
  n->host_addr_ = "10.77.0.1";
  n->inner_addr_ = "10.77.0.2";
  n->ip_path_ = ::access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
  if (::access(n->ip_path_.c_str(), X_OK) != 0) {
    return Status::NotSupported("the ip tool (iproute2) is not installed");
  }
  n->Remove();  // debris of an earlier run
  const std::string in_ns = "ip netns exec " + n->ns_ + " ";
  for (const std::string& cmd : {
           "ip netns add " + n->ns_,
           "ip link add " + n->host_if_ + " type veth peer name " + n->inner_if_,
           "ip link set " + n->inner_if_ + " netns " + n->ns_,
           "ip addr add " + n->host_addr_ + "/32 dev lo",
           "ip link set " + n->host_if_ + " up",
           "ip route add " + n->inner_addr_ + "/32 dev " + n->host_if_,
           in_ns + "ip link set lo up",
           in_ns + "ip addr add " + n->inner_addr_ + "/32 dev " + n->inner_if_,
           in_ns + "ip link set " + n->inner_if_ + " up",
           in_ns + "ip route add " + n->host_addr_ + "/32 dev " + n->inner_if_,
       }) {
    Status st = RunShell(cmd);
    if (!st.ok()) {
      n->Remove();
      return Status::NotSupported("network namespaces are not usable here: " + st.message());
    }
  }
  return n;
}

IsolatedNetwork::~IsolatedNetwork() { Remove(); }

void IsolatedNetwork::Remove() {
  (void)RunShell("ip link del " + host_if_);
  (void)RunShell("ip netns del " + ns_);
  (void)RunShell("ip addr del " + host_addr_ + "/32 dev lo");
}

std::vector<std::string> IsolatedNetwork::Wrap(const std::vector<std::string>& argv) const {
  std::vector<std::string> out = {ip_path_, "netns", "exec", ns_};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status IsolatedNetwork::Cut() { return RunShell("ip link set " + host_if_ + " down"); }
// The route to the namespace went with the link; it comes back with it.
Status IsolatedNetwork::Heal() {
  RETURN_IF_ERROR(RunShell("ip link set " + host_if_ + " up"));
  return RunShell("ip route replace " + inner_addr_ + "/32 dev " + host_if_);
}

}  // namespace strata::testing
