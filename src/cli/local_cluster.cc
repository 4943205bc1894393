#include "cli/local_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "dfs/client/cluster_file.h"
#include "block.pb.h"
#include "dfs/client/dfs_client.h"
#include "rpc/client.h"
#include "rpc/cluster_secret.h"

namespace strata::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kEtcdMembers = 3;  // an HA cluster's etcd: survives the loss of one member
constexpr int kHaMasters = 3;    // one leader, two standbys
// etcd's transaction limits, raised so that a master's atomic batches (a
// recursive delete, a large mutation) fit: the masters are told the same.
constexpr int kEtcdMaxTxnOps = 4096;
constexpr int kEtcdMaxRequestBytes = 8 << 20;

// The etcd binary on PATH (Debian's etcd-server), or "".
std::string EtcdBinary() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    fs::path p = fs::path(dir) / "etcd";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

std::string Endpoint(const std::string& host, int port) { return host + ":" + std::to_string(port); }

// Writes `node` under the top-level key `section` (the form each role's
// --config file takes).
Status WriteYaml(const std::string& path, const std::string& section, const YAML::Node& node) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Status::IoError("cannot write " + path);
  YAML::Node doc(YAML::NodeType::Map);
  doc[section] = (node && node.IsMap()) ? node : YAML::Node(YAML::NodeType::Map);
  out << doc << "\n";
  return out ? Status::Ok() : Status::IoError("cannot write " + path);
}

// True when `pid` is alive and runs a strata binary (not a recycled pid).
bool IsStrataProcess(pid_t pid) {
  if (!ProcessAlive(pid)) return false;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(cmd, argv0, '\0');
  return argv0.find("strata") != std::string::npos;
}

// The last non-empty line of `path` (bounded), which for a role that exited
// at startup is the reason it gave.
std::string LastLine(const std::string& path) {
  constexpr size_t kLineBytesMax = 512;
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  if (last.size() > kLineBytesMax) last = last.substr(0, kLineBytesMax) + "...";
  return last;
}

// The lock files under `dir` (each chunkserver disk's LOCK, the RocksDB LOCK
// of the master and the blockmanager): a process holding one open serves the
// cluster's directories, whether or not cluster.json names it.
std::vector<std::string> LockFilesUnder(const std::string& dir) {
  constexpr int kDepthMax = 2;  // DIR/cs1/disk0/LOCK is at depth 2; chunks/ below it is not listed
  std::vector<std::string> locks;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() >= kDepthMax) it.disable_recursion_pending();
    if (it->path().filename() == "LOCK") locks.push_back(it->path().string());
  }
  return locks;
}

// Every role recorded in a cluster.json, by name, with its pid, in start
// order (master, cs<N>, blockmanager, bs<N>, nbd, cache).
std::vector<std::pair<std::string, pid_t>> RolesIn(const nlohmann::json& doc) {
  std::vector<std::pair<std::string, pid_t>> roles;
  auto add = [&](const std::string& name, const nlohmann::json& j) {
    if (j.is_object() && j.contains("pid") && j["pid"].is_number_integer()) roles.emplace_back(name, j["pid"].get<pid_t>());
  };
  auto add_each = [&](const char* key) {
    if (!doc.contains(key) || !doc[key].is_array()) return;
    for (const auto& j : doc[key]) {
      if (j.is_object() && j.contains("id") && j["id"].is_string()) add(j["id"].get<std::string>(), j);
    }
  };
  if (doc.contains("etcd") && doc["etcd"].is_object() && doc["etcd"].contains("members") &&
      doc["etcd"]["members"].is_array()) {
    for (const auto& j : doc["etcd"]["members"]) {
      if (j.is_object() && j.contains("id") && j["id"].is_string()) add(j["id"].get<std::string>(), j);
    }
  }
  add_each("masters");
  if (doc.contains("master_pid") && doc["master_pid"].is_number_integer()) {
    roles.emplace_back("master", doc["master_pid"].get<pid_t>());
  }
  add_each("chunkservers");
  if (doc.contains("blockmanager")) add("blockmanager", doc["blockmanager"]);
  add_each("blockservers");
  for (const char* role : {"nbd", "cache"}) {
    if (doc.contains(role)) add(role, doc[role]);
  }
  return roles;
}

// The `strata` subcommand that runs `role`.
std::string Subcommand(const std::string& role) {
  if (role.starts_with("cs") && role != "cache") return "chunkserver";
  if (role.starts_with("master")) return "master";  // master1..3 of an HA cluster
  if (role.starts_with("bs")) return "blockserver";
  return role;  // master, blockmanager, nbd, cache
}

// The role a key of cluster.json's "ports" belongs to ("cs1_http" -> "cs1").
std::string PortRole(const std::string& key) {
  if (key.starts_with("cache_")) return "cache";
  if (key.ends_with("_http")) return key.substr(0, key.size() - 5);
  if (key.ends_with("_peer")) return key.substr(0, key.size() - 5);  // etcd<N>_peer
  return key;
}

// True when `pid` is an etcd process named `member` (`--name etcd<N>`).
bool RunsEtcdMember(pid_t pid, const std::string& member) {
  if (!ProcessAlive(pid)) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> argv;
  for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
  if (argv.empty() || fs::path(argv[0]).filename() != "etcd") return false;
  auto name = std::find(argv.begin(), argv.end(), "--name");
  return name != argv.end() && name + 1 != argv.end() && *(name + 1) == member;
}

// True when `pid` is a strata process running `role` (its subcommand, and
// for chunkservers and blockservers its --id): a recycled pid is not taken
// for the role.
bool RunsRole(pid_t pid, const std::string& role) {
  if (role.starts_with("etcd")) return RunsEtcdMember(pid, role);
  if (!IsStrataProcess(pid)) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> argv;
  for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
  if (argv.size() < 2 || argv[1] != Subcommand(role)) return false;
  if (argv[1] != "chunkserver" && argv[1] != "blockserver") return true;
  auto id = std::find(argv.begin(), argv.end(), "--id");
  return id != argv.end() && id + 1 != argv.end() && *(id + 1) == role;
}

// The roles a config runs, in start order.
std::vector<std::string> RolesOf(const LocalClusterConfig& c) {
  std::vector<std::string> roles;
  if (c.ha) {
    for (int i = 1; i <= kEtcdMembers; ++i) roles.push_back("etcd" + std::to_string(i));
    for (int i = 1; i <= kHaMasters; ++i) roles.push_back("master" + std::to_string(i));
  } else {
    roles.push_back("master");
  }
  for (int i = 1; i <= c.chunkservers; ++i) roles.push_back("cs" + std::to_string(i));
  if (c.block) {
    roles.push_back("blockmanager");
    for (int i = 1; i <= c.blockservers; ++i) roles.push_back("bs" + std::to_string(i));
    roles.push_back("nbd");
  }
  if (c.cache) roles.push_back("cache");
  return roles;
}

std::string Join(const std::vector<std::string>& words, const std::string& sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

// The persist namespaces of a config's cache section: id -> name (or "").
std::map<int, std::string> PersistNamespaces(const LocalClusterConfig& c) {
  std::map<int, std::string> out;
  if (!c.cache || !c.cache_config || !c.cache_config.IsMap() || !c.cache_config["namespaces"] ||
      !c.cache_config["namespaces"].IsSequence()) {
    return out;
  }
  for (const auto& spec : c.cache_config["namespaces"]) {
    if (!spec.IsScalar()) continue;
    std::map<std::string, std::string> fields;
    std::istringstream parts(spec.as<std::string>());
    for (std::string part; std::getline(parts, part, ',');) {
      auto eq = part.find('=');
      if (eq != std::string::npos) fields[part.substr(0, eq)] = part.substr(eq + 1);
    }
    if (fields["engine"] != "persist") continue;
    try {
      out[std::stoi(fields["id"])] = fields["name"];
    } catch (const std::exception&) {
      // Not a namespace the cache would accept; it refuses the spec itself.
    }
  }
  return out;
}

// The shape a cluster.json shows: for directories from before cluster.yaml.
void ShapeFromClusterJson(const nlohmann::json& doc, LocalClusterConfig* c) {
  if (doc.contains("chunkservers") && doc["chunkservers"].is_array() && !doc["chunkservers"].empty()) {
    std::set<std::string> racks;
    for (const auto& cs : doc["chunkservers"]) racks.insert(cs.value("rack", std::string()));
    c->chunkservers = static_cast<int>(doc["chunkservers"].size());
    c->racks = static_cast<int>(racks.size());
    const auto& disks = doc["chunkservers"][0]["disks"];
    if (disks.is_array() && !disks.empty()) c->disks_per_chunkserver = static_cast<int>(disks.size());
  }
  c->block = doc.contains("blockmanager");
  if (doc.contains("blockservers") && doc["blockservers"].is_array() && !doc["blockservers"].empty()) {
    c->blockservers = static_cast<int>(doc["blockservers"].size());
  }
  c->cache = doc.contains("cache");
  c->ha = doc.contains("masters");
}

}  // namespace

Result<LocalClusterConfig> LoadSavedLocalClusterConfig(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir + "/cluster.yaml", ec)) return LoadLocalClusterConfig(dir + "/cluster.yaml");
  LocalClusterConfig c;
  auto doc = dfs::ReadClusterFile(dir + "/cluster.json");
  if (doc.ok()) ShapeFromClusterJson(*doc, &c);
  return c;
}

Status CheckConfigChange(const LocalClusterConfig& saved, const LocalClusterConfig& wanted, const std::string& dir) {
  auto refuse = [&](const std::string& why) {
    return Status::FailedPrecondition("the config does not fit the cluster in " + dir + ": " + why +
                                      " (its config is in " + dir + "/cluster.yaml; a new cluster needs a new --dir)");
  };
  if (wanted.chunkservers < saved.chunkservers) {
    std::vector<std::string> gone;
    for (int i = wanted.chunkservers + 1; i <= saved.chunkservers; ++i) gone.push_back("cs" + std::to_string(i));
    return refuse("it has " + std::to_string(saved.chunkservers) + " chunkservers and the config " +
                  std::to_string(wanted.chunkservers) + ", which would leave the replicas on " + Join(gone, ", ") +
                  " behind (chunkservers can be added, not removed)");
  }
  if (wanted.racks != saved.racks) {
    return refuse("its chunkservers are on " + std::to_string(saved.racks) + " racks and the config says " +
                  std::to_string(wanted.racks) + ", which would move chunkservers to other racks under their replicas");
  }
  if (wanted.disks_per_chunkserver != saved.disks_per_chunkserver) {
    return refuse("its chunkservers have " + std::to_string(saved.disks_per_chunkserver) +
                  " disks each and the config says " + std::to_string(wanted.disks_per_chunkserver) +
                  "; a chunkserver keeps the disks of its first start");
  }
  if (saved.ha != wanted.ha) {
    return refuse(saved.ha ? "its namespace is in etcd (" + dir + "/etcd<N>, an HA cluster) and the config has one master; keep ha: true"
                           : "its namespace is in " + dir + "/master (one master on RocksDB) and the config asks for HA masters on etcd");
  }
  if (saved.block && !wanted.block) {
    return refuse("it has the block layer (volumes in " + dir + "/blockmanager) and the config turns it off");
  }
  if (saved.block && wanted.blockservers < saved.blockservers) {
    return refuse("it has " + std::to_string(saved.blockservers) + " blockservers and the config " +
                  std::to_string(wanted.blockservers) + " (blockservers can be added, not removed)");
  }
  auto kept = PersistNamespaces(wanted);
  for (const auto& [id, name] : PersistNamespaces(saved)) {
    if (kept.count(id)) continue;
    std::string ns = "persist namespace " + std::to_string(id) + (name.empty() ? "" : " (" + name + ")");
    return refuse(wanted.cache ? "the config leaves out the cache's " + ns + ", whose data is in " + dir +
                                     "/cache/persist; keep it under cache: namespaces:"
                               : "the config turns the cache off, and its " + ns + " keeps data in " + dir +
                                     "/cache/persist");
  }
  return Status::Ok();
}

LocalCluster::LocalCluster(std::string dir, LocalClusterConfig config, std::string strata_binary,
                           std::shared_ptr<SecureRandom> random)
    : dir_(fs::absolute(dir).lexically_normal().string()),
      config_(std::move(config)),
      binary_(std::move(strata_binary)),
      random_(random ? std::move(random) : NewOsSecureRandom()) {}

Status LocalCluster::Prepare() {
  std::error_code ec;
  fs::create_directories(dir_ + "/logs", ec);
  if (ec) return Status::FromErrno(ec.value(), "mkdir " + dir_);
  const std::string secret = dir_ + "/" + rpc::kClusterSecretFileName;
  RETURN_IF_ERROR(rpc::CreateClusterSecretIfMissing(secret, *random_));
  ASSIGN_OR_RETURN(auth_, rpc::LoadRpcAuth(secret));
  auto prev = dfs::ReadClusterFile(dir_ + "/cluster.json");
  if (prev.ok()) previous_ = *prev;
  if (prev.ok() || fs::exists(dir_ + "/cluster.yaml", ec)) {
    ASSIGN_OR_RETURN(LocalClusterConfig saved, LoadSavedLocalClusterConfig(dir_));
    saved_ = std::move(saved);
    RETURN_IF_ERROR(CheckConfigChange(*saved_, config_, dir_));
  }
  running_ = RunningRoles();
  if (!running_.empty() && LocalClusterConfigYaml(config_) != LocalClusterConfigYaml(*saved_)) {
    std::vector<std::string> names;
    for (const auto& [role, pid] : RolesIn(previous_)) {
      if (running_.count(role)) names.push_back(role);
    }
    return Status::FailedPrecondition("the cluster in " + dir_ + " is running (" + Join(names, ", ") +
                                      ") with the config in " + dir_ +
                                      "/cluster.yaml; a different config applies to a stopped cluster: `strata down "
                                      "--dir " + dir_ + "` first");
  }
  return Status::Ok();
}

// Lock files a role holds open while it serves (RocksDB's LOCK of the master
// and the blockmanager, each chunkserver disk's LOCK, the cache's persist
// store): a role restarted by hand is found through them.
std::map<std::string, pid_t> LocalCluster::RunningRoles() const {
  std::map<std::string, pid_t> running;
  for (const auto& [role, pid] : RolesIn(previous_)) {
    if (RunsRole(pid, role)) {
      running[role] = pid;
      continue;
    }
    std::vector<std::string> locks;
    if (role == "master" || role == "blockmanager") locks.push_back(dir_ + "/" + role + "/LOCK");
    if (role == "cache") locks.push_back(dir_ + "/cache/persist/LOCK");
    for (const auto& cs : previous_.value("chunkservers", nlohmann::json::array())) {
      if (cs.value("id", std::string()) != role || !cs.contains("disks")) continue;
      for (const auto& disk : cs["disks"]) locks.push_back(disk.get<std::string>() + "/LOCK");
    }
    if (locks.empty()) continue;
    for (pid_t holder : ProcessesHoldingOpen(locks)) {
      if (RunsRole(holder, role)) {
        running[role] = holder;
        break;
      }
    }
  }
  return running;
}

pid_t LocalCluster::Running(const std::string& role) const {
  auto it = running_.find(role);
  return it == running_.end() ? 0 : it->second;
}

void LocalCluster::Keep(const std::string& role) {
  kept_.push_back(role);
  if (!previous_.contains("ports")) return;
  for (const auto& [key, port] : previous_["ports"].items()) {
    if (PortRole(key) == role) doc_["ports"][key] = port;
  }
}

// The port recorded under `key` in the previous cluster.json if it is free
// now, else a new free port. While other roles of the cluster run, a role
// comes back on its recorded port or not at all: they know it by it.
Result<int> LocalCluster::Port(const std::string& key) {
  if (previous_.contains("ports") && previous_["ports"].contains(key)) {
    int port = previous_["ports"][key].get<int>();
    if (!PortAcceptsConnections(config_.host, port)) {
      doc_["ports"][key] = port;
      return port;
    }
    if (!running_.empty()) {
      return Status::FailedPrecondition("cannot restart " + PortRole(key) + " on its port " + std::to_string(port) +
                                        " (" + key + " in " + dir_ +
                                        "/cluster.json): another process listens there");
    }
  }
  for (int attempt = 0; attempt < 16; ++attempt) {
    ASSIGN_OR_RETURN(int port, PickFreePort(config_.host));
    bool taken = false;
    for (const auto& [k, v] : doc_["ports"].items()) taken |= v.get<int>() == port;
    if (taken) continue;
    doc_["ports"][key] = port;
    return port;
  }
  return Status::Unavailable("no free port");
}

Result<pid_t> LocalCluster::Launch(const std::string& name, std::vector<std::string> args, bool detach) {
  args.insert(args.begin(), binary_);
  if (name != "cache") {  // the cache speaks no RPC
    args.push_back("--secret-file");
    args.push_back(dir_ + "/" + rpc::kClusterSecretFileName);
  }
  return LaunchProgram(name, std::move(args), detach);
}

Result<pid_t> LocalCluster::LaunchProgram(const std::string& name, std::vector<std::string> args, bool detach) {
  SpawnOptions so;
  so.log_path = dir_ + "/logs/" + name + ".log";
  so.new_session = detach;
  ASSIGN_OR_RETURN(pid_t pid, SpawnProcess(args, so));
  pids_.push_back(pid);
  roles_.push_back(name);
  launched_at_[name] = std::chrono::steady_clock::now();
  return pid;
}

Status LocalCluster::ExitedAtStartup(const std::string& name) const {
  std::string role = name.starts_with("cs")   ? "chunkserver " + name
                     : name.starts_with("bs") ? "blockserver " + name
                     : name == "nbd"          ? "NBD gateway"
                                              : name;
  std::string log = dir_ + "/logs/" + name + ".log";
  std::string reason = LastLine(log);
  return Status::Unavailable("the " + role + " exited during startup" + (reason.empty() ? "" : ": " + reason) +
                             "; see " + log);
}

// Alive in the master's status; one launched here must have registered or
// heartbeated since (until its predecessor's heartbeats age out, the master
// still shows a killed chunkserver alive).
bool LocalCluster::ChunkserverUp(const nlohmann::json& status) const {
  if (!status.value("alive", false)) return false;
  auto launched = launched_at_.find(status.value("id", std::string()));
  if (launched == launched_at_.end()) return true;
  auto since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                         launched->second).count();
  return status.value("last_heartbeat_age_ms", since_ms + 1) <= since_ms;
}

Status LocalCluster::WaitReady() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.ready_timeout_ms);
  auto check_alive = [&]() -> Status {
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (!ProcessAlive(pids_[i])) return ExitedAtStartup(roles_[i]);
    }
    return Status::Ok();
  };
  // Every listening port answers.
  for (const auto& [key, port] : doc_["ports"].items()) {
    while (!PortAcceptsConnections(config_.host, port.get<int>())) {
      RETURN_IF_ERROR(check_alive());
      if (std::chrono::steady_clock::now() > deadline) return Status::DeadlineExceeded("port " + key + " not ready");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // The master sees every chunkserver alive.
  dfs::DfsClient client(dfs::DfsClientOptions{.master = doc_["master"].get<std::string>(), .rpc_timeout_ms = 2000,
                                              .master_retry_ms_max = 2000, .auth = auth_});
  for (;;) {
    RETURN_IF_ERROR(check_alive());
    auto json = client.ClusterStatusJson();
    if (json.ok()) {
      auto status = nlohmann::json::parse(*json, nullptr, false);
      int alive = 0;
      if (!status.is_discarded() && status.contains("chunkservers")) {
        for (const auto& cs : status["chunkservers"]) alive += ChunkserverUp(cs) ? 1 : 0;
      }
      if (alive >= config_.chunkservers) {
        return config_.block ? WaitBlockServers(deadline, check_alive) : Status::Ok();
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::DeadlineExceeded("chunkservers did not all register with the master; see " + dir_ + "/logs/");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

namespace {

// The cluster.json entry of `id` in the array `key` of the previous
// cluster.json, with `pid` (a role kept running).
nlohmann::json PreviousEntry(const nlohmann::json& previous, const std::string& key, const std::string& id, pid_t pid) {
  for (const auto& j : previous.value(key, nlohmann::json::array())) {
    if (j.value("id", std::string()) != id) continue;
    nlohmann::json entry = j;
    entry["pid"] = pid;
    return entry;
  }
  return nullptr;
}

}  // namespace

// The blockmanager, the blockservers and the NBD gateway. They find the dfs
// through the master and each other through the blockmanager.
Status LocalCluster::StartBlockRoles(bool detach) {
  const std::string& h = config_.host;
  std::string master = doc_["master"].get<std::string>();
  if (pid_t pid = Running("blockmanager")) {
    Keep("blockmanager");
    doc_["blockmanager"] = previous_["blockmanager"];
    doc_["blockmanager"]["pid"] = pid;
  } else {
    ASSIGN_OR_RETURN(int bm_port, Port("blockmanager"));
    ASSIGN_OR_RETURN(int bm_http, Port("blockmanager_http"));
    RETURN_IF_ERROR(WriteYaml(dir_ + "/blockmanager.yaml", "blockmanager", config_.blockmanager_config));
    ASSIGN_OR_RETURN(pid_t bm_pid,
                     Launch("blockmanager",
                            {"blockmanager", "--host", h, "--port", std::to_string(bm_port), "--http-port",
                             std::to_string(bm_http), "--data-dir", dir_ + "/blockmanager", "--master", master,
                             "--config", dir_ + "/blockmanager.yaml"},
                            detach));
    doc_["blockmanager"] = {{"addr", Endpoint(h, bm_port)}, {"pid", bm_pid}, {"http", Endpoint(h, bm_http)},
                            {"metrics", "http://" + Endpoint(h, bm_http) + "/metrics"}};
  }
  std::string manager = doc_["blockmanager"]["addr"].get<std::string>();

  RETURN_IF_ERROR(WriteYaml(dir_ + "/blockserver.yaml", "blockserver", config_.blockserver_config));
  doc_["blockservers"] = nlohmann::json::array();
  for (int i = 0; i < config_.blockservers; ++i) {
    std::string id = "bs" + std::to_string(i + 1);
    if (pid_t pid = Running(id)) {
      Keep(id);
      doc_["blockservers"].push_back(PreviousEntry(previous_, "blockservers", id, pid));
      continue;
    }
    ASSIGN_OR_RETURN(int port, Port(id));
    ASSIGN_OR_RETURN(int http, Port(id + "_http"));
    ASSIGN_OR_RETURN(pid_t pid, Launch(id,
                                       {"blockserver", "--id", id, "--manager", manager, "--master", master,
                                        "--host", h, "--port", std::to_string(port), "--http-port",
                                        std::to_string(http), "--config", dir_ + "/blockserver.yaml"},
                                       detach));
    doc_["blockservers"].push_back({{"id", id}, {"addr", Endpoint(h, port)}, {"pid", pid},
                                    {"http", Endpoint(h, http)}, {"metrics", "http://" + Endpoint(h, http) + "/metrics"}});
  }
  return StartNbd(detach, manager);
}

Status LocalCluster::StartNbd(bool detach, const std::string& manager) {
  const std::string& h = config_.host;
  if (pid_t pid = Running("nbd")) {
    Keep("nbd");
    doc_["nbd"] = previous_["nbd"];
    doc_["nbd"]["pid"] = pid;
    return Status::Ok();
  }
  // The NBD port users type (10809, NBD's own) when it is free; while the
  // rest of the cluster runs, the port the gateway had.
  int nbd_port = 0;
  bool recorded = !running_.empty() && previous_.contains("ports") && previous_["ports"].contains("nbd");
  if (!recorded && config_.nbd_port != 0 && !PortAcceptsConnections(h, config_.nbd_port)) {
    nbd_port = config_.nbd_port;
    doc_["ports"]["nbd"] = nbd_port;
  } else {
    ASSIGN_OR_RETURN(nbd_port, Port("nbd"));
  }
  ASSIGN_OR_RETURN(int nbd_http, Port("nbd_http"));
  std::vector<std::string> args = {"nbd", "--manager", manager, "--host", h, "--port", std::to_string(nbd_port),
                                   "--http-port", std::to_string(nbd_http)};
  // A unix socket path must fit in sockaddr_un (108 bytes).
  std::string socket = dir_ + "/nbd.sock";
  if (socket.size() < 100) {
    args.push_back("--socket");
    args.push_back(socket);
  } else {
    socket.clear();
  }
  ASSIGN_OR_RETURN(pid_t nbd_pid, Launch("nbd", args, detach));
  doc_["nbd"] = {{"addr", Endpoint(h, nbd_port)}, {"pid", nbd_pid}, {"http", Endpoint(h, nbd_http)},
                 {"uri", "nbd://" + Endpoint(h, nbd_port) + "/"}, {"metrics", "http://" + Endpoint(h, nbd_http) + "/metrics"}};
  if (!socket.empty()) doc_["nbd"]["socket"] = socket;
  return Status::Ok();
}

// Every blockserver registered with the blockmanager.
Status LocalCluster::WaitBlockServers(std::chrono::steady_clock::time_point deadline,
                                      const std::function<Status()>& check_alive) {
  rpc::RpcClient rpc(rpc::RpcClientOptions{.auth = auth_});
  std::string manager = doc_["blockmanager"]["addr"].get<std::string>();
  for (;;) {
    RETURN_IF_ERROR(check_alive());
    block::BmStatusRequest req;
    block::BmStatusResponse resp;
    if (rpc.CallTyped(manager, block::BM_STATUS, req, &resp, {}, nullptr, 2000).ok()) {
      auto status = nlohmann::json::parse(resp.json(), nullptr, false);
      if (!status.is_discarded() && status.contains("totals") &&
          status["totals"].value("alive", 0) >= config_.blockservers) {
        return Status::Ok();
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::DeadlineExceeded("blockservers did not all register with the blockmanager; see " + dir_ +
                                      "/logs/");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status LocalCluster::WriteClusterFile() {
  std::string tmp = dir_ + "/cluster.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc_.dump(2) << "\n";
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, dir_ + "/cluster.json", ec);
  if (ec) return Status::FromErrno(ec.value(), "rename " + tmp);
  return Status::Ok();
}

Status LocalCluster::WriteSavedConfig() const {
  std::string path = dir_ + "/cluster.yaml", tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# The config of this cluster, saved by `strata up` and reused by the next one\n"
           "# (see docs/local_cluster.md). A later --config may add roles, not remove them.\n"
        << LocalClusterConfigYaml(config_);
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::FromErrno(ec.value(), "rename " + tmp);
  return Status::Ok();
}

Status LocalCluster::Start(bool detach) {
  RETURN_IF_ERROR(Prepare());
  std::vector<std::string> roles = RolesOf(config_);
  bool all_running = std::all_of(roles.begin(), roles.end(), [&](const std::string& r) { return running_.count(r) > 0; });
  if (all_running) {
    // Nothing to start; cluster.json gets the pids of roles restarted by hand.
    doc_ = previous_;
    kept_ = roles;
    if (doc_.contains("master_pid")) doc_["master_pid"] = running_["master"];
    auto update = [&](nlohmann::json& array) {
      for (auto& j : array) {
        if (running_.count(j.value("id", std::string()))) j["pid"] = running_[j["id"].get<std::string>()];
      }
    };
    for (const char* array : {"chunkservers", "blockservers", "masters"}) {
      if (doc_.contains(array)) update(doc_[array]);
    }
    if (doc_.contains("etcd") && doc_["etcd"].contains("members")) update(doc_["etcd"]["members"]);
    for (const char* role : {"blockmanager", "nbd", "cache"}) {
      if (doc_.contains(role) && running_.count(role)) doc_[role]["pid"] = running_[role];
    }
    return WriteClusterFile();
  }
  if (config_.block && config_.nbd_port_required && config_.nbd_port != 0 && !running_.count("nbd") &&
      PortAcceptsConnections(config_.host, config_.nbd_port)) {
    return Status::FailedPrecondition("cannot start the NBD gateway: port " + std::to_string(config_.nbd_port) +
                                      " on " + config_.host +
                                      " is in use by another process (pick another --nbd-port)");
  }
  Status st = StartRoles(detach);
  if (!st.ok()) {
    // No half-started cluster is left behind; roles that ran before stay.
    for (pid_t pid : pids_) (void)StopProcess(pid, 2000);
    // A first start that failed leaves no cluster for the next `up` to
    // compare its config with.
    std::error_code ec;
    if (!saved_) fs::remove(dir_ + "/cluster.json", ec);
    return st;
  }
  return WriteSavedConfig();
}

Status LocalCluster::StartRoles(bool detach) {
  doc_ = nlohmann::json::object();
  doc_["dir"] = dir_;
  doc_["ports"] = nlohmann::json::object();
  RETURN_IF_ERROR(StartMaster(detach));
  RETURN_IF_ERROR(StartChunkservers(detach));
  if (config_.block) RETURN_IF_ERROR(StartBlockRoles(detach));
  if (config_.cache) RETURN_IF_ERROR(StartCache(detach));
  RETURN_IF_ERROR(WriteClusterFile());
  return WaitReady();
}

Status LocalCluster::StartMaster(bool detach) {
  const std::string& h = config_.host;
  if (config_.ha) {
    RETURN_IF_ERROR(StartEtcd(detach));
    return StartHaMasters(detach);
  }
  if (pid_t pid = Running("master")) {
    Keep("master");
    for (const char* key : {"master", "master_http", "master_metrics"}) doc_[key] = previous_[key];
    doc_["master_pid"] = pid;
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(int master_port, Port("master"));
  ASSIGN_OR_RETURN(int master_http, Port("master_http"));
  RETURN_IF_ERROR(WriteYaml(dir_ + "/master.yaml", "master", config_.master_config));
  ASSIGN_OR_RETURN(pid_t master_pid,
                   Launch("master",
                          {"master", "--host", h, "--port", std::to_string(master_port), "--http-port",
                           std::to_string(master_http), "--data-dir", dir_ + "/master", "--config",
                           dir_ + "/master.yaml"},
                          detach));
  doc_["master"] = Endpoint(h, master_port);
  doc_["master_http"] = Endpoint(h, master_http);
  doc_["master_pid"] = master_pid;
  doc_["master_metrics"] = "http://" + Endpoint(h, master_http) + "/metrics";
  // Chunkservers register at once: let the master listen first.
  auto master_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.ready_timeout_ms);
  while (!PortAcceptsConnections(h, master_port)) {
    if (!ProcessAlive(master_pid)) return ExitedAtStartup("master");
    if (std::chrono::steady_clock::now() > master_deadline) return Status::DeadlineExceeded("the master did not start listening");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::Ok();
}

// Three etcd members under DIR/etcd<N>, on free ports (client etcd<N>, peer
// etcd<N>_peer), for the masters' metadata and election.
Status LocalCluster::StartEtcd(bool detach) {
  const std::string& h = config_.host;
  std::string binary = EtcdBinary();
  bool any_down = false;
  for (int i = 1; i <= kEtcdMembers; ++i) any_down |= !Running("etcd" + std::to_string(i));
  if (binary.empty() && any_down) {
    return Status::FailedPrecondition("an HA cluster needs etcd, which is not on PATH: apt-get install etcd-server "
                                      "(or bash scripts/install-deps.sh)");
  }
  struct Member {
    std::string id;
    int client = 0, peer = 0;
  };
  std::vector<Member> members;
  std::string initial_cluster;
  for (int i = 1; i <= kEtcdMembers; ++i) {
    Member m{"etcd" + std::to_string(i)};
    ASSIGN_OR_RETURN(m.client, Port(m.id));
    ASSIGN_OR_RETURN(m.peer, Port(m.id + "_peer"));
    initial_cluster += (initial_cluster.empty() ? "" : ",") + m.id + "=http://" + Endpoint(h, m.peer);
    members.push_back(m);
  }
  doc_["etcd"] = {{"endpoints", ""}, {"members", nlohmann::json::array()}};
  std::string endpoints;
  for (const Member& m : members) {
    std::string client = "http://" + Endpoint(h, m.client);
    std::string peer = "http://" + Endpoint(h, m.peer);
    endpoints += (endpoints.empty() ? "" : ",") + client;
    pid_t pid = Running(m.id);
    if (pid) {
      Keep(m.id);
    } else {
      // A restart reuses DIR/etcd<N>: etcd then ignores the --initial-* flags.
      ASSIGN_OR_RETURN(pid, LaunchProgram(m.id,
                                          {binary, "--name", m.id, "--data-dir", dir_ + "/" + m.id,
                                           "--listen-client-urls", client, "--advertise-client-urls", client,
                                           "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                           "--initial-cluster", initial_cluster, "--initial-cluster-state", "new",
                                           "--initial-cluster-token", "strata-local", "--log-level", "warn",
                                           "--max-txn-ops", std::to_string(kEtcdMaxTxnOps), "--max-request-bytes",
                                           std::to_string(kEtcdMaxRequestBytes)},
                                          detach));
    }
    doc_["etcd"]["members"].push_back(
        {{"id", m.id}, {"client", client}, {"peer", peer}, {"pid", pid}, {"data_dir", dir_ + "/" + m.id}});
  }
  doc_["etcd"]["endpoints"] = endpoints;
  return Status::Ok();
}

// Three masters on etcd: whichever wins the election leads, the others stand
// by. cluster.json's "master" lists all three (every client and role takes a
// list and finds the leader); "masters" has each one's endpoints and pid.
Status LocalCluster::StartHaMasters(bool detach) {
  const std::string& h = config_.host;
  YAML::Node master_config = (config_.master_config && config_.master_config.IsMap())
                                 ? YAML::Clone(config_.master_config)
                                 : YAML::Node(YAML::NodeType::Map);
  if (!master_config["etcd_max_txn_ops"]) master_config["etcd_max_txn_ops"] = kEtcdMaxTxnOps;
  if (!master_config["etcd_max_request_bytes"]) master_config["etcd_max_request_bytes"] = kEtcdMaxRequestBytes;
  RETURN_IF_ERROR(WriteYaml(dir_ + "/master.yaml", "master", master_config));
  const std::string endpoints = doc_["etcd"]["endpoints"].get<std::string>();
  doc_["masters"] = nlohmann::json::array();
  std::string list;
  std::vector<std::pair<pid_t, int>> launched;  // pid, port
  for (int i = 1; i <= kHaMasters; ++i) {
    std::string id = "master" + std::to_string(i);
    if (pid_t pid = Running(id)) {
      Keep(id);
      nlohmann::json entry = PreviousEntry(previous_, "masters", id, pid);
      list += (list.empty() ? "" : ",") + entry.value("addr", std::string());
      doc_["masters"].push_back(entry);
      continue;
    }
    ASSIGN_OR_RETURN(int port, Port(id));
    ASSIGN_OR_RETURN(int http, Port(id + "_http"));
    ASSIGN_OR_RETURN(pid_t pid, Launch(id,
                                       {"master", "--host", h, "--port", std::to_string(port), "--http-port",
                                        std::to_string(http), "--data-dir", dir_ + "/" + id, "--config",
                                        dir_ + "/master.yaml", "--etcd", endpoints},
                                       detach));
    launched.emplace_back(pid, port);
    list += (list.empty() ? "" : ",") + Endpoint(h, port);
    doc_["masters"].push_back({{"id", id}, {"addr", Endpoint(h, port)}, {"pid", pid}, {"http", Endpoint(h, http)},
                               {"metrics", "http://" + Endpoint(h, http) + "/metrics"}});
  }
  doc_["master"] = list;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.ready_timeout_ms);
  for (const auto& [pid, port] : launched) {
    while (!PortAcceptsConnections(h, port)) {
      if (!ProcessAlive(pid)) {
        for (size_t i = 0; i < pids_.size(); ++i) {
          if (pids_[i] == pid) return ExitedAtStartup(roles_[i]);
        }
      }
      if (std::chrono::steady_clock::now() > deadline) return Status::DeadlineExceeded("the masters did not start listening");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return Status::Ok();
}

// Chunkservers, spread round-robin over the racks.
Status LocalCluster::StartChunkservers(bool detach) {
  const std::string& h = config_.host;
  std::string master = doc_["master"].get<std::string>();
  // A local cluster is where failures are rehearsed: `strata debug
  // disk-fault` works on it unless the config says otherwise.
  YAML::Node chunkserver_config = (config_.chunkserver_config && config_.chunkserver_config.IsMap())
                                      ? YAML::Clone(config_.chunkserver_config)
                                      : YAML::Node(YAML::NodeType::Map);
  if (!chunkserver_config["fault_injection"]) chunkserver_config["fault_injection"] = true;
  RETURN_IF_ERROR(WriteYaml(dir_ + "/chunkserver.yaml", "chunkserver", chunkserver_config));
  doc_["chunkservers"] = nlohmann::json::array();
  for (int i = 0; i < config_.chunkservers; ++i) {
    std::string id = "cs" + std::to_string(i + 1);
    if (pid_t pid = Running(id)) {
      Keep(id);
      doc_["chunkservers"].push_back(PreviousEntry(previous_, "chunkservers", id, pid));
      continue;
    }
    std::string rack = "rack" + std::to_string(i % config_.racks + 1);
    ASSIGN_OR_RETURN(int port, Port(id));
    ASSIGN_OR_RETURN(int http, Port(id + "_http"));
    std::vector<std::string> args = {"chunkserver", "--id", id, "--master", master, "--host", h,
                                     "--port", std::to_string(port), "--http-port", std::to_string(http), "--rack",
                                     rack, "--config", dir_ + "/chunkserver.yaml"};
    nlohmann::json disks = nlohmann::json::array();
    for (int d = 0; d < config_.disks_per_chunkserver; ++d) {
      std::string disk = dir_ + "/" + id + "/disk" + std::to_string(d);
      std::error_code ec;
      fs::create_directories(disk, ec);
      if (ec) return Status::FromErrno(ec.value(), "mkdir " + disk);
      args.push_back("--disk");
      args.push_back(disk);
      disks.push_back(disk);
    }
    ASSIGN_OR_RETURN(pid_t pid, Launch(id, args, detach));
    doc_["chunkservers"].push_back({{"id", id}, {"addr", Endpoint(h, port)}, {"rack", rack}, {"disks", disks},
                                    {"pid", pid}, {"http", Endpoint(h, http)},
                                    {"metrics", "http://" + Endpoint(h, http) + "/metrics"}});
  }
  return Status::Ok();
}

Status LocalCluster::StartCache(bool detach) {
  const std::string& h = config_.host;
  if (pid_t pid = Running("cache")) {
    Keep("cache");
    doc_["cache"] = previous_["cache"];
    doc_["cache"]["pid"] = pid;
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(int resp, Port("cache_resp"));
  ASSIGN_OR_RETURN(int mc, Port("cache_memcache"));
  ASSIGN_OR_RETURN(int http, Port("cache_http"));
  RETURN_IF_ERROR(WriteYaml(dir_ + "/cache.yaml", "cache", config_.cache_config));
  std::vector<std::string> args = {"cache", "--host", h, "--port-resp", std::to_string(resp), "--port-memcache",
                                   std::to_string(mc), "--http-port", std::to_string(http), "--memory",
                                   config_.cache_memory, "--threads", std::to_string(config_.cache_threads),
                                   "--data-dir", dir_ + "/cache"};
  if (config_.cache_config && config_.cache_config.IsMap() && config_.cache_config.size() > 0) {
    args.push_back("--config");
    args.push_back(dir_ + "/cache.yaml");
  }
  ASSIGN_OR_RETURN(pid_t pid, Launch("cache", args, detach));
  doc_["cache"] = {{"resp", Endpoint(h, resp)}, {"memcache", Endpoint(h, mc)}, {"http", Endpoint(h, http)},
                   {"pid", pid}, {"metrics", "http://" + Endpoint(h, http) + "/metrics"}};
  return Status::Ok();
}

Status LocalCluster::Stop(const std::string& dir) {
  ASSIGN_OR_RETURN(nlohmann::json doc, dfs::ReadClusterFile(dir + "/cluster.json"));
  Status result;
  // Clients first, the master last, so chunkservers do not see it vanish.
  // (etcd, under the masters of an HA cluster, goes after them.)
  std::vector<std::pair<std::string, pid_t>> roles = RolesIn(doc);
  std::reverse(roles.begin(), roles.end());
  // Roles that serve DIR without being in cluster.json (restarted by hand)
  // go too, before the master.
  size_t masters_at = roles.size();
  while (masters_at > 0 && (roles[masters_at - 1].first.starts_with("master") ||
                            roles[masters_at - 1].first.starts_with("etcd"))) {
    --masters_at;
  }
  for (pid_t pid : ProcessesHoldingOpen(LockFilesUnder(dir))) {
    if (std::any_of(roles.begin(), roles.end(), [&](const auto& r) { return r.second == pid; })) continue;
    roles.insert(roles.begin() + static_cast<std::ptrdiff_t>(masters_at++), {"", pid});
  }
  for (const auto& [role, pid] : roles) {
    if (role.starts_with("etcd") ? !RunsEtcdMember(pid, role) : !IsStrataProcess(pid)) continue;
    Status st = StopProcess(pid, 10000);
    if (!st.ok()) result = st;
  }
  return result;
}

Status LocalCluster::RunForeground() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  // The whole cluster, roles another `strata up` restarted included.
  Status result = Stop(dir_);
  for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) {
    if (!ProcessAlive(*it)) {
      ReapIfExited(*it);
      continue;
    }
    Status st = StopProcess(*it, 10000);
    if (!st.ok()) result = st;
  }
  return result;
}

}  // namespace strata::cli
