#include "meta/testing/etcd_cluster.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/subprocess.h"

namespace strata::meta::testing {
namespace {

namespace fs = std::filesystem;

std::string EtcdBinary() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      fs::path p = fs::path(dir) / "etcd";
      if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
    }
  }
  return "/usr/bin/etcd";
}

int counter = 0;

}  // namespace

bool EtcdCluster::EtcdInstalled() { return ::access(EtcdBinary().c_str(), X_OK) == 0; }

EtcdCluster::EtcdCluster(int members, std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
  dir_ = (fs::temp_directory_path() /
          ("strata_etcd_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
             .string();
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  std::set<int> used;
  auto pick = [&]() {
    for (int tries = 0; tries < 100; ++tries) {
      auto port = PickFreePort("127.0.0.1");
      if (port.ok() && used.insert(*port).second) return *port;
    }
    return 0;
  };
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = "n" + std::to_string(i + 1);
    m.client_port = pick();
    m.peer_port = pick();
    m.data_dir = dir_ + "/" + m.name + ".etcd";
    m.log_path = dir_ + "/" + m.name + ".log";
    if (!initial_cluster_.empty()) initial_cluster_ += ",";
    initial_cluster_ += m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    members_.push_back(m);
  }
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Status EtcdCluster::Spawn(Member& m, bool new_cluster) {
  std::string client = "http://127.0.0.1:" + std::to_string(m.client_port);
  std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  std::vector<std::string> argv = {
      EtcdBinary(), "--name", m.name, "--data-dir", m.data_dir,
      "--listen-client-urls", client, "--advertise-client-urls", client,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
      "--initial-cluster", initial_cluster_,
      "--initial-cluster-state", new_cluster ? "new" : "existing",
      "--initial-cluster-token", "strata-test-" + fs::path(dir_).filename().string(),
      // Short raft timers: a test cluster on loopback elects a leader in
      // tens of milliseconds instead of a second.
      "--heartbeat-interval", "25", "--election-timeout", "250",
      "--log-level", "warn"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  SpawnOptions opts;
  opts.log_path = m.log_path;
  auto pid = SpawnProcess(argv, opts);
  if (!pid.ok()) return pid.status().WithContext("start etcd " + m.name);
  m.pid = *pid;
  return Status::Ok();
}

Status EtcdCluster::WaitHealthy(const Member& m, std::chrono::steady_clock::time_point deadline) {
  httplib::Client client("127.0.0.1", m.client_port);
  client.set_connection_timeout(std::chrono::milliseconds(200));
  client.set_read_timeout(std::chrono::milliseconds(500));
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ProcessAlive(m.pid)) {
      return Status::Unavailable("etcd " + m.name + " exited while starting; log:\n" + Log(int(&m - members_.data())));
    }
    auto res = client.Get("/health");
    if (res && res->status == 200 && res->body.find("\"true\"") != std::string::npos) return Status::Ok();
    if (res) last = res->body;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded("etcd " + m.name + " not healthy in time (last answer: " + last + "); log:\n" +
                                  Log(int(&m - members_.data())));
}

Status EtcdCluster::Start(std::chrono::milliseconds timeout) {
  for (auto& m : members_) RETURN_IF_ERROR(Spawn(m, /*new_cluster=*/true));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& m : members_) RETURN_IF_ERROR(WaitHealthy(m, deadline));
  return Status::Ok();
}

void EtcdCluster::Kill(int i) {
  Member& m = members_.at(i);
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGKILL);
  int status = 0;
  ::waitpid(m.pid, &status, 0);
  m.pid = -1;
}

Status EtcdCluster::Restart(int i, bool wait_healthy, std::chrono::milliseconds timeout) {
  Member& m = members_.at(i);
  if (m.pid > 0) return Status::FailedPrecondition("etcd " + m.name + " is running");
  RETURN_IF_ERROR(Spawn(m, /*new_cluster=*/false));
  if (!wait_healthy) return Status::Ok();
  return WaitHealthy(m, std::chrono::steady_clock::now() + timeout);
}

std::string EtcdCluster::ClientUrl(int i) const {
  return "http://127.0.0.1:" + std::to_string(members_.at(i).client_port);
}

std::vector<std::string> EtcdCluster::ClientUrls() const {
  std::vector<std::string> urls;
  for (int i = 0; i < size(); ++i) urls.push_back(ClientUrl(i));
  return urls;
}

std::string EtcdCluster::Log(int i) const {
  std::ifstream in(members_.at(i).log_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

EtcdCluster* SharedEtcdCluster() {
  static Status started;
  static EtcdCluster* etcd = [] {
    auto* c = new EtcdCluster(1);
    started = c->Start();
    if (!started.ok()) {
      delete c;
      return static_cast<EtcdCluster*>(nullptr);
    }
    std::atexit([] { delete etcd; });
    return c;
  }();
  if (!etcd) ADD_FAILURE() << "shared etcd: " << started.ToString();
  return etcd;
}

}  // namespace strata::meta::testing
